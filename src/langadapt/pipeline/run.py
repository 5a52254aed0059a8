"""`langadapt run RECIPE`: the stages in order, each skipped when its config and inputs are unchanged.

A stage's fingerprint (langadapt.stages.stage_fingerprint) covers its own config section, the
settings it shares with others, the contents of the files it reads (corpora, SFT data, eval task
files) and the identity of the upstream results it reads (their fingerprints and finish times),
so a change anywhere upstream re-runs everything after it and nothing else. Input files are
fingerprinted once, when the run is planned, and the plan carries them to every process.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console

from langadapt.atomic import write_text
from langadapt.config.load import dump_recipe
from langadapt.config.recipe import Recipe
from langadapt.errors import UserError
from langadapt.pipeline.inputs import resolve_corpora, resolve_inputs
from langadapt.pipeline.procs import Procs, is_main_env, world_size
from langadapt.pipeline.resume import interrupted, prepare_stage_dir
from langadapt.rundir import RunDir, StageRecord
from langadapt.stages import SPECS, STAGES, StageContext, stage_fingerprint
from langadapt.stages import stage as stage_spec

console = Console(highlight=False)


@dataclass
class PlannedStage:
    stage: str
    action: str  # run | skip (done) | off (disabled) | keep (outside --from/--only, previous result used)
    fingerprint: str = ""
    reason: str = ""
    outputs: dict = field(default_factory=dict)


def _check_selection(from_stage: str | None, only: str | None) -> None:
    for name, value in (("--from", from_stage), ("--only", only)):
        if value is not None and value not in STAGES:
            raise UserError(f"{name} {value}: unknown stage; stages are {', '.join(STAGES)}")
    if from_stage and only:
        raise UserError("use --from or --only, not both")


def input_files(recipe: Recipe) -> dict[str, dict[str, str]]:
    """Fingerprints of the files each enabled stage reads, taken once per run."""
    return {s.name: s.input_files(recipe) for s in SPECS if s.input_files and recipe.stage_enabled(s.name)}


def plan_run(recipe: Recipe, from_stage: str | None = None, only: str | None = None,
             files: dict[str, dict[str, str]] | None = None) -> list[PlannedStage]:
    _check_selection(from_stage, only)
    rundir = RunDir(recipe.run_path())
    files = input_files(recipe) if files is None else files
    planned: list[PlannedStage] = []
    upstream_ids: dict[str, object] = {}
    for i, stage in enumerate(STAGES):
        if not recipe.stage_enabled(stage):
            planned.append(PlannedStage(stage, "off", reason="disabled in the recipe"))
            continue
        fp, _ = stage_fingerprint(recipe, stage, files.get(stage, {}), upstream_ids)
        ups = stage_spec(stage).upstream
        manifest = rundir.manifest(stage)
        selected = (only is None or stage == only) and (from_stage is None or i >= STAGES.index(from_stage))
        forced = (only == stage) or (from_stage is not None and i >= STAGES.index(from_stage))
        upstream_runs = any(p.action == "run" for p in planned if p.stage in ups)
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
            files = input_files(recipe)
            planned = plan_run(recipe, from_stage, only, files)
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
        procs.publish("plan", {"files": files, "planned": [asdict(p) for p in planned]})
    else:
        got = procs.receive("plan")
        files, planned = got["files"], [PlannedStage(**p) for p in got["planned"]]
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
        # upstream finish times are known now, so the fingerprint is taken again (the plan had "pending")
        fingerprint, config = stage_fingerprint(recipe, p.stage, files.get(p.stage, {}), upstream_ids)
        outputs, finished = _run_stage(recipe, rundir, p.stage, artifacts, fingerprint, config, procs)
        artifacts.update({f"{p.stage}.{k}": v for k, v in outputs.items()})
        upstream_ids[p.stage] = [fingerprint, finished]
    return artifacts


def _run_stage(recipe, rundir, stage, artifacts, fingerprint, config, procs: Procs) -> tuple[dict, float]:
    """Run one stage on the processes that should; every process returns the main one's outputs."""
    trains = stage_spec(stage).trains
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
                         outputs=outputs, metrics=result.metrics.to_dict(), wall_time_s=round(finished - started, 2),
                         started=started, finished=finished)
    rundir.write_manifest(record)
    procs.publish(f"{stage}.done", {"outputs": outputs, "finished": finished})
    console.print(f"[green]✓ {stage}[/] done in {finished - started:.1f}s")
    return outputs, finished


def _call(stage: str, ctx: StageContext, out_dir: Path):
    try:
        return stage_spec(stage).run(ctx)
    except UserError:
        raise
    except Exception as exc:
        # Under a launcher several processes may fail at once: each keeps its own traceback.
        rank = os.environ.get("RANK", "0") if world_size() > 1 else "0"
        name = "error.txt" if rank == "0" else f"error.rank{rank}.txt"
        (out_dir / name).write_text(traceback.format_exc(), encoding="utf-8")
        raise UserError(f"stage {stage} failed: {type(exc).__name__}: {exc} (traceback in {out_dir / name})") from exc
