"""Whether `langadapt run` continues an interrupted stage or starts it afresh.

    prepare_stage_dir(rundir, "pretrain", fingerprint, trains=True, say=print)   # "resume" | "fresh"

A stage folder gets `.stage-started.json` (the stage's fingerprint) before the stage runs and
`manifest.json` when it finishes. A training stage found without a manifest but with the same
fingerprint and a checkpoint that verifies was interrupted with nothing changed since, so its
folder is kept and the trainer continues from the newest checkpoint (the data order is a pure
function of seed and step, so the losses are the ones the uninterrupted run would have had).
Anything else starts from an empty folder: a changed config or input (said on the console), a
stage that had finished and is forced again (`--from`, `--only`), or a stage that does not train
(clean, tokenizer, eval, export write their outputs whole, so a half-written folder is not reused).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from langadapt.atomic import read_json, write_json
from langadapt.rundir import RunDir
from langadapt.stages import TRAINING

MARKER = ".stage-started.json"


def newest_checkpoint(stage_dir: Path) -> Path | None:
    """The checkpoint the trainer would resume from (either format: both keep a verified state.json), or None."""
    # deferred: pulls torch, and this module is imported by `langadapt --help` (through pipeline.run)
    from langadapt.train import checkpoint as ckpt

    return ckpt.latest(Path(stage_dir) / "checkpoints")


def interrupted(rundir: RunDir, stage: str, fingerprint: str) -> str | None:
    """For the plan: what happens to an interrupted stage (None when it was not interrupted)."""
    if rundir.manifest(stage) is not None:
        return None
    marker = read_json(rundir.stage_dir(stage) / MARKER)
    if not isinstance(marker, dict):
        return None
    if marker.get("fingerprint") != fingerprint:
        return "interrupted, config or inputs changed since: restarts from scratch"
    if stage in TRAINING and newest_checkpoint(rundir.stage_dir(stage)) is not None:
        return "interrupted: resumes from its newest checkpoint"
    return "interrupted: runs again"


def prepare_stage_dir(rundir: RunDir, stage: str, fingerprint: str, trains: bool,
                      say: Callable[[str], object] = print) -> str:
    """Keep (for a resume) or empty the stage's folder, and mark it started; returns "resume" or "fresh"."""
    out_dir = rundir.stage_dir(stage)
    was_complete = rundir.manifest(stage) is not None
    rundir.invalidate(stage)  # an old manifest must not vouch for a half-rewritten folder
    marker = read_json(out_dir / MARKER)
    if trains and not was_complete and isinstance(marker, dict):
        if marker.get("fingerprint") == fingerprint:
            found = newest_checkpoint(out_dir)
            if found is not None:
                for stale in out_dir.glob("error*.txt"):
                    stale.unlink()
                say(f"{stage}: resuming the interrupted run from {found.name} (config and inputs unchanged)")
                return "resume"
            say(f"{stage}: interrupted before its first checkpoint: starting from step 0")
        else:
            say(f"{stage}: config or inputs changed since the interrupted run: restarting from scratch "
                "(its checkpoints are deleted)")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    write_json(out_dir / MARKER, {"stage": stage, "fingerprint": fingerprint})
    return "fresh"
