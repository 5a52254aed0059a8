"""Evaluate several models on the same tasks and collect one results object.

    from langadapt.eval.runner import evaluate
    results = evaluate({"base": "smollm2-135m-instruct", "cpt": "runs/x/pretrain/model"},
                       ["udhr-bpc"], EvalConfig(), out_dir="runs/x/eval")

Models are loaded one at a time (only one is in memory), every task is run on each, and the
results are written as results.json, results.md and a bar chart when `out_dir` is given.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path
from typing import Any, Sequence

from langadapt.config.evaluation import EvalConfig
from langadapt.eval import kinds
from langadapt.eval.judge import judge_results
from langadapt.eval.report import write_report
from langadapt.eval.tasks import Task, TaskOptions, load_task
from langadapt.models import load_model, load_tokenizer


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_tasks(names: Sequence[str], cfg: EvalConfig, heldout: str | None = None,
               skip_missing_languages: bool = False) -> list[Task]:
    opts = TaskOptions(languages=cfg.languages, heldout=heldout, max_chars=cfg.max_chars, max_examples=cfg.max_examples,
                       skip_missing_languages=skip_missing_languages)
    return [load_task(name, opts) for name in names]


def _device() -> str | None:
    import torch

    return "cuda" if torch.cuda.is_available() else None


def evaluate_model(model: Any, tokenizer: Any, tasks: Sequence[Task], cfg: EvalConfig,
                   progress: bool = False) -> dict[str, Any]:
    """Every task on one loaded model, each scored by its kind: {task name: result}."""
    out: dict[str, Any] = {}
    for task in tasks:
        started = time.perf_counter()
        out[task.name] = kinds.get(task.kind).score(model, tokenizer, task, cfg, progress)
        out[task.name]["seconds"] = round(time.perf_counter() - started, 3)
    return out


def evaluate(models: dict[str, str], task_names: Sequence[str], cfg: EvalConfig, out_dir: str | Path | None = None,
             heldout: str | None = None, progress: bool = True, log: Any = _log,
             skip_missing_languages: bool = False) -> dict[str, Any]:
    """Run `task_names` on every model in `models` (label -> reference) and return the results object."""
    tasks = load_tasks(task_names, cfg, heldout, skip_missing_languages)
    per_model: dict[str, dict[str, Any]] = {}
    for label, ref in models.items():
        log(f"[eval] {label}: loading {ref}")
        model = load_model(ref, dtype=cfg.dtype, device=_device(), merge_adapter=True, quantization=cfg.load_in)
        tokenizer = load_tokenizer(ref)
        chosen = [t for t in tasks if kinds.get(t.kind).bits_per_char] if label in cfg.bpc_only else tasks
        per_model[label] = evaluate_model(model, tokenizer, chosen, cfg, progress)
        del model
        gc.collect()
    results = collect(models, tasks, per_model, cfg)
    if heldout:
        results["heldout"] = str(heldout)
    if cfg.judge.base_url and len(models) >= 2:
        results["judge"] = judge_results(results, cfg.judge)
    if out_dir is not None:
        results["files"] = write_report(results, Path(out_dir))
    return results


def collect(models: dict[str, str], tasks: Sequence[Task], per_model: dict[str, dict[str, Any]],
            cfg: EvalConfig) -> dict[str, Any]:
    """Reshape per-model results into {tasks: {task: {kind, scores: {label: ...}, examples: {label: [...]}}}}."""
    out: dict[str, Any] = {"models": dict(models), "config": cfg.model_dump(mode="json"), "tasks": {}}
    for task in tasks:
        entry: dict[str, Any] = {"kind": task.kind, "source": task.source, "scores": {}, "examples": {}, "seconds": {}}
        entry.update(kinds.get(task.kind).entry_notes(task))
        if task.groups:
            entry["groups"] = dict(task.groups)
        for label, results in per_model.items():
            r = results.get(task.name)
            if r is None:  # a task this model was not scored on (eval.bpc_only)
                continue
            entry["scores"][label] = r["scores"]
            entry["seconds"][label] = r["seconds"]
            if "examples" in r:
                entry["examples"][label] = r["examples"]
        if not entry["examples"]:
            del entry["examples"]
        out["tasks"][task.name] = entry
    return out


def language_means(table: dict[str, dict[str, float]], groups: dict[str, str]) -> dict[str, dict[str, float]]:
    """{model: {source: value}} -> {model: {language: mean over its sources}}; unweighted."""
    out: dict[str, dict[str, float]] = {}
    for label, per_source in table.items():
        sums: dict[str, list[float]] = {}
        for src, value in per_source.items():
            sums.setdefault(groups.get(src, src), []).append(value)
        out[label] = {lang: round(sum(v) / len(v), 4) for lang, v in sums.items()}
    return out


def summary_metrics(results: dict[str, Any]) -> dict[str, Any]:
    """The figures a manifest and model card keep: bpc/bpb per model and language, headline task scores."""
    bpc: dict[str, dict[str, float]] = {}
    bpb: dict[str, dict[str, float]] = {}
    tasks: dict[str, dict[str, dict[str, float]]] = {}
    by_task: dict[str, dict[str, dict[str, float]]] = {}
    bpb_by_task: dict[str, dict[str, dict[str, float]]] = {}
    for name, entry in results["tasks"].items():
        kind = kinds.find(entry["kind"])
        for label, scores in entry["scores"].items():
            if kind is not None and kind.bits_per_char:
                # bits-per-character kinds feed the cross-task bpc tables below, not `tasks`.
                by_task.setdefault(name, {})[label] = kind.headline(scores)
                bpb_by_task.setdefault(name, {})[label] = {lang: round(s["bits_per_byte"], 4) for lang, s in scores.items()}
            else:
                tasks.setdefault(name, {})[label] = kind.headline(scores) if kind is not None else dict(scores)
    # Per-source tasks (heldout-bpc) also get a per-language table: the mean over that language's
    # sources, each source counting once, so a large source does not stand for the others.
    by_language = {name: (language_means(by_task[name], groups), language_means(bpb_by_task[name], groups))
                   for name, entry in results["tasks"].items() if (groups := entry.get("groups")) and name in by_task}
    # Texts of one language from different tasks (held-out corpus vs UDHR) are not mixed: `bpc`
    # is the UDHR table when it was scored (same articles in every language), the rest stay apart.
    primary = "udhr-bpc" if "udhr-bpc" in by_task else next(iter(by_task), None)
    if primary:
        bpc, bpb = by_language.get(primary) or (by_task[primary], bpb_by_task[primary])
    metrics: dict[str, Any] = {"bpc": bpc, "bpb": bpb, "bpc_task": primary, "tasks": tasks, "bpc_by_task": by_task}
    if "heldout-bpc" in by_task:
        entry = results["tasks"]["heldout-bpc"]
        groups = entry.get("groups") or {}
        # heldout_bpc stays {model: {language: value}} for its readers; per source beside it.
        metrics["heldout_bpc"] = by_language["heldout-bpc"][0] if groups else by_task["heldout-bpc"]
        metrics["heldout_bpc_by_source"] = by_task["heldout-bpc"]
        metrics["heldout_sources"] = {
            src: {"language": groups.get(src, src),
                  "characters": next((s[src].get("characters") for s in entry["scores"].values() if src in s), None)}
            for src in dict.fromkeys(k for s in entry["scores"].values() for k in s)}
        metrics["heldout_bpc_average"] = "mean over the held-out sources of each language, each source counting once"
    if "judge" in results:
        metrics["judge"] = {k: {m: v for m, v in r.items() if m in ("win", "tie", "loss", "n")}
                            for k, r in results["judge"].get("summary", {}).items()}
    return metrics
