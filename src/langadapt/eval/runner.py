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
from langadapt.eval.tasks import Task, TaskOptions, load_task

NOT_COMPARABLE = "not comparable across tokenizers"


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


def run_bpc(model: Any, tokenizer: Any, task: Task, cfg: EvalConfig, progress: bool = False) -> dict[str, Any]:
    from langadapt.eval.bpc import score_texts

    scores = {}
    for lang, texts in task.texts.items():
        started = time.perf_counter()
        r = score_texts(model, tokenizer, texts, window=cfg.window, stride=cfg.stride, batch_size=cfg.batch_size,
                        progress=progress, desc=f"{task.name} {lang}")
        scores[lang] = {**r.to_dict(), "seconds": round(time.perf_counter() - started, 3)}
    return scores


GENERATION_METRICS = ("rouge_l", "chrf", "chrf_pp", "form", "answer_bpc")


def score_generation(items: Sequence[dict[str, Any]], predictions: Sequence[str],
                     answer_bits: Sequence[tuple[float, int] | None] | None = None) -> dict[str, Any]:
    """ROUGE-L and chrF per task type, and their average over task types (each type counts once);
    verse tasks also score form match (eval.form); with `answer_bits` ((bits, characters) of each
    reference given its prompt), `answer_bpc` per type too, pooled over characters."""
    from langadapt.eval.chrf import chrf, corpus_chrf
    from langadapt.eval.form import VERSE_TASK_TYPES, form_match
    from langadapt.eval.generate import item_prompt
    from langadapt.eval.rouge import rouge_l

    by_type: dict[str, list[dict[str, float]]] = {}
    examples = []
    for item, pred in zip(items, predictions):
        scores = {"rouge_l": rouge_l(pred, item["reference"]), "chrf": chrf(pred, item["reference"])}
        if item["task_type"] in VERSE_TASK_TYPES:
            scores["form"] = form_match(pred, item["reference"])
        by_type.setdefault(item["task_type"], []).append(scores)
        examples.append({**{k: item[k] for k in ("id", "task_type", "reference") if k in item},
                         "prompt": item_prompt(item), "prediction": pred,
                         **{k: round(v, 3) for k, v in scores.items()}})
    per_type = {t: {**{k: sum(s[k] for s in v) / len(v) for k in v[0]}, "n": len(v)} for t, v in by_type.items()}
    # chrF and chrF++ per type at corpus level (sacreBLEU), not the mean of the sentence scores above.
    for t in per_type:
        typed = [(pred, item["reference"]) for item, pred in zip(items, predictions) if item["task_type"] == t]
        corpus = corpus_chrf([p for p, _ in typed], [r for _, r in typed])
        per_type[t].update(chrf=corpus.chrf, chrf_pp=corpus.chrf_pp, chrf_signature=corpus.chrf_signature)
    pooled: dict[str, list[float]] = {}
    for item, bits in zip(items, answer_bits or []):
        if bits is not None:
            acc = pooled.setdefault(item["task_type"], [0.0, 0])
            acc[0], acc[1] = acc[0] + bits[0], acc[1] + bits[1]
    for t, (bits_sum, chars) in pooled.items():
        per_type[t]["answer_bpc"] = bits_sum / max(1, chars)
    if per_type:
        average: dict[str, float] = {}
        for key in GENERATION_METRICS:
            present = [s[key] for s in per_type.values() if key in s]
            if present:
                average[key] = sum(present) / len(present)
        per_type["average"] = {**average, "n": len(examples)}
    return {"scores": per_type, "examples": examples}


def run_generation(model: Any, tokenizer: Any, task: Task, cfg: EvalConfig, progress: bool = False) -> dict[str, Any]:
    from langadapt.eval.generate import generate_answers, item_prompt

    prompts = [item_prompt(it) for it in task.items]
    answers = generate_answers(model, tokenizer, prompts, cfg.generation, batch_size=cfg.batch_size, chat=cfg.chat,
                               progress=progress)
    bits = None
    if cfg.answer_bpc:
        from langadapt.eval.answers import answer_bits

        bits = answer_bits(model, tokenizer, task.items, chat=cfg.chat, batch_size=cfg.batch_size, max_length=cfg.window)
    return score_generation(task.items, answers, bits)


def run_multiple_choice(model: Any, tokenizer: Any, task: Task, cfg: EvalConfig) -> dict[str, Any]:
    from langadapt.eval.mc import score_multiple_choice

    return score_multiple_choice(model, tokenizer, task.items, few_shot=cfg.few_shot, batch_size=cfg.batch_size,
                                 max_length=cfg.window)


def evaluate_model(model: Any, tokenizer: Any, tasks: Sequence[Task], cfg: EvalConfig,
                   progress: bool = False) -> dict[str, Any]:
    """Every task on one loaded model: {task name: result}."""
    out: dict[str, Any] = {}
    for task in tasks:
        started = time.perf_counter()
        if task.kind == "bpc":
            out[task.name] = {"scores": run_bpc(model, tokenizer, task, cfg, progress)}
        elif task.kind == "generation":
            out[task.name] = run_generation(model, tokenizer, task, cfg, progress)
        else:
            result = run_multiple_choice(model, tokenizer, task, cfg)
            out[task.name] = {"scores": {k: result[k] for k in ("accuracy", "accuracy_raw", "n")},
                              "examples": result["predictions"]}
        out[task.name]["seconds"] = round(time.perf_counter() - started, 3)
    return out


def evaluate(models: dict[str, str], task_names: Sequence[str], cfg: EvalConfig, out_dir: str | Path | None = None,
             heldout: str | None = None, progress: bool = True, log: Any = _log,
             skip_missing_languages: bool = False) -> dict[str, Any]:
    """Run `task_names` on every model in `models` (label -> reference) and return the results object."""
    from langadapt.models import load_model, load_tokenizer

    tasks = load_tasks(task_names, cfg, heldout, skip_missing_languages)
    per_model: dict[str, dict[str, Any]] = {}
    for label, ref in models.items():
        log(f"[eval] {label}: loading {ref}")
        model = load_model(ref, dtype=cfg.dtype, device=_device(), merge_adapter=True, quantization=cfg.load_in)
        tokenizer = load_tokenizer(ref)
        per_model[label] = evaluate_model(model, tokenizer, tasks, cfg, progress)
        del model
        gc.collect()
    results = collect(models, tasks, per_model, cfg)
    if heldout:
        results["heldout"] = str(heldout)
    if cfg.judge.base_url and len(models) >= 2:
        from langadapt.eval.judge import judge_results

        results["judge"] = judge_results(results, cfg.judge)
    if out_dir is not None:
        from langadapt.eval.report import write_report

        results["files"] = write_report(results, Path(out_dir))
    return results


def collect(models: dict[str, str], tasks: Sequence[Task], per_model: dict[str, dict[str, Any]],
            cfg: EvalConfig) -> dict[str, Any]:
    """Reshape per-model results into {tasks: {task: {kind, scores: {label: ...}, examples: {label: [...]}}}}."""
    out: dict[str, Any] = {"models": dict(models), "config": cfg.model_dump(mode="json"), "tasks": {}}
    for task in tasks:
        entry: dict[str, Any] = {"kind": task.kind, "source": task.source, "scores": {}, "examples": {}, "seconds": {}}
        if task.kind == "bpc":
            entry["token_perplexity_note"] = NOT_COMPARABLE
        if task.groups:
            entry["groups"] = dict(task.groups)
        for label, results in per_model.items():
            r = results[task.name]
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
        for label, scores in entry["scores"].items():
            if entry["kind"] == "bpc":
                for lang, s in scores.items():
                    by_task.setdefault(name, {}).setdefault(label, {})[lang] = round(s["bits_per_char"], 4)
                    bpb_by_task.setdefault(name, {}).setdefault(label, {})[lang] = round(s["bits_per_byte"], 4)
            elif entry["kind"] == "generation":
                avg = scores.get("average", {})
                tasks.setdefault(name, {})[label] = {k: round(avg[k], 3) for k in GENERATION_METRICS if k in avg}
            elif entry["kind"] == "multiple_choice":
                tasks.setdefault(name, {})[label] = {k: round(scores[k], 3) for k in ("accuracy", "accuracy_raw")}
            else:
                tasks.setdefault(name, {})[label] = dict(scores)
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
