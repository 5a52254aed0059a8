"""The tokenizer stage and CLI end to end on the tiny random Llama: artifacts, metrics, reload."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path

import pytest

from langadapt.tokenizer.texts import iter_texts


@pytest.fixture(scope="module")
def poem_files(tmp_path_factory):
    from langadapt.data.fetch import fetch

    texts = list(islice(iter_texts([fetch("chinese-poetry") / "tang.jsonl"]), 440))
    root = tmp_path_factory.mktemp("poems")
    # Shards in a subfolder, as the clean stage may write them.
    (root / "corpus" / "zh").mkdir(parents=True)
    with open(root / "corpus" / "zh" / "part-00000.jsonl", "w", encoding="utf-8") as fh:
        for t in texts[:400]:
            fh.write(json.dumps({"text": t, "meta": {"language": "zh-Hant"}}, ensure_ascii=False) + "\n")
    with open(root / "heldout.jsonl", "w", encoding="utf-8") as fh:
        for t in texts[400:]:
            fh.write(json.dumps({"text": t, "meta": {"language": "zh-Hant"}}, ensure_ascii=False) + "\n")
    return root


def _check_model_folder(folder: Path, base_len: int, new: int) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    info = json.loads((folder / "langadapt_extension.json").read_text())
    assert info["base_vocab_size"] == base_len
    assert info["new_token_ids"] == [base_len, base_len + new]
    assert info["padded_vocab_size"] % 64 == 0 and info["padded_vocab_size"] >= base_len + new
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert len(tok) == base_len + new
    assert model.get_input_embeddings().weight.shape[0] == info["padded_vocab_size"]
    assert (folder / "model.safetensors").exists() and not list(folder.glob("*.bin"))


def test_cli_extend_and_report(tiny_model_dir, poem_files, tmp_path, capsys):
    from langadapt.cli.main import main

    out = tmp_path / "tok"
    code = main(["tokenizer", "extend", "--model", str(tiny_model_dir), "--corpus", str(poem_files / "corpus"),
                 "--new-tokens", "120", "--out", str(out), "--heldout", f"zh-Hant={poem_files / 'heldout.jsonl'}",
                 "--report-chars", "200"])
    assert code == 0
    text = capsys.readouterr().out
    assert "tokens/char" in text and "bits/char" in text
    _check_model_folder(out / "model", 49152, 120)
    report = json.loads((out / "report.json").read_text())
    langs = report["tokenizers"]["extended"]["languages"]
    assert langs["zh-Hant"]["tokens_per_char"] < report["tokenizers"]["base"]["languages"]["zh-Hant"]["tokens_per_char"]
    assert 0 < langs["zh-Hant"]["new_pieces_used"] <= 120
    assert (out / "tokens_per_char.png").stat().st_size > 1000

    code = main(["tokenizer", "report", str(tiny_model_dir), str(out / "model"),
                 "--text", f"zh-Hant={poem_files / 'heldout.jsonl'}", "--out", str(tmp_path / "rep")])
    assert code == 0
    assert "new pieces used" in capsys.readouterr().out
    assert (tmp_path / "rep" / "tokens_per_char.png").exists()


def test_cli_bad_input_is_a_user_error(tiny_model_dir, tmp_path, capsys):
    from langadapt.cli.main import main

    code = main(["tokenizer", "extend", "--model", str(tiny_model_dir), "--corpus", str(tmp_path / "missing"),
                 "--out", str(tmp_path / "o")])
    assert code == 2 and "no such file" in capsys.readouterr().err
    code = main(["tokenizer", "report", str(tiny_model_dir), "--text", "nolang"])
    assert code == 2


def test_stage_run(tiny_model_dir, poem_files, tmp_path):
    from langadapt.config.load import recipe_from_dict
    from langadapt.rundir import RunDir
    from langadapt.stages import StageContext, stage

    recipe = recipe_from_dict({"name": "t", "base_model": str(tiny_model_dir), "languages": ["zh-Hant"],
                               "run_dir": str(tmp_path), "tokenizer": {"new_tokens": 100, "report_chars": 200}})
    ctx = StageContext(recipe, tmp_path / "t" / "tokenizer", RunDir(tmp_path / "t"),
                       {"clean.corpus": str(poem_files / "corpus"), "clean.heldout": str(poem_files / "heldout.jsonl")})
    ctx.out_dir.mkdir(parents=True)
    result = stage("tokenizer").run(ctx)
    assert set(result.outputs) >= {"model", "report", "chart"}
    _check_model_folder(Path(result.outputs["model"]), 49152, 100)
    m = result.metrics.to_dict()  # as the manifest stores it
    assert m["base_vocab_size"] == 49152 and m["vocab_size"] == 49252 and m["added_tokens"] == 100
    assert m["init"] == "mean" and m["method"] == "continued-bpe"
    assert m["tokens_per_char_after"]["zh-Hant"] < m["tokens_per_char_before"]["zh-Hant"]
    assert m["bpc_before"]["zh-Hant"] > 0 and m["bpc_after_init"]["zh-Hant"] > 0
