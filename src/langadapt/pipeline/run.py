"""`langadapt run RECIPE`: the stages in order, each skipped when its config and inputs are unchanged.

A stage's fingerprint covers its own config section, the settings every stage shares and the
identity of the upstream results it reads (their fingerprints and finish times), so a change
anywhere upstream re-runs everything after it and nothing else.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console

from langadapt.config.load import dump_recipe
from langadapt.config.recipe import STAGES, Recipe
from langadapt.atomic import write_text
from langadapt.errors import UserError
from langadapt.pipeline.inputs import resolve_corpora, resolve_inputs
from langadapt.pipeline.procs import Procs, is_main_env, world_size
from langadapt.pipeline.resume import TRAINING, interrupted, prepare_stage_dir
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
                                          ("config or inputs changed" if manifest else
                                           interrupted(rundir, stage, fp) or "not run yet"))
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
    """Run (or with dry_run, validate and plan) the recipe; return the artifacts of every stage.

    Under `accelerate launch` the main process plans and runs the non-training stages while the
    others wait; training stages run on every process (see langadapt.pipeline.procs)."""
    if dry_run and not is_main_env():
        return {}  # under a launcher one process prints the plan
    procs = Procs() if dry_run else Procs.start(recipe.run_path())
    rundir = RunDir(recipe.run_path())
    if procs.is_main:
        try:
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
            rundir.root.mkdir(parents=True, exist_ok=True)
            write_text(rundir.root / "recipe.yaml", dump_recipe(recipe))
        except BaseException as exc:
            procs.fail("plan", f"{type(exc).__name__}: {exc}")
            raise
        procs.publish("plan", {"corpus_fps": corpus_fps, "planned": [asdict(p) for p in planned]})
    else:
        got = procs.receive("plan")
        corpus_fps, planned = got["corpus_fps"], [PlannedStage(**p) for p in got["planned"]]
    artifacts: dict[str, str] = {}
    upstream_ids: dict[str, object] = {}
    for p in planned:
        if p.action in ("skip", "keep"):
            manifest = rundir.manifest(p.stage)
            if manifest:
                artifacts.update({f"{p.stage}.{k}": v for k, v in manifest["outputs"].items()})
                upstream_ids[p.stage] = [manifest["fingerprint"], manifest.get("finished")]
            if p.action == "skip" and procs.is_main:
                console.print(f"[green]✓ {p.stage}[/] skipped: {p.reason}")
            continue
        if p.action != "run":
            continue
        config = stage_config(recipe, p.stage)
        if p.stage == "clean":
            config["corpus_files"] = corpus_fps
        config["upstream"] = {u: upstream_ids[u] for u in UPSTREAM[p.stage] if u in upstream_ids}
        fingerprint = fingerprint_data(config)
        outputs, finished = _run_stage(recipe, rundir, p.stage, artifacts, fingerprint, config, procs)
        artifacts.update({f"{p.stage}.{k}": v for k, v in outputs.items()})
        upstream_ids[p.stage] = [fingerprint, finished]
    return artifacts


def _run_stage(recipe, rundir, stage, artifacts, fingerprint, config, procs: Procs) -> tuple[dict, float]:
    """Run one stage on the processes that should; every process returns the main one's outputs."""
    trains = stage in TRAINING
    out_dir = rundir.stage_dir(stage)
    if procs.is_main:
        try:
            prepare_stage_dir(rundir, stage, fingerprint, trains, console.print)
        except BaseException as exc:
            procs.fail(f"{stage}.ready", f"{type(exc).__name__}: {exc}")
            raise
        procs.publish(f"{stage}.ready", True)
        console.rule(f"[bold]{stage}")
    else:
        procs.receive(f"{stage}.ready")
        if not trains:
            done = procs.receive(f"{stage}.done")
            return done["outputs"], done["finished"]
    started = time.time()
    try:
        result = _call(stage, StageContext(recipe=recipe, out_dir=out_dir.resolve(), run_dir=rundir,
                                           artifacts=dict(artifacts)), out_dir)
    except BaseException as exc:
        procs.fail(f"{stage}.done", f"{type(exc).__name__}: {exc}")
        raise
    if not procs.is_main:
        done = procs.receive(f"{stage}.done")
        return done["outputs"], done["finished"]
    finished = time.time()
    outputs = {k: str(Path(v).resolve()) for k, v in result.outputs.items()}
    record = StageRecord(stage=stage, fingerprint=fingerprint, config=config, inputs={k: v for k, v in artifacts.items()},
                         outputs=outputs, metrics=result.metrics, wall_time_s=round(finished - started, 2),
                         started=started, finished=finished)
    rundir.write_manifest(record)
    procs.publish(f"{stage}.done", {"outputs": outputs, "finished": finished})
    console.print(f"[green]✓ {stage}[/] done in {finished - started:.1f}s")
    return outputs, finished


def _call(stage: str, ctx: StageContext, out_dir: Path):
    fn = stage_function(stage)
    try:
        return fn(ctx)
    except UserError:
        raise
    except Exception as exc:
        # Under a launcher several processes may fail at once: each keeps its own traceback.
        rank = os.environ.get("RANK", "0") if world_size() > 1 else "0"
        name = "error.txt" if rank == "0" else f"error.rank{rank}.txt"
        (out_dir / name).write_text(traceback.format_exc(), encoding="utf-8")
        raise UserError(f"stage {stage} failed: {type(exc).__name__}: {exc} (traceback in {out_dir / name})") from exc
