"""Training on the GPU through `langadapt pretrain`: bf16 full fine-tuning (tokens/s, MFU), LoRA and
QLoRA (step time, peak memory). Run by bench/gpu_check.sh; alone:

    python bench/gpu/train_check.py full|lora|qlora [--steps 20]

The figures are the trainer's own (result.json), so this checks the path users run, not a copy of it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from common import MODEL, need, run_check, write_corpus


def train(method: str, steps: int) -> dict:
    from langadapt.cli.main import main

    if method == "qlora":
        need("bitsandbytes", "QLoRA loads the base in 4 bits")
    work = Path(tempfile.mkdtemp(prefix=f"gpu-{method}-"))
    corpus = write_corpus(work / "corpus")
    out = work / "out"
    args = ["pretrain", "--model", MODEL, "--data", str(corpus), "--out", str(out), "--method", method,
            "--max-steps", str(steps), "--max-seq-length", "1024", "--per-device-batch-size", "8",
            "pretrain.precision=bf16", "pretrain.validation_fraction=0", "pretrain.resume=false"]
    if method != "full":
        args += ["pretrain.lora.r=16", "pretrain.lora.alpha=32"]
    code = main(args)
    if code != 0:
        raise RuntimeError(f"langadapt pretrain exited {code}")
    metrics = json.loads((out / "result.json").read_text())["metrics"]
    figures = {"steps": metrics.get("global_step"),
               "tokens_per_s": round(metrics.get("train_tokens_per_second", 0.0)),
               "step_s": round(metrics["train_runtime_s"] / max(1, metrics.get("global_step", steps)), 3),
               "peak_memory_mb": metrics.get("peak_memory_mb"), "train_loss": metrics.get("train_loss")}
    if metrics.get("mfu") is not None:
        figures["mfu"] = round(metrics["mfu"], 4)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("method", choices=("full", "lora", "qlora"))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--name", help="Result name (default: train_METHOD); fsdp_1proc under accelerate launch.")
    a = parser.parse_args()
    run_check(a.name or f"train_{a.method}", lambda: train(a.method, a.steps))
