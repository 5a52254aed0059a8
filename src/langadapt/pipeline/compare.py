"""The demo against the naive route: same cleaned corpus, same training minutes, same held-out text.

    from langadapt.pipeline.compare import write_comparison
    write_comparison(recipe, baseline_recipe)   # runs/<name>/baseline/baseline.json and baseline.png

Held-out text is shown per source corpus (poems, each prose source, English replay) beside UDHR,
never as one mix, so a model that wins on the largest source cannot hide a loss on another.
"""

from __future__ import annotations

import math
from pathlib import Path

from langadapt.atomic import write_json
from langadapt.config.recipe import Recipe
from langadapt.results import EvalMetrics, StageMetrics, TokenizerMetrics, TrainMetrics
from langadapt.rundir import RunDir
from langadapt.stages import stage_metrics


def _heldout(metrics: EvalMetrics, label: str, lang: str) -> float | None:
    """Held-out bits per character of one language: the mean over its sources (eval stage)."""
    return ((metrics.heldout_bpc or {}).get(label) or {}).get(lang)


def _heldout_source(metrics: EvalMetrics, label: str, source: str) -> float | None:
    return ((metrics.heldout_bpc_by_source or {}).get(label) or {}).get(source)


def _udhr(metrics: EvalMetrics, label: str, lang: str) -> float | None:
    return (((metrics.bpc_by_task or {}).get("udhr-bpc") or {}).get(label) or {}).get(lang)


def _metrics(manifests: dict, stage: str, kind: type[StageMetrics]):
    # a stage the run did not reach reads as empty figures (shown as "-"), not as an error
    return stage_metrics(manifests, stage) or kind()


def heldout_sources(main: dict, baseline: dict) -> dict[str, str]:
    """Source -> language of the held-out sources either run scored (the same clean output in the demo)."""
    out: dict[str, str] = {}
    for manifests in (main, baseline):
        for src, info in (_metrics(manifests, "eval", EvalMetrics).heldout_sources or {}).items():
            out.setdefault(src, info.get("language", ""))
    return out


def comparison_rows(main: dict, baseline: dict, lang: str, base_lang: str) -> list[list]:
    """One row per run: tokens/char, held-out bits/char (per source when known, else per language), UDHR, training."""
    ev, bev = _metrics(main, "eval", EvalMetrics), _metrics(baseline, "eval", EvalMetrics)
    tok = _metrics(main, "tokenizer", TokenizerMetrics)
    tpc_before = (tok.tokens_per_char_before or {}).get(lang)
    tpc_after = (tok.tokens_per_char_after or {}).get(lang, tpc_before)
    train, btrain = _metrics(main, "pretrain", TrainMetrics), _metrics(baseline, "pretrain", TrainMetrics)
    sources = list(heldout_sources(main, baseline))

    def held(metrics: EvalMetrics, label: str) -> list:
        if sources:
            return [_heldout_source(metrics, label, src) for src in sources]
        return [_heldout(metrics, label, lang)]

    def udhr(metrics: EvalMetrics, label: str) -> list:
        return [_udhr(metrics, label, lang), _udhr(metrics, label, base_lang)]

    return [["base model", tpc_before, *held(ev, "base"), *udhr(ev, "base"), None, None],
            ["naive: full fine-tuning, base tokenizer", tpc_before, *held(bev, "pretrain"), *udhr(bev, "pretrain"),
             btrain.train_runtime_s, btrain.train_tokens_per_second],
            ["langadapt: extended tokenizer + LoRA CPT", tpc_after, *held(ev, "pretrain"), *udhr(ev, "pretrain"),
             train.train_runtime_s, train.train_tokens_per_second]]


def comparison_columns(main: dict, baseline: dict, lang: str, base_lang: str) -> list[str]:
    sources = heldout_sources(main, baseline)
    held = [f"bits/char held-out {src} ({sl})" for src, sl in sources.items()] or [f"bits/char held-out {lang}"]
    return [f"tokens/char {lang}", *held, f"bits/char UDHR {lang}", f"bits/char UDHR {base_lang}",
            "training seconds", "training tokens/s"]


def plot_comparison(data: dict, path: Path) -> Path | None:
    """Bars of bits per character per text (each held-out source, then UDHR), one bar per run."""
    cols = [i for i, c in enumerate(data["columns"]) if c.startswith("bits/char ")]
    if not cols or not data["rows"]:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [data["columns"][i].removeprefix("bits/char ") for i in cols]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(groups) + 2), 4))
    width = 0.8 / len(data["rows"])
    for r, row in enumerate(data["rows"]):
        values = [row[i + 1] if isinstance(row[i + 1], (int, float)) else math.nan for i in cols]
        xs = [g + (r - (len(data["rows"]) - 1) / 2) * width for g in range(len(groups))]
        bars = ax.bar(xs, values, width, label=row[0])
        ax.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=20, ha="right", fontsize=7)
    ax.set_ylabel("bits per character (lower is better)")
    ax.set_title("Held-out text per source and UDHR: base, naive route, langadapt")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_comparison(recipe: Recipe, baseline: Recipe) -> dict:
    main = RunDir(recipe.run_path()).manifests()
    base = RunDir(baseline.run_path()).manifests()
    lang, base_lang = recipe.languages[0], recipe.base_language
    data = {
        "description": (f"Both runs train for the same wall-clock budget ({recipe.pretrain.max_minutes} minutes) on the same "
                        f"cleaned corpus and are scored on the same held-out documents, each source corpus on its own, "
                        "in bits per character (lower is better; fair across tokenizers)."),
        "columns": comparison_columns(main, base, lang, base_lang),
        "rows": comparison_rows(main, base, lang, base_lang),
    }
    folder = RunDir(recipe.run_path()).root / "baseline"
    chart = plot_comparison(data, folder / "baseline.png")
    if chart is not None:
        data["chart"] = str(chart.resolve())
    write_json(folder / "baseline.json", data)
    return data
