"""`langadapt run RECIPE`: the stages in order, each skipped when its config and inputs are unchanged.

A stage's fingerprint covers its own config section, the settings every stage shares and the
identity of the upstream results it reads (their fingerprints and finish times), so a change
anywhere upstream re-runs everything after it and nothing else.
"""

from __future__ import annotations

import shutil
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from langadapt.config.load import dump_recipe
from langadapt.config.recipe import STAGES, Recipe
from langadapt.errors import UserError
from langadapt.pipeline.inputs import resolve_corpora, resolve_inputs
from langadapt.rundir import RunDir, StageRecord, fingerprint_data
from langadapt.stages import StageContext, stage_function

console = Console(highlight=False)

# What each stage reads from the recipe beyond its own section.
SHARED_KEYS = {
    "clean": ("base_model", "languages", "corpora"),
    "tokenizer": ("base_model", "languages", "base_language"),
    "pretrain": ("base_model", "corpora", "seed"),
    "sft": ("base_model", "seed", "generation"),
    "eval": ("base_model", "languages", "base_language", "generation"),
    "export": ("base_model", "name", "description", "languages", "generation", "hardware"),
}
UPSTREAM = {
    "clean": (),
    "tokenizer": ("clean",),
    "pretrain": ("clean", "tokenizer"),
    "sft": ("clean", "tokenizer", "pretrain"),
    "eval": ("clean", "tokenizer", "pretrain", "sft"),
    "export": ("clean", "tokenizer", "pretrain", "sft", "eval"),
}


@dataclass
class PlannedStage:
    stage: str
    action: str  # run | skip (done) | off (disabled) | keep (outside --from/--only, previous result used)
    fingerprint: str = ""
    reason: str = ""
    outputs: dict = field(default_factory=dict)


def stage_config(recipe: Recipe, stage: str) -> dict:
    data = recipe.model_dump(mode="json")
    config = {stage: data[stage]}
    config.update({k: data[k] for k in SHARED_KEYS[stage]})
    return config


def _check_selection(from_stage: str | None, only: str | None) -> None:
    for name, value in (("--from", from_stage), ("--only", only)):
        if value is not None and value not in STAGES:
            raise UserError(f"{name} {value}: unknown stage; stages are {', '.join(STAGES)}")
    if from_stage and only:
        raise UserError("use --from or --only, not both")


def plan_run(recipe: Recipe, from_stage: str | None = None, only: str | None = None,
             corpus_fingerprints: dict | None = None) -> list[PlannedStage]:
    _check_selection(from_stage, only)
    rundir = RunDir(recipe.run_path())
    planned: list[PlannedStage] = []
    upstream_ids: dict[str, object] = {}
    for i, stage in enumerate(STAGES):
        if not recipe.stage_enabled(stage):
            planned.append(PlannedStage(stage, "off", reason="disabled in the recipe"))
            continue
        config = stage_config(recipe, stage)
        if stage == "clean" and corpus_fingerprints:
            config["corpus_files"] = corpus_fingerprints
        config["upstream"] = {u: upstream_ids[u] for u in UPSTREAM[stage] if u in upstream_ids}
        fp = fingerprint_data(config)
        manifest = rundir.manifest(stage)
        selected = (only is None or stage == only) and (from_stage is None or i >= STAGES.index(from_stage))
        forced = (only == stage) or (from_stage is not None and i >= STAGES.index(from_stage))
        upstream_runs = any(p.action == "run" for p in planned if p.stage in UPSTREAM[stage])
        if not selected:
            if manifest is None:
                planned.append(PlannedStage(stage, "keep", fp, "no previous result (later stages that need it will fail)"))
            else:
                planned.append(PlannedStage(stage, "keep", manifest["fingerprint"], "previous result used", manifest["outputs"]))
                upstream_ids[stage] = [manifest["fingerprint"], manifest.get("finished")]
            continue
        if not forced and not upstream_runs and rundir.is_done(stage, fp):
            planned.append(PlannedStage(stage, "skip", fp, "done, config and inputs unchanged", manifest["outputs"]))
            upstream_ids[stage] = [fp, manifest.get("finished")]
            continue
        reason = "forced" if forced else ("upstream re-runs" if upstream_runs else
                                          ("config or inputs changed" if manifest else "not run yet"))
        planned.append(PlannedStage(stage, "run", fp, reason))
        upstream_ids[stage] = [fp, "pending"]
    return planned


def describe_plan(recipe: Recipe, planned: list[PlannedStage], corpora, inputs=None) -> str:
    lines = [f"recipe:     {recipe.name}" + (f" ({recipe.source})" if recipe.source else ""),
             f"run dir:    {recipe.run_path()}"]
    inputs = resolve_inputs(recipe) if inputs is None else inputs
    base = inputs[0]
    lines.append(f"base model: {base.name}: {base.status}" + (" (warning)" if base.level == "warning" else ""))
    lines.append(f"languages:  {', '.join(recipe.languages)} (base language {recipe.base_language})")
    for c in corpora:
        lines.append(f"corpus:     {c.name}: {c.description}")
    for item in inputs[1:]:
        label = f"{item.kind}:".ljust(11)
        lines.append(f"{label} {item.name}: {item.status}")
    lines.append("stages:")
    for p in planned:
        outs = ", ".join(f"{k}={v}" for k, v in p.outputs.items()) if p.outputs else str(RunDir(recipe.run_path()).stage_dir(p.stage))
        lines.append(f"  {p.stage:<10} {p.action:<5} {p.reason}" + (f"\n             -> {outs}" if p.action != "off" else ""))
    return "\n".join(lines)


def run_recipe(recipe: Recipe, dry_run: bool = False, from_stage: str | None = None, only: str | None = None) -> dict:
    """Run (or with dry_run, validate and plan) the recipe; return the artifacts of every stage."""
    corpora = resolve_corpora(recipe, fetch_missing=not dry_run)
    corpus_fps = {c.name: c.fingerprint for c in corpora if c.ready}
    planned = plan_run(recipe, from_stage, only, corpus_fps)
    inputs = resolve_inputs(recipe)
    console.print(describe_plan(recipe, planned, corpora, inputs), markup=False)
    if dry_run:
        missing = [f"{i.kind} {i.name}" for i in inputs if i.level == "error"]
        if missing:
            raise UserError(f"dry run: {len(missing)} input(s) missing: {'; '.join(missing)}")
        return {}
    rundir = RunDir(recipe.run_path())
    rundir.root.mkdir(parents=True, exist_ok=True)
    (rundir.root / "recipe.yaml").write_text(dump_recipe(recipe), encoding="utf-8")
    artifacts: dict[str, str] = {}
    upstream_ids: dict[str, object] = {}
    for p in planned:
        if p.action in ("skip", "keep"):
            manifest = rundir.manifest(p.stage)
            if manifest:
                artifacts.update({f"{p.stage}.{k}": v for k, v in manifest["outputs"].items()})
                upstream_ids[p.stage] = [manifest["fingerprint"], manifest.get("finished")]
            if p.action == "skip":
                console.print(f"[green]✓ {p.stage}[/] skipped: {p.reason}")
            continue
        if p.action != "run":
            continue
        config = stage_config(recipe, p.stage)
        if p.stage == "clean":
            config["corpus_files"] = corpus_fps
        config["upstream"] = {u: upstream_ids[u] for u in UPSTREAM[p.stage] if u in upstream_ids}
        fingerprint = fingerprint_data(config)
        outputs, metrics, record = _run_stage(recipe, rundir, p.stage, artifacts, fingerprint, config)
        artifacts.update({f"{p.stage}.{k}": v for k, v in outputs.items()})
        upstream_ids[p.stage] = [fingerprint, record.finished]
    return artifacts


def _run_stage(recipe, rundir, stage, artifacts, fingerprint, config):
    fn = stage_function(stage)
    out_dir = rundir.stage_dir(stage)
    rundir.invalidate(stage)  # an old manifest must not vouch for a half-rewritten folder
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    console.rule(f"[bold]{stage}")
    started = time.time()
    try:
        result = fn(StageContext(recipe=recipe, out_dir=out_dir.resolve(), run_dir=rundir, artifacts=dict(artifacts)))
    except UserError:
        raise
    except Exception as exc:
        (out_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        raise UserError(f"stage {stage} failed: {type(exc).__name__}: {exc} (traceback in {out_dir / 'error.txt'})") from exc
    finished = time.time()
    outputs = {k: str(Path(v).resolve()) for k, v in result.outputs.items()}
    record = StageRecord(stage=stage, fingerprint=fingerprint, config=config, inputs={k: v for k, v in artifacts.items()},
                         outputs=outputs, metrics=result.metrics, wall_time_s=round(finished - started, 2),
                         started=started, finished=finished)
    rundir.write_manifest(record)
    console.print(f"[green]✓ {stage}[/] done in {finished - started:.1f}s")
    return outputs, result.metrics, record
