"""The quick demo end to end: the same pipeline as `make demo` on smaller slices and budgets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

STAGES = ["clean", "tokenizer", "pretrain", "sft", "eval", "export"]


@pytest.mark.integration
@pytest.mark.slow
def test_quick_demo_runs_every_stage_and_reports(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "langadapt", "demo", "--quick", "--run-dir", str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=1500, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = tmp_path / "runs" / "demo-zh-tw-quick"
    manifests = {s: json.loads((run / s / "manifest.json").read_text(encoding="utf-8")) for s in STAGES}
    assert all(m["status"] == "complete" for m in manifests.values())

    clean = manifests["clean"]["metrics"]
    assert clean["documents_in"] == clean["documents_kept"] + clean["documents_rejected"]

    tok = manifests["tokenizer"]["metrics"]
    assert tok["tokens_per_char_after"]["zh-Hant"] < 0.8 * tok["tokens_per_char_before"]["zh-Hant"]

    bpc = manifests["eval"]["metrics"]["bpc_by_task"]
    assert set(bpc["heldout-bpc"]) >= {"base", "sft"} and "en" in bpc["udhr-bpc"]["base"]

    export = Path(manifests["export"]["outputs"]["export"])
    card = (export / "README.md").read_text(encoding="utf-8")
    assert "base_model" in card and f"{clean['documents_kept']:,}" in card
    report = (run / "report.md").read_text(encoding="utf-8")
    assert "Bits per character" in report and "Tokenizer extension" in report
    assert (run / "report.html").is_file()
    assert f"langadapt chat {export}" in proc.stdout.replace("\n", " ") or "langadapt chat" in proc.stdout

    # A second run skips every finished stage.
    again = subprocess.run([sys.executable, "-m", "langadapt", "demo", "--quick", "--run-dir", str(tmp_path / "runs")],
                           capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    for stage in STAGES:
        assert f"✓ {stage} skipped" in again.stdout
