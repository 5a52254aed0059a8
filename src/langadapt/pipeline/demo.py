"""`langadapt demo`: the packaged CPU demo, its quick variant for CI, and the naive baseline beside it.

    langadapt demo             # ~20 minutes on 2 cores: SmolLM2-135M -> Traditional Chinese
    langadapt demo --quick     # a few minutes, smaller slices and budgets
    langadapt demo --baseline  # also plain full fine-tuning with the base tokenizer, same minutes
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from langadapt.config.load import load_recipe
from langadapt.config.recipe import Recipe
from langadapt.pipeline.compare import write_comparison
from langadapt.pipeline.report import finish_report
from langadapt.pipeline.run import console, run_recipe
from langadapt.results import EvalMetrics, ExportMetrics, TokenizerMetrics
from langadapt.rundir import RunDir
from langadapt.stages import stage_metrics

DEMO_RECIPE = "demo-zh-tw.yaml"

# Smaller slices and budgets: the same pipeline end to end in a few minutes, for CI.
QUICK_OVERRIDES = [
    "name=demo-zh-tw-quick",
    "corpora.0.max_documents=400", "corpora.1.max_documents=200", "corpora.3.max_documents=400",
    "corpora.4.max_documents=400", "corpora.5.max_documents=150",
    "tokenizer.new_tokens=600", "tokenizer.report_chars=200",
    "pretrain.max_minutes=0.6", "sft.max_minutes=0.4", "sft.datasets.0.max_examples=300",
    # the base and the shipped model only: scoring four models was half of the quick run's minutes
    "eval.compare=[base,sft]", "eval.max_chars=300", "eval.max_examples=6",
    "eval.tasks=[heldout-bpc,udhr-bpc,zh-tw-doc-qa]", "eval.generation.max_new_tokens=24",
]

# The naive route the demo must beat: full fine-tuning with the base tokenizer, padded batches
# of 4 x 256 at lr 5e-5, for the same training minutes.
BASELINE_OVERRIDES = [
    "tokenizer.enabled=false", "sft.enabled=false", "export.enabled=false",
    "pretrain.method=full", "pretrain.learning_rate=5e-5", "pretrain.min_learning_rate=5e-5",
    "pretrain.lr_scheduler=constant", "pretrain.warmup_steps=0", "pretrain.packing=false",
    "pretrain.per_device_batch_size=4", "pretrain.max_seq_length=256",
    "eval.tasks=[heldout-bpc,udhr-bpc]", "eval.compare=[pretrain]",
]


def demo_recipe_path() -> Path:
    return Path(str(resources.files("langadapt") / "assets" / "recipes" / DEMO_RECIPE))


def load_demo(quick: bool, run_dir: str, overrides: list[str]) -> Recipe:
    extra = [f"run_dir={run_dir}", *(QUICK_OVERRIDES if quick else []), *overrides]
    return load_recipe(demo_recipe_path(), extra)


def run_baseline(recipe: Recipe) -> dict:
    """Run the naive route in a sibling run folder, reusing the demo's cleaned corpus."""
    overrides = [f"name={recipe.name}-baseline", f"run_dir={recipe.run_dir}", *BASELINE_OVERRIDES]
    if recipe.pretrain.max_minutes:
        overrides.append(f"pretrain.max_minutes={recipe.pretrain.max_minutes}")
    baseline = load_recipe(demo_recipe_path(), overrides)
    main_clean = RunDir(recipe.run_path()).manifest_path("clean")
    target = RunDir(baseline.run_path()).manifest_path("clean")
    if main_clean.is_file():
        # Same corpora and clean settings give the same fingerprint: the copied manifest (whose
        # outputs point at the demo's files) lets the baseline skip cleaning and score the same held-out text.
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(main_clean.read_text(encoding="utf-8"), encoding="utf-8")
    console.rule("[bold]baseline: plain full fine-tuning, base tokenizer")
    run_recipe(baseline)
    return write_comparison(recipe, baseline)


def print_summary(recipe: Recipe) -> None:
    manifests = RunDir(recipe.run_path()).manifests()
    # Typed metrics (langadapt.results): a renamed metric fails here instead of silently dropping a line.
    tok: TokenizerMetrics | None = stage_metrics(manifests, "tokenizer")
    ev: EvalMetrics | None = stage_metrics(manifests, "eval")
    exp: ExportMetrics | None = stage_metrics(manifests, "export")
    lang = recipe.languages[0]
    lines = []
    before = (tok.tokens_per_char_before or {}).get(lang) if tok else None
    after = (tok.tokens_per_char_after or {}).get(lang) if tok else None
    if before and after:
        lines.append(f"tokens per character ({lang}): {before:.3f} -> {after:.3f}")
    if ev:
        by_source = ev.heldout_bpc_by_source or {}
        for source, meta in (ev.heldout_sources or {}).items():
            row = ", ".join(f"{m} {v[source]:.3f}" for m, v in by_source.items() if v.get(source) is not None)
            if row:
                lines.append(f"bits per character, held-out {source} ({meta.get('language')}): {row}")
        for udhr_lang in dict.fromkeys([lang, *(recipe.eval.languages or [])]):
            row = ", ".join(f"{m} {v.get(udhr_lang):.3f}" for m, v in (ev.bpc or {}).items()
                            if isinstance(v, dict) and v.get(udhr_lang) is not None)
            if row:
                lines.append(f"bits per character, UDHR {udhr_lang}: {row}")
        for task, per_model in (ev.tasks or {}).items():
            for metric in sorted({k for v in per_model.values() for k in v}):
                row = ", ".join(f"{m} {v[metric]:.1f}" for m, v in per_model.items() if v.get(metric) is not None)
                lines.append(f"{task} {metric}: {row}")
    export = manifests.get("export", {}).get("outputs", {}).get("export")
    if export and exp and exp.source_reason:
        what = f"the {exp.source_stage} model" if exp.source_stage else exp.source_model
        lines.append(f"exported: {what} ({exp.source_reason})")
    if export:
        lines += ["", "talk to the result:", f"  langadapt chat {export}", f"  langadapt serve {export}"]
    console.print("\n".join(lines))


def run_demo(quick: bool = False, baseline: bool = False, run_dir: str = "runs", overrides: list[str] | None = None) -> int:
    recipe = load_demo(quick, run_dir, list(overrides or []))
    run_recipe(recipe)
    if baseline:
        run_baseline(recipe)
    finish_report(recipe)
    print_summary(recipe)
    return 0
