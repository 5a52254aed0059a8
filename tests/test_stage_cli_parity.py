"""`langadapt clean` and `langadapt tokenizer extend` run the pipeline's own stage code.

The same inputs through `langadapt run` (clean + tokenizer) and through the two commands, by
--recipe and by flags alone, give byte-identical cleaned corpora, held-out sets and rejects
ledgers, a byte-identical extended tokenizer.json and the same langadapt_extension.json (but for
the seconds learning took). The tiny random Llama with the real SmolLM2 tokenizer; nothing of
ours is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from _train_helpers import write_corpus
from langadapt.cli.main import main
from langadapt.config.load import load_recipe, recipe_from_dict
from langadapt.pipeline.run import run_recipe
from langadapt.rundir import RunDir
from langadapt.stages import StageContext, stage

NEW = 40
CLEAN = {"heldout_fraction": 0.1, "workers": 1}
TOKENIZER = {"new_tokens": NEW, "min_frequency": 2, "report_chars": 200}


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _cleaned(out: Path) -> dict[str, bytes]:
    """What a clean run keeps and rejects (stats.json and the report hold timings, so they are left out)."""
    found = {f"corpus/{k}": v for k, v in _files(out / "corpus").items()}
    found |= {name: (out / name).read_bytes() for name in ("heldout.jsonl", "rejects.jsonl")}
    return found


def _extension(folder: Path) -> dict:
    """langadapt_extension.json but for the time learning took (`stats.seconds`), the one figure that differs."""
    info = json.loads((folder / "langadapt_extension.json").read_text(encoding="utf-8"))
    assert isinstance(info["stats"].pop("seconds"), float)
    return info


@pytest.fixture(scope="module")
def pipeline(tiny_model_dir, tmp_path_factory):
    """A recipe file beside its raw corpus (relative paths), run by `langadapt run` through clean and tokenizer."""
    root = tmp_path_factory.mktemp("parity")
    write_corpus(root / "raw", n_target=200, n_replay=20)
    # Exact duplicates, so the rejects ledger has entries to compare.
    with (root / "raw" / "shard-000.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"text": "春花秋月何時了，往事知多少。"}, ensure_ascii=False) + "\n")
        fh.write(json.dumps({"text": "春花秋月何時了，往事知多少。"}, ensure_ascii=False) + "\n")
    recipe_file = root / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump({
        "name": "t", "base_model": str(tiny_model_dir), "languages": ["zh-Hant"], "run_dir": str(root / "runs"),
        "corpora": [{"name": "poems", "path": "raw/shard-000.jsonl", "language": "zh-Hant"},
                    {"name": "english", "path": "raw/shard-001.jsonl", "language": "en", "role": "replay"}],
        "clean": CLEAN, "tokenizer": TOKENIZER,
        "pretrain": {"enabled": False}, "sft": {"enabled": False}, "eval": {"enabled": False},
        "export": {"enabled": False},
    }, allow_unicode=True), encoding="utf-8")
    artifacts = run_recipe(load_recipe(recipe_file))
    assert {"clean.corpus", "clean.heldout", "tokenizer.model"} <= set(artifacts), artifacts
    return recipe_file, RunDir(root / "runs" / "t")


def test_clean_command_equals_the_pipeline_clean_stage(pipeline, tmp_path, monkeypatch, capsys):
    recipe_file, rundir = pipeline
    expected = _cleaned(rundir.stage_dir("clean"))
    assert any(k.startswith("corpus/") for k in expected) and expected["rejects.jsonl"]
    monkeypatch.chdir(tmp_path)  # the recipe's corpora resolve against its folder, not the working directory
    out = tmp_path / "cli-clean"
    assert main(["clean", "--recipe", str(recipe_file), "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "(ok)" in printed and "kept " in printed and "exact_duplicate" in printed and f"wrote {out}/" in printed
    assert _cleaned(out) == expected
    manifest = rundir.manifest("clean")["metrics"]
    stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
    for key in ("documents_in", "documents_kept", "documents_rejected", "rejects_by_reason", "heldout_documents"):
        assert stats[key] == manifest[key], key


def test_clean_flags_equal_the_stage_on_the_same_recipe(pipeline, tiny_model_dir, tmp_path, monkeypatch, capsys):
    """Flags alone (INPUT, --language, clean flags, key=value) describe the recipe the stage gets."""
    recipe_file, _ = pipeline
    raw = recipe_file.parent / "raw" / "shard-000.jsonl"
    recipe = recipe_from_dict({"name": "flags", "base_model": "none", "languages": ["zh-Hant"],
                               "corpora": [{"name": "poems", "path": str(raw), "language": "zh-Hant"}],
                               "clean": {**CLEAN, "tokenizer": str(tiny_model_dir), "dedup": {"threshold": 0.9}}})
    by_stage = tmp_path / "stage"
    stage("clean").run(StageContext(recipe, by_stage, RunDir(tmp_path / "runs" / "flags"), progress=False))
    monkeypatch.chdir(raw.parent)  # INPUTs resolve against the working directory
    by_cli = tmp_path / "cli"
    assert main(["clean", f"poems={raw.name}", "--out", str(by_cli), "--language", "zh-Hant", "--no-progress",
                 "--heldout-fraction", "0.1", "--workers", "1", "--tokenizer", str(tiny_model_dir),
                 "clean.dedup.threshold=0.9"]) == 0
    assert "note: no tokenizer" not in capsys.readouterr().out
    assert _cleaned(by_cli) == _cleaned(by_stage)


def test_clean_without_a_tokenizer_says_the_cutoff_is_off(pipeline, tmp_path, capsys):
    raw = pipeline[0].parent / "raw" / "shard-001.jsonl"
    assert main(["clean", str(raw), "--out", str(tmp_path / "o"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "note: no tokenizer given (--tokenizer or --recipe), so the 4096-token cutoff is off" in out
    assert json.loads((tmp_path / "o" / "stats.json").read_text(encoding="utf-8"))["tokenizer"] is None


@pytest.mark.parametrize("by", ["flags", "recipe"])
def test_tokenizer_extend_equals_the_pipeline_tokenizer_stage(by, pipeline, tiny_model_dir, tmp_path, capsys):
    recipe_file, rundir = pipeline
    expected = Path(rundir.manifest("tokenizer")["outputs"]["model"])
    corpus, heldout = rundir.stage_dir("clean") / "corpus", rundir.stage_dir("clean") / "heldout.jsonl"
    out = tmp_path / "tok"
    if by == "flags":
        args = ["--model", str(tiny_model_dir), "--new-tokens", str(NEW), "--min-frequency", "2", "--report-chars", "200"]
    else:
        args = ["--recipe", str(recipe_file)]
    assert main(["tokenizer", "extend", *args, "--corpus", str(corpus), "--heldout", f"zh-Hant={heldout}",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"extended {tiny_model_dir}: 49152 -> {49152 + NEW} tokens ({NEW} new, padded to" in printed
    assert "zh-Hant: tokens/char" in printed and "bits/char" in printed and f"model: {out / 'model'}" in printed
    got = out / "model"
    assert (got / "tokenizer.json").read_bytes() == (expected / "tokenizer.json").read_bytes()
    assert _extension(got) == _extension(expected)
    assert json.loads((out / "langadapt_output.json").read_text())["command"] == "tokenizer extend"
    assert (got / "model.safetensors").is_file()
