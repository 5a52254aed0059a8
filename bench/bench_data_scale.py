"""Pretraining data at scale: peak memory and time to the first step against corpus size, the same on an
already-tokenized corpus, and tokenization throughput against the `tokenizers` batch encoder alone.

    .venv/bin/python bench/bench_data_scale.py [--sizes 20 200] [--model smollm2-135m-instruct]

Each size is zh-Hant JSONL made by repeating the fetched chinese-poetry corpus (`langadapt data fetch
chinese-poetry`) in shuffled order. Every pretrain run is `langadapt pretrain --method lora --max-steps 1`
in its own process (peak RSS of that process, from its result.json); the model is first saved as a plain
safetensors folder, because loading a GGUF dequantizes in memory and that transient peak would hide
what the data costs. Time to first step runs from the process start to the step-1 row in metrics.jsonl.
The first run of a size tokenizes it into the token store; the second finds the store in the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_train_memory import _plain_copy  # noqa: E402


def poems() -> list[str]:
    from langadapt.data.fetch import fetch

    folder = fetch("chinese-poetry")
    texts = []
    for f in sorted(folder.glob("*.jsonl")):
        with f.open(encoding="utf-8") as fh:
            for line in fh:
                rec = json.loads(line)
                body = "\n".join(rec.get("paragraphs") or [])
                if body:
                    texts.append(f"{rec.get('title', '')}\n{body}")
    return texts


def write_corpus(path: Path, megabytes: float, texts: list[str], seed: int = 0) -> Path:
    """JSONL of `megabytes` MB: the poems over and over, reshuffled each pass."""
    rng = random.Random(seed)
    target = int(megabytes * 1e6)
    written = 0
    with path.open("w", encoding="utf-8") as fh:
        while written < target:
            order = list(range(len(texts)))
            rng.shuffle(order)
            for i in order:
                line = json.dumps({"text": texts[i], "source": "poems"}, ensure_ascii=False) + "\n"
                fh.write(line)
                written += len(line.encode("utf-8"))
                if written >= target:
                    break
    return path


def pretrain(model: str, data: Path, out: Path, env: dict, args) -> dict:
    cmd = [sys.executable, "-m", "langadapt", "pretrain", "--model", model, "--data", str(data), "--out", str(out),
           "--method", "lora", "--max-steps", "1", "--per-device-batch-size", str(args.batch),
           "--max-seq-length", str(args.seq), "--validation-fraction", "0"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = None
    metrics = out / "metrics.jsonl"
    while proc.poll() is None:
        if first is None and metrics.is_file() and '"step": 1,' in metrics.read_text(encoding="utf-8"):
            first = time.perf_counter() - t0
        time.sleep(0.1)
    err = proc.stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"pretrain failed:\n{err[-3000:]}")
    first = first or time.perf_counter() - t0
    m = json.loads((out / "result.json").read_text())["metrics"]
    return {"peak_mb": m["peak_memory_mb"], "first_step_s": first, "step_s": m["train_runtime_s"],
            "documents": m["data"]["documents"], "tokens": m["data"]["train_tokens"]}


def throughput(model: str, data: Path, cache: Path) -> dict:
    """Seconds to build the token store vs. the bare batch encoder on the same texts (already in memory)."""
    from transformers import AutoTokenizer

    from langadapt.train.shards import BATCH_DOCS, token_store

    tok = AutoTokenizer.from_pretrained(model)
    with data.open(encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    backend = tok.backend_tokenizer
    t0 = time.perf_counter()
    n_tok = 0
    for i in range(0, len(texts), BATCH_DOCS):
        n_tok += sum(len(e.ids) for e in backend.encode_batch(texts[i:i + BATCH_DOCS], add_special_tokens=False))
    bare = time.perf_counter() - t0
    del texts
    t0 = time.perf_counter()
    store = token_store(tok, data, cache)
    ours = time.perf_counter() - t0
    mb = data.stat().st_size / 1e6
    return {"bare_s": bare, "store_s": ours, "mb": mb, "tokens": int(len(store.tokens)), "bare_tokens": n_tok}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--sizes", type=float, nargs="+", default=[20, 200], help="corpus sizes in MB (first is the baseline)")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--throughput-mb", type=float, default=20)
    args = ap.parse_args()
    texts = poems()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "LANGADAPT_CACHE": str(tmp / "cache"), "HF_HUB_OFFLINE": "1"}
        model_dir = _plain_copy(args.model, tmp / "model")
        rows = {}
        for mb in args.sizes:
            data = write_corpus(tmp / f"corpus-{mb:g}mb.jsonl", mb, texts)
            cold = pretrain(model_dir, data, tmp / f"out-{mb:g}-cold", env, args)
            warm = pretrain(model_dir, data, tmp / f"out-{mb:g}-warm", env, args)
            rows[mb] = (cold, warm)
            print(f"{mb:g} MB: {cold['documents']} documents, {cold['tokens']} tokens | first run: peak {cold['peak_mb']:.0f} MB, "
                  f"first step at {cold['first_step_s']:.1f} s | tokenized: peak {warm['peak_mb']:.0f} MB, "
                  f"first step at {warm['first_step_s']:.1f} s, of which the step itself {warm['step_s']:.1f} s", flush=True)
        tp = throughput(model_dir, write_corpus(tmp / "tp.jsonl", args.throughput_mb, texts, seed=1), tmp / "tp-cache")
    base, top = args.sizes[0], args.sizes[-1]
    print(f"\n{args.model}, LoRA, 1 step of {args.batch} x {args.seq} tokens, CPU ({os.cpu_count()} cores), peak RSS per process")
    print(f"  peak RSS {top:g} MB / {base:g} MB of text: {rows[top][0]['peak_mb'] / rows[base][0]['peak_mb']:.2f}x "
          f"({rows[base][0]['peak_mb']:.0f} -> {rows[top][0]['peak_mb']:.0f} MB; target <= 1.15x)")
    worst = max(w["first_step_s"] for _, w in rows.values())
    setup = max(w["first_step_s"] - w["step_s"] for _, w in rows.values())
    print(f"  time to first step on a tokenized corpus: <= {worst:.1f} s at every size, {setup:.1f} s before the step "
          f"starts (process start, model load, data) (target <= 10 s)")
    print(f"  tokenization: store {tp['mb'] / tp['store_s']:.2f} MB/s vs bare batch encoder {tp['mb'] / tp['bare_s']:.2f} MB/s "
          f"on the same {tp['mb']:.0f} MB = {tp['bare_s'] / tp['store_s']:.2f}x (target >= 0.8x)")


if __name__ == "__main__":
    main()
