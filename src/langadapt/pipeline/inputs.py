"""Resolve and fingerprint what a recipe reads before anything runs: the base model and the raw corpora."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from langadapt.config.corpus import CorpusSpec
from langadapt.config.recipe import Recipe
from langadapt.data.fetch import fetch
from langadapt.errors import UserError
from langadapt.eval import tasks as eval_tasks
from langadapt.fingerprint import fingerprint_data
from langadapt.models.resolve import resolve_model
from langadapt.paths import cache_dir


@dataclass
class CorpusInput:
    name: str
    description: str
    files: list[str]
    fingerprint: str
    ready: bool


def _cached_source(name: str) -> Path | None:
    """A fetched source is complete once its folder (written atomically) has source.json."""
    folder = cache_dir("data") / name
    return folder if (folder / "source.json").exists() else None


def corpus_files(spec: CorpusSpec, base_dir: Path, fetch_missing: bool) -> tuple[list[str], str, bool]:
    """Files of one corpus, a human description, and whether they are on disk now."""
    if spec.hf_dataset:
        local = Path(spec.hf_dataset).expanduser()
        local = local if local.is_absolute() else base_dir / local
        if local.exists():
            return [], f"dataset folder {local} [{spec.hf_split}]", True
        return [], f"Hub dataset {spec.hf_dataset} [{spec.hf_split}] (needs network)", True
    root = base_dir
    if spec.fetch:
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


@dataclass
class InputStatus:
    kind: str  # base model | sft data | eval task
    name: str
    status: str
    level: str = "ok"  # ok | warning | error


def _producer(recipe: Recipe, ref: str) -> str | None:
    """The recipe whose run folder `ref` lies in (`runs/<name>/...`), as a `langadapt run` line."""
    path = Path(ref)
    run_root = Path(recipe.run_dir)
    try:
        rel = path.relative_to(run_root)
    except ValueError:
        return None
    if not rel.parts:
        return None
    other = rel.parts[0]
    import yaml

    for candidate in sorted(recipe.base_dir.glob("*.y*ml")):
        try:
            data = yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and data.get("name") == other:
            shown = candidate.resolve()
            try:
                shown = shown.relative_to(Path.cwd())
            except ValueError:
                pass
            return f"langadapt run {shown}"
    return f"the recipe named {other!r}"


def base_model_status(recipe: Recipe) -> InputStatus:
    ref = recipe.base_model
    try:
        base = resolve_model(ref)
    except UserError as exc:
        producer = _producer(recipe, ref)
        if producer:
            return InputStatus("base model", ref, f"not there yet: produced by `{producer}`", "warning")
        return InputStatus("base model", ref, f"NOT RESOLVABLE: {exc}", "error")
    if base.kind == "hub":
        return InputStatus("base model", ref, "Hub (needs network)")
    return InputStatus("base model", ref, f"{base.kind}: {base.weights or base.path}")


def _local(path: str, base_dir: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


def sft_data_status(recipe: Recipe) -> list[InputStatus]:
    found = []
    if not recipe.sft.enabled:
        return found
    for spec in recipe.sft.datasets:
        if spec.builtin:
            found.append(InputStatus("sft data", spec.builtin, "built-in task set (built from this run's data)"))
        elif spec.path:
            p = _local(spec.path, recipe.base_dir)
            found.append(InputStatus("sft data", spec.path, "local file" if p.is_file() else f"MISSING: no file {p}",
                                     "ok" if p.is_file() else "error"))
        elif spec.hf_dataset:
            local = _local(spec.hf_dataset, recipe.base_dir)
            where = f"dataset folder {local}" if local.exists() else "Hub (needs network)"
            files = spec.hf_data_files if isinstance(spec.hf_data_files, str) else ",".join(spec.hf_data_files or [])
            extra = f" [{spec.hf_config or 'default'}/{spec.hf_split}{' ' + files if files else ''}]"
            found.append(InputStatus("sft data", spec.hf_dataset, where + extra))
    return found


def eval_task_status(recipe: Recipe) -> list[InputStatus]:
    found = []
    if not recipe.eval.enabled:
        return found
    if recipe.eval.backend == "lm-eval":
        return [InputStatus("eval task", t, "lm-evaluation-harness task") for t in recipe.eval.tasks]
    for task in recipe.eval.tasks:
        if task in eval_tasks.names():
            found.append(InputStatus("eval task", task, "built-in"))
            continue
        p = Path(task).expanduser()
        ok = p.is_file()
        found.append(InputStatus("eval task", task, "task file" if ok else f"MISSING: not a built-in task and no file {p}",
                                 "ok" if ok else "error"))
    return found


def resolve_inputs(recipe: Recipe) -> list[InputStatus]:
    """Every input besides the corpora, with whether it is usable now (dry-run prints these)."""
    return [base_model_status(recipe), *sft_data_status(recipe), *eval_task_status(recipe)]
