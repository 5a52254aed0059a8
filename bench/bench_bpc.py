"""Bits-per-character throughput: batched sliding-window scoring vs a naive one-document-at-a-time loop.

    .venv/bin/python bench/bench_bpc.py --model smollm2-135m-instruct --languages en,zh-Hant --max-chars 3000

Both run in the same process on the same UDHR texts. The naive loop is the usual recipe: one
document at a time, a strided window loop per document, `model(input_ids, labels=...)` with full
logits. Each is run `--repeats` times, alternating, and timed by wall clock and by this process's
CPU time (on a shared machine the CPU time is the steadier figure). Prints characters/s of each,
the speed-up, and both bits/char (they must agree).
"""

from __future__ import annotations

import argparse
import math
import time

import torch


def naive_bpc(model, tokenizer, texts, window: int, stride: int) -> tuple[float, int]:
    from langadapt.eval.bpc import prefix_token_id

    prefix = prefix_token_id(tokenizer)
    total_nll, chars = 0.0, 0
    with torch.inference_mode():
        for text in texts:
            ids = torch.tensor([[prefix] + tokenizer(text, add_special_tokens=False)["input_ids"]])
            n, prev_end = ids.shape[1], 0
            for begin in range(0, n, stride):
                end = min(begin + window, n)
                trg = end - max(prev_end, begin + 1)
                chunk = ids[:, begin:end]
                labels = chunk.clone()
                labels[:, : chunk.shape[1] - trg] = -100
                loss = model(chunk, labels=labels).loss  # mean over the trg scored tokens
                total_nll += loss.item() * trg
                prev_end = end
                if end == n:
                    break
            chars += len(text)
    return total_nll, chars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2-135m-instruct")
    parser.add_argument("--languages", default="en,zh-Hant")
    parser.add_argument("--max-chars", type=int, default=3000, help="Characters of UDHR text per language.")
    parser.add_argument("--window", type=int, default=1024)
    parser.add_argument("--stride", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    from langadapt.eval.bpc import score_texts
    from langadapt.eval.tasks import TaskOptions, udhr_bpc
    from langadapt.models import load_model, load_tokenizer

    model = load_model(args.model, dtype="fp32")
    tokenizer = load_tokenizer(args.model)
    task = udhr_bpc(TaskOptions(languages=args.languages.split(","), max_chars=args.max_chars))
    texts = [t for texts in task.texts.values() for t in texts]
    print(f"model {args.model}, {len(texts)} documents, {sum(map(len, texts))} characters, "
          f"torch threads {torch.get_num_threads()}, device cpu")

    score_texts(model, tokenizer, texts[:2], window=args.window, stride=args.stride)  # warm-up
    naive_bpc(model, tokenizer, texts[:2], args.window, args.stride)
    times: dict[str, list[tuple[float, float]]] = {"naive": [], "batched": []}
    for _ in range(args.repeats):
        started, cpu = time.perf_counter(), time.process_time()
        batched = score_texts(model, tokenizer, texts, window=args.window, stride=args.stride,
                              batch_size=args.batch_size)
        times["batched"].append((time.perf_counter() - started, time.process_time() - cpu))
        started, cpu = time.perf_counter(), time.process_time()
        naive_nll, naive_chars = naive_bpc(model, tokenizer, texts, args.window, args.stride)
        times["naive"].append((time.perf_counter() - started, time.process_time() - cpu))

    values = {"naive": naive_nll / math.log(2) / naive_chars, "batched": batched.bits_per_char}
    best = {}
    for name in ("naive", "batched"):
        wall, cpu = min(t for t, _ in times[name]), min(c for _, c in times[name])
        best[name] = (wall, cpu)
        runs = ", ".join(f"{t:.1f}s/{c:.1f}cpu-s" for t, c in times[name])
        print(f"{name:8}: {naive_chars / wall:8.1f} chars/s wall, {naive_chars / cpu:8.1f} chars/cpu-s  "
              f"bits/char {values[name]:.4f}  (runs: {runs})")
    print(f"batch   : {args.batch_size} x {args.window} tokens per forward pass")
    print(f"speed-up: {best['naive'][0] / best['batched'][0]:.2f}x wall, "
          f"{best['naive'][1] / best['batched'][1]:.2f}x CPU time (best of {args.repeats})")
    print(f"bits/char difference: {abs(values['naive'] - values['batched']):.2e}")


if __name__ == "__main__":
    main()
