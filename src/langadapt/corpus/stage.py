"""The `clean` stage: the recipe's corpora through the cleaning stream into `runs/<name>/clean/`.

Use: `langadapt run recipe.yaml` (orchestrated), or `langadapt clean INPUT... --out DIR`, which builds a
recipe and a StageContext from its flags and calls the same `run` (with the context's `shard` and
`progress`). Library callers with plain files use `clean_files`, which `run` wraps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from langadapt.config.clean import CleanConfig
from langadapt.config.corpus import CorpusSpec
from langadapt.config.recipe import Recipe
from langadapt.corpus.pipeline import clean
from langadapt.corpus.presets import PRESETS, preset_for_language, steps_for
from langadapt.corpus.readers import Source, find_files
from langadapt.corpus.worker import CorpusPlan
from langadapt.data.fetch import fetch
from langadapt.errors import UserError
from langadapt.results import CleanMetrics
from langadapt.stages import StageContext, StageResult

NO_BASE_MODEL = "none"
"""`base_model` of the recipe `langadapt clean` builds from its flags alone: no base tokenizer, so the
token cutoff is off unless `clean.tokenizer` names one."""


def _fetched_folder(name: str) -> Path:
    return Path(fetch(name))


def build_sources(corpora: Sequence[CorpusSpec], base_dir: Path, default_language: str | None) -> list[Source]:
    """Find each corpus's files: `path` resolves against the fetched folder when `fetch` is set."""
    if not corpora:
        raise UserError("no corpora to clean: add `corpora:` to the recipe or pass input files")
    names = [c.name for c in corpora]
    if len(set(names)) != len(names):
        raise UserError(f"corpus names must be unique, got {names}")
    sources = []
    for spec in corpora:
        base = _fetched_folder(spec.fetch) if spec.fetch else Path(base_dir)
        language = spec.language or default_language or ""
        if spec.hf_dataset and not spec.path:
            sources.append(Source(spec, [], language, base))
            continue
        files = find_files(spec.path or ".", base)
        if spec.fetch:  # a fetched folder's own description is not a corpus file
            files = [f for f in files if f.name != "source.json"] or files
        # Origins (and so document ids) are relative to the files' common folder: stable across machines.
        common = Path(os.path.commonpath([str(f.parent) for f in files]))
        sources.append(Source(spec, files, language, common))
    return sources


def plan_sources(sources: Sequence[Source], cfg: CleanConfig, targets: Sequence[str]) -> list[CorpusPlan]:
    """Target corpora take the configured preset and step lists; others (replay) the preset of their language."""
    plans = []
    for src in sources:
        is_target = src.spec.role == "target" and (not targets or not src.language or src.language in targets)
        preset = PRESETS[cfg.preset] if cfg.preset and is_target else preset_for_language(src.language)
        normalizers, filters = steps_for(preset, cfg, override=is_target)
        plans.append(CorpusPlan(preset.name, normalizers, filters))
    return plans


def clean_files(inputs: Sequence[CorpusSpec], cfg: CleanConfig, out_dir: str | Path, *, base_dir: Path | None = None,
                languages: Sequence[str] = (), tokenizer: str | None = None,
                shard: tuple[int, int] | None = None, progress: bool = True) -> dict[str, Any]:
    """Clean `inputs` into `out_dir`; returns the stats (also in `out_dir/stats.json`)."""
    default_language = languages[0] if languages else None
    sources = build_sources(inputs, base_dir or Path.cwd(), default_language)
    plans = plan_sources(sources, cfg, languages)
    return clean(sources, plans, cfg, out_dir, tokenizer=tokenizer if cfg.max_tokens or tokenizer else None,
                 shard=shard, progress=progress)


def outputs_of(out_dir: Path) -> dict[str, str]:
    out_dir = Path(out_dir).resolve()
    return {"corpus": str(out_dir / "corpus"), "heldout": str(out_dir / "heldout.jsonl"),
            "stats": str(out_dir / "stats.json"), "report": str(out_dir / "report.md"),
            "histogram": str(out_dir / "length_histogram.png"), "rejects": str(out_dir / "rejects.jsonl")}


def metrics_of(stats: dict[str, Any]) -> dict[str, Any]:
    keys = ("documents_in", "documents_kept", "documents_rejected", "rejects_by_reason", "chars_in", "chars_out",
            "tokens_out", "heldout_documents", "train_documents", "invariant_ok", "wall_seconds", "mb_per_second")
    metrics = {k: stats.get(k) for k in keys}
    presets = stats.get("presets") or {}
    metrics["preset"] = next(iter(presets.values()), None) if len(set(presets.values())) <= 1 else presets
    steps = stats.get("steps") or {}
    metrics["steps"] = next(iter(steps.values()), []) if len({tuple(v) for v in steps.values()}) <= 1 else steps
    metrics["dedup"] = stats.get("config", {}).get("dedup")
    metrics["max_tokens"] = stats.get("config", {}).get("max_tokens")
    return metrics


def tokenizer_of(recipe: Recipe) -> str | None:
    """The tokenizer of the token cutoff and counts: `clean.tokenizer`, else the base model's (None without one)."""
    return recipe.clean.tokenizer or (recipe.base_model if recipe.base_model != NO_BASE_MODEL else None)


def run(ctx: StageContext) -> StageResult:
    recipe = ctx.recipe
    stats = clean_files(recipe.corpora, recipe.clean, ctx.out_dir, base_dir=recipe.base_dir, languages=recipe.languages,
                        tokenizer=tokenizer_of(recipe), shard=ctx.shard, progress=ctx.progress)
    print(stats["invariant"])
    return StageResult(outputs=outputs_of(ctx.out_dir), metrics=CleanMetrics.from_stage(metrics_of(stats)))
