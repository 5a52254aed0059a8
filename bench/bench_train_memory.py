"""Peak memory of LoRA vs full fine-tuning, each in its own process (peak RSS on CPU, peak allocated on GPU).

The model is first saved as a plain safetensors folder: loading a GGUF dequantizes in memory and
that transient peak (about 4 GB for SmolLM2) would hide the difference training makes.

    .venv/bin/python bench/bench_train_memory.py [--model smollm2-135m-instruct] [--steps 2] [--precision fp32|bf16]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_train_packing import corpus  # noqa: E402


def _plain_copy(model: str, out: Path) -> str:
    from langadapt.models import load_model, load_tokenizer
    from langadapt.models.gguf import save_plain

    save_plain(load_model(model, dtype="fp32"), out)
    load_tokenizer(model).save_pretrained(out)
    return str(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = corpus(Path(tmp) / "c", 200)
        model_dir = _plain_copy(args.model, Path(tmp) / "model")
        peak = {}
        for method in ("full", "lora"):
            out = Path(tmp) / method
            subprocess.run([sys.executable, "-m", "langadapt", "pretrain", "--model", model_dir, "--data", str(data),
                            "--out", str(out), "--method", method, "--max-steps", str(args.steps),
                            "--per-device-batch-size", str(args.batch), "--max-seq-length", str(args.seq),
                            "--validation-fraction", "0", "--precision", args.precision], check=True, stderr=subprocess.DEVNULL)
            peak[method] = json.loads((out / "result.json").read_text())["metrics"]["peak_memory_mb"]
    print(f"\n{args.model}, batch {args.batch} x {args.seq}, {args.precision} (CPU: peak RSS of the process, includes the runtime)")
    print(f"  full: {peak['full']:8.0f} MB\n  lora: {peak['lora']:8.0f} MB (r=64, QKVO+MLP)")
    print(f"  lora / full peak memory: {peak['lora'] / peak['full']:.2f}x")


if __name__ == "__main__":
    main()
