"""Shared by the bench/gpu checks: one JSON result per check, and the small corpus they train on.

Each check is a separate process (bench/gpu_check.sh runs them one by one with a time limit), writes
`<results>/<name>.json` with {"status": "ok"|"fail"|"skip", "figures": {...}, "note": ...} and exits
0 even on a failed check, so one broken GPU path never hides the others.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

MODEL = os.environ.get("GPU_CHECK_MODEL", "smollm2-135m-instruct")
CHARS = "春花秋月何時了往事知多少小樓昨夜又東風故國不堪回首月明中雕欄玉砌應猶在只是朱顏改人生而自由在尊嚴和權利上一律平等"
WORDS = "the quick brown fox jumps over a lazy dog while language models learn new scripts".split()


def results_dir() -> Path:
    folder = Path(os.environ.get("GPU_CHECK_RESULTS", "gpu-check-results"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_corpus(folder: Path, documents: int = 400, seed: int = 0) -> Path:
    """Mixed Traditional Chinese and English documents in the cleaned-corpus shape the trainer reads."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "shard-000.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(documents):
            if i % 4:
                text = "，".join("".join(rng.choice(CHARS) for _ in range(7)) for _ in range(rng.randint(20, 120)))
                lang, role = "zh-Hant", "target"
            else:
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(100, 600)))
                lang, role = "en", "replay"
            fh.write(json.dumps({"text": text, "id": f"d{i}", "source": "synthetic", "language": lang,
                                 "role": role, "meta": {}}, ensure_ascii=False) + "\n")
    return folder


def run_check(name: str, body: Callable[[], dict]) -> None:
    """Run `body` (returns the figures), record ok/fail/skip with the time it took."""
    started = time.perf_counter()
    try:
        import torch

        if not torch.cuda.is_available():
            record = {"status": "skip", "note": "no CUDA device"}
        else:
            figures = body()
            note = figures.pop("note", "")
            record = {"status": figures.pop("status", "ok"), "figures": figures, "note": note}
    except SkipCheck as exc:
        record = {"status": "skip", "note": str(exc)}
    except Exception as exc:  # recorded, not raised: the table shows every path
        traceback.print_exc()
        record = {"status": "fail", "note": f"{type(exc).__name__}: {exc}"[:300]}
    record["seconds"] = round(time.perf_counter() - started, 1)
    record["name"] = name
    (results_dir() / f"{name}.json").write_text(json.dumps(record, ensure_ascii=False, indent=1))
    print(json.dumps(record, ensure_ascii=False))
    sys.exit(0)


class SkipCheck(Exception):
    """A prerequisite (package, second GPU) is missing: reported as skip with the reason."""


def need(module: str, why: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise SkipCheck(f"{module} not installed ({why})")
