"""Tokens/s with packing (per-document attention) vs padding, on a corpus of mixed document lengths.

    .venv/bin/python bench/bench_train_packing.py [--model tiny-random-llama] [--steps 6] [--seq 256]

Both runs use the same trainer, model, documents, batch shape and step count; only `packing`
changes. Tokens/s counts real (non-padding) tokens, so the ratio is the useful-throughput gain.
The corpus is Tang poems (short) mixed with Taiwan prose (long), from `langadapt data fetch`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def corpus(folder: Path, n: int) -> Path:
    from langadapt.data import poems
    from langadapt.data.fetch import fetch

    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"text": poems.poem_text(r), "source": "tang"} for r in poems.load_poems("tang", limit=n)]
    prose = fetch("zh-tw-prose") / "zh-tw-prose.jsonl"
    with prose.open(encoding="utf-8") as fh:
        for line, _ in zip(fh, range(n // 4)):
            rows.append({"text": json.loads(line)["text"], "source": "prose"})
    path = folder / "mixed.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="tiny-random-llama")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--method", default="full")
    args = ap.parse_args()

    from langadapt.config.train import PretrainConfig
    from langadapt.models import resolve_model
    from langadapt.train.stage import pretrain

    model = resolve_model(args.model).path
    with tempfile.TemporaryDirectory() as tmp:
        data = corpus(Path(tmp) / "c", 400)
        results = {}
        for packing in (False, True):
            cfg = PretrainConfig(method=args.method, max_steps=args.steps, per_device_batch_size=args.batch,
                                 max_seq_length=args.seq, packing=packing, validation_fraction=0, learning_rate=1e-4)
            r = pretrain(cfg, model, data, Path(tmp) / f"out-{packing}")
            results[packing] = r.metrics
        pad, pack = results[False], results[True]
        print(f"\nmodel {args.model}, {args.method}, batch {args.batch} x {args.seq}, {args.steps} steps (CPU; shared machine: noisy)")
        for name, m in (("padding", pad), ("packing", pack)):
            print(f"  {name:8s} {m['train_tokens_per_second']:9.1f} real tokens/s  {m['train_tokens']:7d} tokens  {m['train_runtime_s']:.1f} s")
        print(f"  packing / padding tokens/s: {pack['train_tokens_per_second'] / pad['train_tokens_per_second']:.2f}x")


if __name__ == "__main__":
    main()
