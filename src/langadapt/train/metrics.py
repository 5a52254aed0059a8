"""Training metrics: JSONL log, experiment trackers, loss-curve PNG, FLOPs and MFU, peak memory.

    log = MetricsLog(out_dir / "metrics.jsonl", report_to=["tensorboard", "mlflow"])
    log.write({"step": 1, "loss": 2.3, ...}); log.close()
    plot_loss(out_dir / "metrics.jsonl", out_dir / "loss_curve.png")
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Sequence

import torch

from langadapt.train.trackers import check_trackers, close_trackers, log_to_trackers, open_trackers, store_configuration

# Dense bf16/fp16 tensor-core peak FLOP/s per GPU (vendor datasheets, without sparsity).
PEAK_FLOPS = {
    "h200": 989e12, "h100": 989e12, "a100": 312e12, "a10g": 125e12, "a10": 125e12, "l40s": 362e12,
    "l4": 121e12, "a6000": 155e12, "4090": 165e12, "3090": 71e12, "v100": 125e12, "t4": 65e12,
}


def peak_flops() -> float | None:
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name().lower()
    for key, value in PEAK_FLOPS.items():
        if key in name:
            return value
    return None


def hardware() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()}x {torch.cuda.get_device_name()}"
    import os
    import platform

    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()})"


def flops_per_token(num_params: int, trainable_all: bool, layers: int, hidden: int, seq_len: int) -> float:
    """Model FLOPs per trained token: forward 2N, backward 4N when every weight trains, 2N (input grads
    only) when the base is frozen; plus causal attention scores (PaLM appendix B, halved for causal)."""
    dense = (6 if trainable_all else 4) * num_params
    attention = (6 if trainable_all else 4) * layers * hidden * seq_len
    return float(dense + attention)


def peak_memory_mb() -> float:
    """GPU: peak allocated by torch; CPU: the process's peak resident memory."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 2**20


class MetricsLog:
    """Rows go to `metrics.jsonl` and to the trackers of `report_to` (train.trackers); the legacy
    `tensorboard=True` flag is `report_to=["tensorboard"]`."""

    def __init__(self, path: Path, tensorboard: bool = False, keep_until_step: int | None = None,
                 report_to: Sequence[str] = (), hparams: dict | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        names = list(dict.fromkeys([*report_to, *(["tensorboard"] if tensorboard else [])]))
        check_trackers(names)  # a missing package fails here, before the log file is touched
        # On resume, drop rows logged after the checkpoint: those steps run again.
        rows = read_metrics(self.path) if keep_until_step is not None else []
        rows = [r for r in rows if r.get("step", 0) <= (keep_until_step or 0)]
        self.path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        self._fh = self.path.open("a", encoding="utf-8")
        self._trackers = open_trackers(names, self.path.parent, hparams)

    def write(self, row: dict) -> None:
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._fh.flush()
        if not self._trackers:
            return
        if row.get("event") == "start":  # plan, data and model sizes: run configuration, not a curve
            store_configuration(self._trackers, {k: v for k, v in row.items() if k != "event"})
        elif row.get("event") is None or "step" in row:
            log_to_trackers(self._trackers, row, int(row.get("step", 0)))

    def close(self) -> None:
        self._fh.close()
        close_trackers(self._trackers)
        self._trackers = []


def read_metrics(path: Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by a kill
    return rows


def plot_loss(metrics_path: Path, png: Path, title: str = "") -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    train = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    evals = [(r["step"], r["eval_loss"]) for r in rows if "eval_loss" in r]
    if not train and not evals:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    if train:
        ax.plot(*zip(*train), label="train loss", lw=1.2)
    if evals:
        ax.plot(*zip(*evals), "o-", label="validation loss", lw=1.5)
    lrs = [(r["step"], r["lr"]) for r in rows if "lr" in r]
    if lrs:
        ax2 = ax.twinx()
        ax2.plot(*zip(*lrs), color="grey", alpha=0.4, lw=1, label="learning rate")
        ax2.set_ylabel("learning rate")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("loss (nats/token)")
    ax.set_title(title or "training loss")
    ax.legend(loc="upper right")
    fig.tight_layout()
    png = Path(png)
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return png
