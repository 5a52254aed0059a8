"""Refactor guard: the same langadapt commands under a baseline git ref and the current tree, timed.

Run: `python bench/bench_versions.py [--baseline f26a9e8^] [--current .] [--repeat 5]`
(on a shared machine: `nice -n 19 env OMP_NUM_THREADS=1 .venv/bin/python bench/bench_versions.py`).

Why: the refactor into registries (training methods, inits, filters, eval kinds), a Stage spec,
typed results and hoisted imports began at f26a9e8 and promised "behaviour and CLI stay as they
are; nothing gets slower". This runs five small but real CLI workloads under both versions:
  help      `langadapt --help` (startup: import cost of the CLI)
  clean     `clean` of a generated zh-Hant/English JSONL (a few thousand lines, duplicates included)
  extend    `tokenizer extend` of the tiny random Llama by 300 pieces, init mean, held-out report
  pretrain  `pretrain` LoRA for 20 steps on the tiny model (fixed steps, no time budget)
  eval      `eval` heldout-bpc: bits per character of the tiny model on held-out text
The baseline is checked out with `git worktree add --detach` (removed afterwards); the current
tree is this repository's src/, uncommitted changes included. Both run as subprocesses of the
same venv python with PYTHONPATH=<tree>/src first; the script asserts each tree is the one
imported. Inputs are generated once, deterministically; every run gets a fresh output folder.
One untimed warm-up round (bytecode compiled, caches such as the token store filled) precedes
`--repeat` timed rounds, and within a round the two versions alternate (order flipped every
round) so machine load falls on both alike. Printed per command: median wall seconds of baseline
and current, the ratio current/baseline, the min-max wall range of each, median child CPU
seconds (less disturbed by other load than wall time), and the paired ratio: current/baseline
within each round (both saw the same load), median and range over rounds. A command that fails under either version
is reported as FAILED with its exit code and stderr tail. JSON: bench/results/bench_versions.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = "tiny-random-llama"
ZH_WORDS = ("春花 秋月 何時 往事 知多少 小樓 昨夜 東風 故國 不堪 回首 月明 雕欄 玉砌 應猶在 朱顏 改變 "
            "臺灣 學生 圖書館 電腦 資料 語言 模型 訓練 讀書 寫字 山水 長江 黃河 白雲 青天 明月 故鄉 "
            "朋友 時間 天氣 今天 明天 中國 文化 歷史 詩人 音樂 電影 城市 鄉村 夜晚 早晨 風景").split()
EN_WORDS = "the quick brown fox jumps over a lazy dog while rivers run past old stone bridges at dawn".split()


def make_inputs(root: Path, lines: int = 3000, seed: int = 0) -> dict[str, Path]:
    """raw.jsonl (to clean: zh-Hant, English, duplicates), corpus.jsonl (to learn/train on), heldout.jsonl."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(len(ZH_WORDS))]  # Zipf-like, so BPE has frequent pairs to merge

    def zh() -> str:
        return "。".join("，".join("".join(rng.choices(ZH_WORDS, weights, k=rng.randint(2, 4)))
                                 for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(1, 6))) + "。"

    def en() -> str:
        return " ".join(rng.choice(EN_WORDS) for _ in range(rng.randint(8, 60))).capitalize() + "."

    raw = []
    for i in range(lines):
        text = en() if i % 5 == 4 else zh()
        raw.append({"text": text, "id": f"r{i}"})
        if i % 50 == 0:
            raw.append({"text": text, "id": f"d{i}"})  # exact duplicate for the dedup step
    corpus = [{"text": zh(), "source": "poems", "language": "zh-Hant"} for _ in range(1500)]
    corpus += [{"text": en(), "source": "english", "language": "en"} for _ in range(300)]
    heldout = [{"text": zh(), "source": "poems", "language": "zh-Hant"} for _ in range(60)]
    heldout += [{"text": en(), "source": "english", "language": "en"} for _ in range(20)]
    paths = {}
    for name, rows in (("raw", raw), ("corpus", corpus), ("heldout", heldout)):
        paths[name] = root / f"{name}.jsonl"
        paths[name].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return paths


def commands(inputs: dict[str, Path]) -> dict[str, list[str]]:
    """Each command's arguments ("{out}" is a fresh folder per run); flags both versions accept."""
    return {
        "help": ["--help"],
        "clean": ["clean", str(inputs["raw"]), "--out", "{out}", "--language", "zh-Hant", "--no-progress",
                  "--workers", "1", "--heldout-fraction", "0.05", "--tokenizer", MODEL],
        "extend": ["tokenizer", "extend", "--model", MODEL, "--corpus", str(inputs["corpus"]), "--out", "{out}",
                   "--new-tokens", "300", "--min-frequency", "2", "--init", "mean", "--no-compare-inits",
                   "--report-chars", "2000", "--heldout", f"zh-Hant={inputs['heldout']}"],
        "pretrain": ["pretrain", "--model", MODEL, "--data", str(inputs["corpus"]), "--out", "{out}",
                     "--method", "lora", "--max-steps", "20", "--max-seq-length", "64",
                     "--per-device-batch-size", "4", "--seed", "0", "pretrain.max_minutes=null"],
        "eval": ["eval", "--model", MODEL, "--tasks", "heldout-bpc", "--heldout", str(inputs["heldout"]),
                 "--max-chars", "3000", "--batch-size", "4", "--out", "{out}"],
    }


def tree_env(tree: Path) -> dict[str, str]:
    # Bytecode is written, so the warm-up round compiles each tree once: with PYTHONDONTWRITEBYTECODE set
    # (as in some shells), every run would compile every module it imports of the fresh baseline worktree
    # and of the current tree's edited files, and time that instead of the code.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "src")] + [p for p in [env.get("PYTHONPATH")] if p])
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", env["OMP_NUM_THREADS"])
    return env


def check_import(tree: Path) -> str:
    """The langadapt this tree's environment imports; must live under <tree>/src."""
    out = subprocess.run([sys.executable, "-c", "import langadapt; print(langadapt.__file__)"],
                         env=tree_env(tree), capture_output=True, text=True, check=True).stdout.strip()
    assert Path(out).resolve().is_relative_to((tree / "src").resolve()), f"{tree}: imported {out}"
    return out


def run_once(tree: Path, args: list[str], out: Path) -> dict:
    """Wall and child-CPU seconds of one `python -m langadapt ...` with a fresh output folder."""
    argv = [sys.executable, "-m", "langadapt", *[a.replace("{out}", str(out / "out")) for a in args]]
    out.mkdir(parents=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with (out / "stdout.txt").open("w") as so, (out / "stderr.txt").open("w") as se:
        rc = subprocess.run(argv, env=tree_env(tree), stdout=so, stderr=se, cwd=out).returncode
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    res = {"wall": wall, "cpu": cpu, "rc": rc}
    if rc != 0:
        res["stderr_tail"] = (out / "stderr.txt").read_text(errors="replace")[-1500:]
    return res


def summarise(runs: list[dict]) -> dict:
    ok = [r for r in runs if r["rc"] == 0]
    failed = [r for r in runs if r["rc"] != 0]
    walls = [r["wall"] for r in ok]
    return {"runs": runs, "failed": len(failed),
            "median_wall": statistics.median(walls) if walls else None,
            "min_wall": min(walls) if walls else None, "max_wall": max(walls) if walls else None,
            "median_cpu": statistics.median(r["cpu"] for r in ok) if ok else None,
            "first_error": failed[0].get("stderr_tail") if failed else None}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", default="f26a9e8^", help="git ref of the baseline (default: before the refactor)")
    p.add_argument("--current", type=Path, default=REPO, help="source tree of the current version (its src/)")
    p.add_argument("--repeat", type=int, default=5, help="timed rounds (each runs both versions)")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    p.add_argument("--only", default="", help="comma-separated subset of: help,clean,extend,pretrain,eval")
    p.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "bench_versions.json")
    p.add_argument("--keep", action="store_true", help="keep the worktree and run folders")
    args = p.parse_args()

    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", args.baseline],
                         capture_output=True, text=True, check=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="bench-versions-"))
    base_tree = Path(tempfile.gettempdir()) / f"langadapt-base-{sha}-{os.getpid()}"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(base_tree), sha],
                   check=True, capture_output=True)
    trees = {"baseline": base_tree, "current": args.current.resolve()}
    try:
        imported = {name: check_import(tree) for name, tree in trees.items()}
        for name, path in imported.items():
            print(f"{name}: {trees[name]} (imports {path})")
        cmds = commands(make_inputs(work))
        if args.only:
            cmds = {k: v for k, v in cmds.items() if k in args.only.split(",")}
        subprocess.run([sys.executable, "-c", f"from langadapt.models import resolve_model; resolve_model({MODEL!r})"],
                       env=tree_env(trees["current"]), check=True)  # build the tiny model once, outside the timings
        runs: dict[str, dict[str, list[dict]]] = {c: {"baseline": [], "current": []} for c in cmds}
        for rnd in range(args.warmup + args.repeat):
            timed = rnd >= args.warmup
            order = ["baseline", "current"] if rnd % 2 == 0 else ["current", "baseline"]
            for cmd, cargs in cmds.items():
                for version in order:
                    res = run_once(trees[version], cargs, work / "runs" / f"{cmd}-{version}-{rnd}")
                    if timed:
                        runs[cmd][version].append(res)
                    tag = "timed" if timed else "warm-up"
                    status = "ok" if res["rc"] == 0 else f"FAILED rc={res['rc']}"
                    print(f"  round {rnd} ({tag}) {cmd:8s} {version:8s} {res['wall']:7.2f}s {status}", flush=True)
        table = {c: {v: summarise(r) for v, r in by.items()} for c, by in runs.items()}
    finally:
        if not args.keep:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(base_tree)], check=False)
            shutil.rmtree(work, ignore_errors=True)

    print(f"\nbaseline {args.baseline} ({sha}) vs current {trees['current']}, {args.repeat} timed rounds, "
          "median wall s [min-max], median child CPU s,\n"
          "paired ratio = median [min-max] over rounds of current/baseline wall in the same round")
    print(f"{'command':9s} {'baseline':>22s} {'current':>22s} {'ratio':>6s} {'cpu base':>9s} {'cpu cur':>8s} {'cpu ratio':>9s} {'paired ratio':>21s}")
    failures = 0
    for cmd, by in table.items():
        b, c = by["baseline"], by["current"]
        if b["failed"] or c["failed"]:
            failures += 1
            print(f"{cmd:9s} FAILED: baseline {b['failed']}/{len(b['runs'])}, current {c['failed']}/{len(c['runs'])} runs")
            for v, s in by.items():
                if s["first_error"]:
                    print(f"  {v} stderr tail:\n    " + s["first_error"].strip().replace("\n", "\n    "))
        if b["median_wall"] is None or c["median_wall"] is None:
            continue
        cell = lambda s: f"{s['median_wall']:.2f} [{s['min_wall']:.2f}-{s['max_wall']:.2f}]"  # noqa: E731
        ratio, cpu_ratio = c["median_wall"] / b["median_wall"], c["median_cpu"] / b["median_cpu"]
        pairs = [x["wall"] / y["wall"] for x, y in zip(c["runs"], b["runs"]) if x["rc"] == 0 == y["rc"]]
        paired = f"{statistics.median(pairs):.3f} [{min(pairs):.3f}-{max(pairs):.3f}]" if pairs else "-"
        print(f"{cmd:9s} {cell(b):>22s} {cell(c):>22s} {ratio:6.3f} {b['median_cpu']:9.2f} {c['median_cpu']:8.2f} "
              f"{cpu_ratio:9.3f} {paired:>21s}")
        by.update(ratio_wall=ratio, ratio_cpu=cpu_ratio, paired_ratios=pairs)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"baseline": args.baseline, "baseline_sha": sha, "current": str(trees["current"]),
                                     "imported": imported, "repeat": args.repeat, "warmup": args.warmup,
                                     "commands": cmds, "results": table}, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {args.json}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
