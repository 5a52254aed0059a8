"""Peak memory of `langadapt clean` with exact and near dedup on, per million documents, and at 1 GB.

    .venv/bin/python bench/bench_clean_scale.py [--docs 0.5 2] [--gb 1] [--workers 1]

Why this shape: the stream itself (read, normalise, filter, write) holds a bounded number of chunks,
so what grows with the corpus is the dedup index; peak RSS at two corpus sizes in one run, divided
by the number of documents, gives the index's cost per million documents apart from the fixed
start-up (tokenizer, numpy, the stream's buffers). The last run cleans `--gb` GB (the issue's
target: under 4 GB peak RSS with dedup on).

The corpus is real text recombined: every line (half-couplet pair) of the fetched chinese-poetry
corpus (`langadapt data fetch chinese-poetry`) goes into one pool, and each document is 2-8 lines
drawn at random, so almost every document is distinct, as in a web-scale corpus, and documents are
about as short as poems (~225 bytes), the hardest case for a per-document index. Planted: 1% exact
copies of an earlier document and 1% near copies (one character changed in a document of 80 or
more characters), which the run must reject.

Each `langadapt clean` runs in its own process with `--workers 1` (so one process holds everything);
peak RSS is that process's ru_maxrss from `wait4`. The preset is `generic` without the token cutoff,
so the run measures the stream and the dedup index rather than tokenizer speed (bench_clean.py
measures the zh-Hant preset's throughput).
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


def line_pool() -> list[str]:
    from langadapt.data.fetch import fetch

    folder = fetch("chinese-poetry")
    pool = []
    for f in sorted(folder.glob("*.jsonl")):
        with f.open(encoding="utf-8") as fh:
            for line in fh:
                pool.extend(p for p in json.loads(line).get("paragraphs") or [] if p)
    return pool


def write_corpus(path: Path, *, docs: int = 0, megabytes: float = 0, pool: list[str], seed: int = 0) -> dict:
    """JSONL of `docs` documents (or `megabytes` MB); returns counts of what was planted."""
    rng = random.Random(seed)
    recent: list[str] = []  # duplicates copy a document from the last 100k, so planted pairs span shards and chunks
    counts = {"documents": 0, "exact": 0, "near": 0, "bytes": 0}
    target = int(megabytes * 1e6)
    with path.open("w", encoding="utf-8") as fh:
        while (counts["documents"] < docs) if docs else (counts["bytes"] < target):
            roll = rng.random()
            if roll < 0.01 and recent:
                text = rng.choice(recent)
                counts["exact"] += 1
            elif roll < 0.02 and recent:
                text = rng.choice(recent)
                while len(text) < 80:  # one changed character in 80 keeps MinHash's Jaccard estimate near 0.9
                    text = rng.choice(recent)
                i = len(text) // 2
                text = text[:i] + ("風" if text[i] != "風" else "雨") + text[i + 1:]
                counts["near"] += 1
            else:
                text = "\n".join(rng.choice(pool) for _ in range(rng.randint(2, 8)))
                if len(recent) < 100_000:
                    recent.append(text)
                else:
                    recent[rng.randrange(len(recent))] = text
            line = json.dumps({"text": text}, ensure_ascii=False) + "\n"
            fh.write(line)
            counts["documents"] += 1
            counts["bytes"] += len(line.encode("utf-8"))
    return counts


def run_clean(data: Path, out: Path, workers: int) -> dict:
    """`langadapt clean` in its own process; its peak RSS from wait4 and its stats."""
    cmd = [sys.executable, "-m", "langadapt", "clean", str(data), "--out", str(out), "--preset", "generic",
           "--workers", str(workers), "--no-progress", "clean.max_tokens=null", "clean.heldout_fraction=0.01"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode("utf-8", "replace")
    if status != 0:
        raise SystemExit(f"clean failed ({status}):\n{err[-3000:]}")
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    # ru_maxrss is in KiB on Linux
    return {"peak_mb": usage.ru_maxrss / 1024, "wall_s": wall, "stats": stats}


def report(label: str, counts: dict, r: dict) -> None:
    s = r["stats"]
    rej = s["rejects_by_reason"]
    print(f"{label}: {counts['documents']:,} documents, {counts['bytes'] / 1e6:.0f} MB | peak RSS {r['peak_mb']:.0f} MB | "
          f"{r['wall_s']:.0f} s ({counts['bytes'] / 1e6 / r['wall_s']:.2f} MB/s) | rejected exact "
          f"{rej.get('exact_duplicate', 0):,} (planted {counts['exact']:,}), near {rej.get('near_duplicate', 0):,} "
          f"(planted {counts['near']:,}) | {s['invariant']}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=float, nargs=2, default=[0.5, 2.0], help="two corpus sizes in millions of documents")
    ap.add_argument("--gb", type=float, default=1.0, help="size of the last run in GB of JSONL (0 skips it)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--tmp", default=None, help="scratch folder (needs ~2.5x --gb of free space)")
    args = ap.parse_args()
    pool = line_pool()
    print(f"line pool: {len(pool):,} lines of chinese-poetry; CPUs: {os.cpu_count()}", flush=True)
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        runs = []
        for millions in args.docs:
            data = tmp / "corpus.jsonl"
            counts = write_corpus(data, docs=int(millions * 1e6), pool=pool, seed=len(runs))
            r = run_clean(data, tmp / "out", args.workers)
            report(f"{millions:g}M documents", counts, r)
            runs.append((counts, r))
            data.unlink()
            subprocess.run(["rm", "-rf", str(tmp / "out")], check=True)
        (c0, r0), (c1, r1) = runs
        per_million = (r1["peak_mb"] - r0["peak_mb"]) / ((c1["documents"] - c0["documents"]) / 1e6)
        print(f"peak RSS {c1['documents'] / 1e6:g}M / {c0['documents'] / 1e6:g}M documents: "
              f"{r1['peak_mb'] / r0['peak_mb']:.2f}x ({r0['peak_mb']:.0f} -> {r1['peak_mb']:.0f} MB); "
              f"{per_million:.0f} MB per extra million documents", flush=True)
        if args.gb:
            data = tmp / "corpus-gb.jsonl"
            counts = write_corpus(data, megabytes=args.gb * 1000, pool=pool, seed=9)
            r = run_clean(data, tmp / "out", args.workers)
            report(f"{args.gb:g} GB", counts, r)
            print(f"clean of {args.gb:g} GB with exact + near dedup: peak RSS {r['peak_mb'] / 1024:.2f} GB (target < 4 GB)")


if __name__ == "__main__":
    main()
