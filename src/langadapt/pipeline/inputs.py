"""Resolve and fingerprint what a recipe reads before anything runs: the base model and the raw corpora."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from langadapt.config.corpus import CorpusSpec
from langadapt.config.recipe import Recipe
from langadapt.errors import UserError
from langadapt.rundir import fingerprint_data


@dataclass
class CorpusInput:
    name: str
    description: str
    files: list[str]
    fingerprint: str
    ready: bool


def _cached_source(name: str) -> Path | None:
    """A fetched source is complete once its folder (written atomically) has source.json."""
    from langadapt.paths import cache_dir

    folder = cache_dir("data") / name
    return folder if (folder / "source.json").exists() else None


def corpus_files(spec: CorpusSpec, base_dir: Path, fetch_missing: bool) -> tuple[list[str], str, bool]:
    """Files of one corpus, a human description, and whether they are on disk now."""
    if spec.hf_dataset:
        return [], f"dataset {spec.hf_dataset} [{spec.hf_split}]", True
    root = base_dir
    if spec.fetch:
        from langadapt.data.fetch import fetch

        cached = _cached_source(spec.fetch)
        if cached is None and not fetch_missing:
            return [], f"built-in source {spec.fetch!r} (fetched on run)", False
        root = cached or fetch(spec.fetch)
        if not spec.path:
            files = sorted(str(p) for p in root.rglob("*.jsonl"))
            return files, f"{spec.fetch}: {len(files)} files", True
    pattern = spec.path if Path(spec.path).is_absolute() else str(root / spec.path)
    path = Path(pattern)
    if path.is_dir():
        files = sorted(str(p) for p in path.rglob("*") if p.is_file())
    else:
        files = sorted(glob.glob(pattern, recursive=True))
    if not files:
        raise UserError(f"corpus {spec.name!r}: nothing matches {pattern}")
    return files, f"{spec.path}: {len(files)} files", True


def resolve_corpora(recipe: Recipe, fetch_missing: bool) -> list[CorpusInput]:
    found = []
    for spec in recipe.corpora:
        files, description, ready = corpus_files(spec, recipe.base_dir, fetch_missing)
        # size+mtime, not content: corpora can be many GB and this runs on every `langadapt run`.
        stats = [(f, Path(f).stat().st_size, Path(f).stat().st_mtime_ns) for f in files]
        found.append(CorpusInput(spec.name, description, files, fingerprint_data([spec.model_dump(), stats]), ready))
    return found
