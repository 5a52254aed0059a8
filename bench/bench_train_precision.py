"""bf16 autocast vs fp32 for our CPT step on CPU (or GPU): same model, packed blocks, batch and steps.

    .venv/bin/python bench/bench_train_precision.py [--model smollm2-135m-instruct] [--steps 5] [--method lora|full]

`precision: auto` picks bf16 on CPUs with AVX512-BF16 or AMX; this prints what that choice is
worth on this machine: steady-state tokens/s over steps 2..N of each, and the ratio.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_train_packing import corpus  # noqa: E402
from bench_train_vs_trainer import job_arguments, ours  # noqa: E402


def main() -> None:
    args = job_arguments("lora").parse_args()

    from langadapt.models import resolve_model
    from langadapt.train.loading import cpu_has_native_bf16

    model_dir = resolve_model(args.model).path
    tps = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = corpus(Path(tmp) / "c", 400)
        for precision in ("fp32", "bf16"):
            args.tmp, args.precision = str(Path(tmp) / precision), precision
            Path(args.tmp).mkdir()
            tps[precision] = ours(model_dir, data, args)
    print(f"\n{args.model}, {args.method}, batch {args.batch} x {args.seq}, steps 2..{args.steps} "
          f"(native CPU bf16: {cpu_has_native_bf16()})")
    print(f"  fp32:               {tps['fp32']:8.1f} tokens/s")
    print(f"  bf16 autocast:      {tps['bf16']:8.1f} tokens/s")
    print(f"  ratio bf16 / fp32:  {tps['bf16'] / tps['fp32']:.2f}x")


if __name__ == "__main__":
    main()
