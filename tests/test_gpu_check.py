"""bench/gpu_check.sh without a GPU: the dry run lists every GPU path with its command and time
limit, the files it names exist and compile, a check run here records `skip` (no CUDA) instead of
failing, and the results table reads what the checks write.

    .venv/bin/pytest tests/test_gpu_check.py -x -q
"""

from __future__ import annotations

import json
import os
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "gpu_check.sh"
EXPECTED = ["train_full", "train_lora", "train_qlora", "flash_packed", "load_8bit", "load_4bit", "fsdp_1proc",
            "vllm_serve"]


def test_dry_run_lists_every_gpu_path_within_eight_minutes():
    proc = subprocess.run(["bash", str(SCRIPT), "--dry-run"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith("  ")]
    assert [r[0] for r in rows] == EXPECTED
    limits = [int(r[1].rstrip("s")) for r in rows]
    budget = int(proc.stdout.split("no check starts after ")[1].split("s")[0])
    # A check starts only when its whole limit fits the budget, and is killed 10 s after its limit at
    # worst, so the run ends within budget + 10 s: under 8 minutes.
    assert budget + 10 < 480 and all(0 < limit <= budget for limit in limits)
    assert "--config_file configs/accelerate/fsdp.yaml --num_processes 1" in proc.stdout


def test_every_check_file_compiles():
    files = sorted((ROOT / "bench" / "gpu").glob("*.py"))
    assert {f.stem for f in files} >= {"common", "train_check", "flash_packed", "quant_load", "vllm_serve", "table"}
    for f in files:
        py_compile.compile(str(f), doraise=True)


def test_wrong_argument_is_refused():
    proc = subprocess.run(["bash", str(SCRIPT), "--bogus"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "usage: bench/gpu_check.sh [--dry-run]" in proc.stderr


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a GPU is present: the check would run for real")
def test_check_without_cuda_records_skip_and_table_shows_it(tmp_path):
    env = {**os.environ, "GPU_CHECK_RESULTS": str(tmp_path), "PYTHONPATH": str(ROOT / "bench" / "gpu")}
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu" / "flash_packed.py")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "flash_packed.json").read_text())
    assert record["status"] == "skip" and record["note"] == "no CUDA device"
    (tmp_path / "train_full.json").write_text(json.dumps({"name": "train_full", "status": "fail", "seconds": 3.0,
                                                          "note": "RuntimeError: x|y"}))
    table = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu" / "table.py"), str(tmp_path)],
                           capture_output=True, text=True, timeout=60)
    lines = table.stdout.splitlines()
    assert lines[2].startswith("| train_full | fail | 3.0 |") and "RuntimeError: x/y" in lines[2]
    assert lines[3].startswith("| flash_packed | skip |")
    assert table.returncode == 1  # a failed check fails the script
    whole = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "GPU_CHECK_RESULTS": str(tmp_path / "all")})
    assert whole.returncode == 2 and "needs a CUDA GPU" in whole.stderr
