"""`report_to: [tensorboard, wandb, mlflow, trackio]`: every metrics row reaches accelerate's trackers,
each kept on this machine, and is read back from what the tracker wrote (TensorBoard event files,
the W&B offline run file, an MLflow file store, Trackio's local database).

    .venv/bin/pytest tests/test_train_trackers.py -x -q

A tracker whose package is not installed is skipped with the reason; install them with
`pip install 'langadapt[trackers]'`.
"""

from __future__ import annotations

import importlib.util
import json
import time

import pytest

from langadapt.errors import MissingDependency
from langadapt.train.metrics import MetricsLog

ROWS = [{"event": "start", "stage": "pretrain", "method": "lora", "plan": {"global_batch": 4, "total_steps": 3}},
        {"step": 0, "eval_loss": 3.5}, {"step": 1, "loss": 3.25, "lr": 1e-4, "tokens_seen": 128},
        {"step": 2, "loss": 2.75, "lr": 5e-5, "tokens_seen": 256}, {"step": 3, "loss": 2.5, "lr": 0.0, "tokens_seen": 384},
        {"event": "end", "step": 3, "eval_loss": 2.25}]
LOSSES = {1: 3.25, 2: 2.75, 3: 2.5}


def _need(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install 'langadapt[trackers]')")


def _write(out, report_to, hparams=None):
    log = MetricsLog(out / "metrics.jsonl", report_to=report_to, hparams=hparams or {"learning_rate": 2e-4})
    for row in ROWS:
        log.write(row)
    log.close()
    assert len((out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()) == len(ROWS)


def _tensorboard_scalars(folder) -> dict[str, dict[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = [p for p in folder.rglob("events.out.tfevents.*")]
    assert runs, f"no event file under {folder}"
    acc = EventAccumulator(str(runs[0].parent))
    acc.Reload()
    return {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}


def test_tensorboard_event_files_read_back(tmp_path):
    _need("tensorboard")
    out = tmp_path / "runs" / "demo" / "pretrain"
    _write(out, ["tensorboard"])
    scalars = _tensorboard_scalars(out / "tensorboard")
    assert scalars["loss"] == pytest.approx(LOSSES)
    assert scalars["eval_loss"] == pytest.approx({0: 3.5, 3: 2.25})
    assert "step" not in scalars


def test_legacy_tensorboard_flag_still_writes_the_same_folder(tmp_path):
    _need("tensorboard")
    log = MetricsLog(tmp_path / "metrics.jsonl", tensorboard=True)
    log.write({"step": 1, "loss": 1.5})
    log.close()
    assert _tensorboard_scalars(tmp_path / "tensorboard")["loss"] == pytest.approx({1: 1.5})


def test_wandb_offline_run_file_read_back(tmp_path, monkeypatch):
    _need("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    out = tmp_path / "runs" / "demo" / "pretrain"
    _write(out, ["wandb"])
    files = list((out / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(files) == 1, list((out / "wandb").rglob("*"))
    from wandb.proto import wandb_internal_pb2

    def records():
        parsed = []
        for data in _wandb_records(files[0].read_bytes()):
            parsed.append(wandb_internal_pb2.Record())
            parsed[-1].ParseFromString(data)
        return parsed

    # The W&B service may still be flushing after finish(): wait for the run's exit record.
    deadline = time.monotonic() + 60
    while not any(r.WhichOneof("record_type") == "exit" for r in records()) and time.monotonic() < deadline:
        time.sleep(0.5)
    history, config = {}, {}
    for record in records():
        kind = record.WhichOneof("record_type")
        if kind == "history":
            items = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item}
            if "loss" in items:
                history[int(items["_step"])] = items["loss"]
        elif kind == "config":
            config.update({i.key: json.loads(i.value_json) for i in record.config.update})
        elif kind == "run":
            assert record.run.project == "demo" and record.run.display_name == "pretrain"
    assert history == pytest.approx(LOSSES)
    assert config["learning_rate"] == pytest.approx(2e-4) and config["plan/global_batch"] == 4


def _wandb_records(blob: bytes):
    """Records of a `.wandb` run file: a 7-byte W&B header, then LevelDB's log format (32 KiB blocks
    of chunks, each with a 7-byte header: CRC, little-endian length, type full/first/middle/last)."""
    assert blob[:4] == b":W&B", blob[:8]
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(blob):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        length = int.from_bytes(blob[pos + 4:pos + 6], "little")
        kind = blob[pos + 6]
        chunk = blob[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 0 and length == 0:
            continue
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            yield pending
            pending = b""


def test_mlflow_local_file_store_read_back(tmp_path, monkeypatch):
    _need("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    import mlflow

    out = tmp_path / "runs" / "demo" / "pretrain"
    try:
        _write(out, ["mlflow"])
    finally:
        mlflow.set_tracking_uri(None)  # the next test's default, not this run's folder
    client = mlflow.MlflowClient(tracking_uri=(out / "mlruns").as_uri())
    experiment = client.get_experiment_by_name("demo")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == "pretrain"
    history = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "loss")}
    assert history == pytest.approx(LOSSES)
    assert float(run.data.params["learning_rate"]) == pytest.approx(2e-4)
    assert run.data.params["method"] == "lora"


def test_trackio_local_database_read_back(tmp_path, monkeypatch):
    _need("trackio")
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "trackio"))
    import trackio.sqlite_storage as storage
    import trackio.utils

    # TRACKIO_DIR is read when trackio is first imported; point an already imported module here too.
    for module in (trackio.utils, storage):
        if hasattr(module, "TRACKIO_DIR"):
            monkeypatch.setattr(module, "TRACKIO_DIR", tmp_path / "trackio")
    out = tmp_path / "runs" / "demo" / "pretrain"
    _write(out, ["trackio"])
    logs = storage.SQLiteStorage.get_logs("demo", "pretrain")
    assert {int(r["step"]): r["loss"] for r in logs if "loss" in r} == pytest.approx(LOSSES)


def test_unknown_or_missing_tracker_fails_before_anything_is_written(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown tracker 'comet'"):
        MetricsLog(tmp_path / "metrics.jsonl", report_to=["comet"])
    assert not (tmp_path / "metrics.jsonl").exists()
    (tmp_path / "metrics.jsonl").write_text('{"step": 1, "loss": 2.0}\n', encoding="utf-8")
    # As if wandb were not installed (the import system's answer, not ours, is what is replaced).
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(MissingDependency, match=r"report_to: wandb needs the `wandb` package: pip install 'langadapt\[wandb\]'"):
        MetricsLog(tmp_path / "metrics.jsonl", report_to=["wandb"], keep_until_step=0)
    assert (tmp_path / "metrics.jsonl").read_text(encoding="utf-8") == '{"step": 1, "loss": 2.0}\n'  # nothing lost


def test_config_accepts_report_to_and_rejects_unknown():
    from pydantic import ValidationError

    from langadapt.config.train import PretrainConfig

    assert PretrainConfig(report_to=["wandb", "mlflow"]).report_to == ["wandb", "mlflow"]
    with pytest.raises(ValidationError):
        PretrainConfig(report_to=["comet"])


def test_pretrain_reports_to_tensorboard_and_mlflow(tmp_path, tiny_model_dir, monkeypatch):
    """The trainer's own rows reach the trackers: the same losses as metrics.jsonl."""
    _need("tensorboard")
    _need("mlflow")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    import mlflow

    from _train_helpers import step_losses, write_corpus
    from langadapt.cli.main import main

    corpus = write_corpus(tmp_path / "c", n_target=10, n_replay=2)
    out = tmp_path / "runs" / "tiny" / "pretrain"
    try:
        code = main(["pretrain", "--model", str(tiny_model_dir), "--data", str(corpus), "--out", str(out),
                     "--method", "lora", "--max-steps", "3", "--max-seq-length", "32", "--per-device-batch-size", "2",
                     "pretrain.lora.r=2", "pretrain.report_to=[tensorboard, mlflow]"])
    finally:
        mlflow.set_tracking_uri(None)
    assert code == 0
    losses = step_losses(out / "metrics.jsonl")
    assert sorted(losses) == [1, 2, 3]
    assert _tensorboard_scalars(out / "tensorboard")["loss"] == pytest.approx(losses)
    client = mlflow.MlflowClient(tracking_uri=(out / "mlruns").as_uri())
    (run,) = client.search_runs([client.get_experiment_by_name("tiny").experiment_id])
    assert {m.step: m.value for m in client.get_metric_history(run.info.run_id, "loss")} == pytest.approx(losses)
    assert run.data.params["method"] == "lora"
