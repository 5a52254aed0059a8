"""`--backend lm-eval`: run lm-evaluation-harness tasks on the same models, side by side.

    langadapt eval --backend lm-eval --model smollm2-135m-instruct --tasks hellaswag,arc_easy
    langadapt eval --backend lm-eval --model ... --tasks my_task.yaml   # a local harness task file

Models are loaded by langadapt (so aliases, GGUF files and adapters work) and handed to the
harness's HF wrapper as live objects. Needs `pip install 'langadapt[lmeval]'`; the harness fetches
its own task data, so it needs whatever access those data sets need.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any

from langadapt.config.evaluation import EvalConfig
from langadapt.errors import require
from langadapt.eval.report import write_report
from langadapt.models import load_model, load_tokenizer


def _flat_metrics(task_result: dict[str, Any]) -> dict[str, float]:
    """{"acc,none": 0.5, "acc_stderr,none": 0.1, "alias": ...} -> {"acc": 0.5, "acc_stderr": 0.1}."""
    out = {}
    for key, value in task_result.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            name, _, filt = key.partition(",")
            out[name if filt in ("", "none") else f"{name} ({filt})"] = float(value)
    return out


def _task_names(tasks: list[str]) -> tuple[list[str], list[str]]:
    """Harness task names, with local task YAML files turned into their `task:` name plus an include path."""
    import yaml

    names, include = [], []
    for task in tasks:
        path = Path(task).expanduser()
        if path.suffix in (".yaml", ".yml") and path.is_file():
            spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            names.append(spec.get("task") or path.stem)
            include.append(str(path.parent.resolve()))
        else:
            names.append(task)
    return names, sorted(set(include))


def evaluate_lm_eval(models: dict[str, str], cfg: EvalConfig, out_dir: str | Path | None = None,
                     log: Any = lambda m: print(m, file=sys.stderr, flush=True)) -> dict[str, Any]:
    require("lm_eval", "lmeval", "the lm-eval backend (lm-evaluation-harness)")
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    names, include = _task_names(list(cfg.tasks))
    manager = TaskManager(include_path=include or None)
    per_model: dict[str, dict[str, dict[str, float]]] = {}
    for label, ref in models.items():
        log(f"[eval] {label}: loading {ref} for lm-evaluation-harness")
        model = load_model(ref, dtype=cfg.dtype, merge_adapter=True, quantization=cfg.load_in)
        lm = HFLM(pretrained=model, tokenizer=load_tokenizer(ref), batch_size=cfg.batch_size)
        raw = simple_evaluate(model=lm, tasks=names, num_fewshot=cfg.few_shot or None, limit=cfg.max_examples,
                              task_manager=manager)
        per_model[label] = {task: _flat_metrics(r) for task, r in (raw or {}).get("results", {}).items()}
        del lm, model
        gc.collect()
    tasks = sorted({t for r in per_model.values() for t in r})
    results: dict[str, Any] = {"models": dict(models), "config": cfg.model_dump(mode="json"), "backend": "lm-eval",
                               "tasks": {t: {"kind": "lm-eval", "scores": {l: per_model[l].get(t, {}) for l in per_model}}
                                         for t in tasks}}
    if out_dir is not None:
        results["files"] = write_report(results, Path(out_dir))
    return results
