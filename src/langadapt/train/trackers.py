"""Experiment trackers for training metrics: TensorBoard, Weights & Biases, MLflow, Trackio.

    trackers = open_trackers(["tensorboard", "mlflow"], out_dir, hparams={"learning_rate": 2e-4})
    log_to_trackers(trackers, {"loss": 2.3, "lr": 1e-4}, step=10); close_trackers(trackers)

Set `report_to: [tensorboard, wandb, mlflow, trackio]` in a `pretrain` or `sft` section. The trackers
are accelerate's own classes (the ones `Accelerator(log_with=...)` builds), opened by
`train.metrics.MetricsLog` on the main process next to `metrics.jsonl`, so every row that reaches
the JSONL log reaches them too and the trainer needs no second logging path.

Everything stays on this machine unless the user asks otherwise:
- tensorboard: event files in `<stage>/tensorboard/`.
- wandb: offline (files in `<stage>/wandb/`, `wandb sync` uploads them) unless WANDB_MODE is set or
  an API key is configured (WANDB_API_KEY or `wandb login`).
- mlflow: a file store at `<stage>/mlruns/` unless MLFLOW_TRACKING_URI is set (`mlflow ui
  --backend-store-uri <stage>/mlruns` shows it).
- trackio: its local database (TRACKIO_DIR, default under HF_HOME); no Space unless TRACKIO_SPACE_ID.
The project name is the run folder's name and the run name is the stage, so the pretrain and sft
runs of one recipe sit together in each tracker's UI.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from langadapt.errors import require

TRACKERS = ("tensorboard", "wandb", "mlflow", "trackio")
# tracker -> (module to import, extra that installs it)
_PACKAGES = {"tensorboard": ("tensorboard", "tensorboard"), "wandb": ("wandb", "wandb"),
             "mlflow": ("mlflow", "mlflow"), "trackio": ("trackio", "trackio")}


def _wandb_logged_in() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return "api.wandb.ai" in netrc.read_text(encoding="utf-8")
    except OSError:
        return False


def _build(name: str, out_dir: Path, project: str, run: str):
    from accelerate import tracking

    if name == "tensorboard":
        # logging_dir/run_name: keeps the folder `<stage>/tensorboard/` of the `tensorboard: true` flag.
        return tracking.TensorBoardTracker("tensorboard", str(out_dir))
    if name == "wandb":
        mode = os.environ.get("WANDB_MODE") or ("online" if _wandb_logged_in() else "offline")
        return tracking.WandBTracker(project, name=run, dir=str(out_dir), mode=mode)
    if name == "mlflow":
        if not os.environ.get("MLFLOW_TRACKING_URI"):
            import mlflow

            # A file store needs no database packages (mlflow-skinny suffices) and sits with the run;
            # MLflow 3 keeps it working but asks for this opt-in.
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
            mlflow.set_tracking_uri((out_dir / "mlruns").resolve().as_uri())
        return tracking.MLflowTracker(experiment_name=project, run_name=run)
    if name == "trackio":
        return tracking.TrackioTracker(project, name=run)
    raise ValueError(f"unknown tracker {name!r}; choose from {', '.join(TRACKERS)}")


def check_trackers(report_to: list[str]) -> None:
    """Fail before training starts when a tracker's package is missing."""
    for name in report_to:
        if name not in _PACKAGES:
            raise ValueError(f"unknown tracker {name!r} in report_to; choose from {', '.join(TRACKERS)}")
        module, extra = _PACKAGES[name]
        require(module, extra, f"report_to: {name}")


def flat_scalars(values: dict[str, Any], prefix: str = "") -> dict[str, float | int | str | bool]:
    """Nested dicts flattened to `a/b` keys; lists and None dropped (trackers take scalars only)."""
    out: dict[str, float | int | str | bool] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat_scalars(value, f"{name}/"))
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
    return out


def open_trackers(report_to: list[str], out_dir: Path, hparams: dict[str, Any] | None = None) -> list:
    if not report_to:
        return []
    check_trackers(report_to)
    from accelerate import PartialState

    PartialState()  # the trackers' main-process guard reads it; the trainer's Accelerator already made it
    out_dir = Path(out_dir)
    project, run = out_dir.resolve().parent.name or "langadapt", out_dir.name
    trackers = []
    try:
        for name in dict.fromkeys(report_to):
            tracker = _build(name, out_dir, project, run)
            tracker.start()
            trackers.append(tracker)
        if hparams:
            store_configuration(trackers, hparams)
    except Exception:
        close_trackers(trackers)
        raise
    return trackers


def store_configuration(trackers: list, values: dict[str, Any]) -> None:
    flat = flat_scalars(values)
    for tracker in trackers:
        tracker.store_init_configuration(flat)


def log_to_trackers(trackers: list, row: dict[str, Any], step: int) -> None:
    numbers = {k: v for k, v in row.items()
               if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "step"}
    if numbers:
        for tracker in trackers:
            tracker.log(numbers, step=step)


def close_trackers(trackers: list) -> None:
    for tracker in trackers:
        tracker.finish()
