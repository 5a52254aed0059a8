"""Shared helpers of the training tests: a small mixed corpus and CLI runs in subprocesses."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

POEM_CHARS = "春花秋月何時了往事知多少小樓昨夜又東風故國不堪回首月明中雕欄玉砌應猶在只是朱顏改"


def write_corpus(folder: Path, n_target: int = 60, n_replay: int = 20, seed: int = 0) -> Path:
    """Cleaned-corpus-shaped shards: target-language lines and English replay text of mixed lengths."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "shard-000.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n_target):
            text = "，".join("".join(rng.choice(POEM_CHARS) for _ in range(7)) for _ in range(rng.randint(1, 12)))
            fh.write(json.dumps({"text": text, "id": f"t{i}", "source": "poems", "language": "zh-Hant",
                                 "role": "target", "meta": {}}, ensure_ascii=False) + "\n")
    with (folder / "shard-001.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(n_replay):
            text = " ".join(rng.choice(["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog."]) for _ in range(rng.randint(5, 80)))
            fh.write(json.dumps({"text": text, "id": f"e{i}", "source": "english", "language": "en",
                                 "role": "replay", "meta": {}}) + "\n")
    return folder


def env() -> dict:
    e = dict(os.environ)
    # One thread per process: results do not depend on how the shared cores are split.
    e.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return e


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "langadapt", *args]


def run(cmd: list[str], timeout: int = 240) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def step_losses(metrics: Path) -> dict[int, float]:
    rows = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["step"]: r["loss"] for r in rows if "loss" in r}


def huge_model(tiny_model_dir, folder):
    """The tiny model's files under Llama-3.1-405B's shape: ~1.6 TB in fp32, more than any machine these tests run on."""
    shutil.copytree(tiny_model_dir, folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg.update(hidden_size=16384, intermediate_size=53248, num_hidden_layers=126, num_attention_heads=128,
               num_key_value_heads=8, head_dim=128)
    (folder / "config.json").write_text(json.dumps(cfg))
    return folder
