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


def test_summary_reads_the_typed_stage_metrics(tmp_path, capsys):
    """The closing summary reads each stage's metrics through langadapt.results, so a manifest without a
    metric its type requires is an error naming it, not a silently shorter summary."""
    from langadapt.config.load import recipe_from_dict
    from langadapt.pipeline.demo import print_summary
    from langadapt.results import ManifestError
    from langadapt.rundir import RunDir, StageRecord

    recipe = recipe_from_dict({"name": "t", "base_model": "tiny-random-llama", "languages": ["zh-Hant"],
                               "run_dir": str(tmp_path / "runs")})
    rundir = RunDir(recipe.run_path())
    tokenizer = {"method": "continued-bpe", "base_vocab_size": 100, "vocab_size": 160, "added_tokens": 60,
                 "init": "mean", "tokens_per_char_before": {"zh-Hant": 1.5}, "tokens_per_char_after": {"zh-Hant": 0.75}}
    evaluation = {"bpc": {"base": {"zh-Hant": 2.5}, "pretrain": {"zh-Hant": 2.25}},
                  "tasks": {"doc-qa": {"base": {"rougeL": 10.0}, "pretrain": {"rougeL": 20.0}}},
                  "heldout_bpc_by_source": {"base": {"news": 3.0}}, "heldout_sources": {"news": {"language": "zh-Hant"}}}
    export = {"version": "1", "source_model": "sft", "source_reason": "lowest held-out bits per character"}
    for stage, metrics, outputs in (("tokenizer", tokenizer, {}), ("eval", evaluation, {}),
                                    ("export", export, {"export": str(tmp_path / "model")})):
        rundir.stage_dir(stage).mkdir(parents=True)
        rundir.write_manifest(StageRecord(stage, "f", {}, {}, outputs, metrics))
    print_summary(recipe)
    out = capsys.readouterr().out
    assert "tokens per character (zh-Hant): 1.500 -> 0.750" in out
    assert "held-out news (zh-Hant): base 3.000" in out
    assert "UDHR zh-Hant: base 2.500, pretrain 2.250" in out
    assert "doc-qa rougeL: base 10.0, pretrain 20.0" in out
    assert "exported: sft (lowest held-out bits per character)" in out

    del evaluation["tasks"]
    rundir.write_manifest(StageRecord("eval", "f", {}, {}, {}, evaluation))
    with pytest.raises(ManifestError, match="'tasks'"):
        print_summary(recipe)
