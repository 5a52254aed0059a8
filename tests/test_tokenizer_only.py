"""Tokenizer-only extension: vocabulary-only GGUFs never build a model, the memory guard stops first,
and `--out` never replaces a folder that is not this command's own output."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from _train_helpers import huge_model, write_corpus
from _vocab_gguf import write_vocab_gguf

NEW = 40


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"), n_target=200, n_replay=5)


@pytest.fixture(scope="module")
def vocab_gguf(tiny_model_dir, tmp_path_factory):
    # Llama-2-7B's hyperparameters and no tensors: building its model would take ~27 GB in fp32.
    return write_vocab_gguf(tiny_model_dir, tmp_path_factory.mktemp("gguf") / "ggml-vocab-test.gguf")


def _extend(*args: str) -> int:
    from langadapt.cli.main import main

    return main(["tokenizer", "extend", "--new-tokens", str(NEW), "--min-frequency", "2", *args])


def test_vocab_only_gguf_is_extended_tokenizer_only(vocab_gguf, corpus, tmp_path, capsys):
    import resource

    from transformers import AutoTokenizer

    from langadapt.tokenizer.tokenizer_only import has_weights

    assert not has_weights(vocab_gguf)
    out = tmp_path / "tok"
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code = _extend("--model", str(vocab_gguf), "--corpus", str(corpus), "--out", str(out),
                   "--heldout", f"zh-Hant={corpus / 'shard-000.jsonl'}")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "has no weights" in captured.out and "tokenizer only" in captured.out
    # Peak memory grew by far less than one layer of the 7B model would take (~800 MB in fp32).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 700_000
    folder = out / "model"
    info = json.loads((folder / "langadapt_extension.json").read_text())
    assert info["tokenizer_only"] is True and info["init"] is None
    assert info["new_token_ids"] == [49152, 49152 + NEW] and info["padded_vocab_size"] % 64 == 0
    assert not list(folder.glob("*.safetensors")) and not (folder / "config.json").exists()
    tok = AutoTokenizer.from_pretrained(folder)
    assert len(tok) == 49152 + NEW
    report = json.loads((out / "report.json").read_text())["tokenizers"]
    assert report["extended"]["languages"]["zh-Hant"]["tokens_per_char"] < report["base"]["languages"]["zh-Hant"]["tokens_per_char"]
    assert json.loads((out / "langadapt_output.json").read_text())["command"] == "tokenizer extend"


def test_tokenizer_only_matches_the_full_extension(tiny_model_dir, corpus, tmp_path, capsys):
    assert _extend("--model", str(tiny_model_dir), "--corpus", str(corpus), "--out", str(tmp_path / "full"),
                   "--report-chars", "0") == 0
    assert _extend("--model", str(tiny_model_dir), "--corpus", str(corpus), "--out", str(tmp_path / "only"),
                   "--tokenizer-only") == 0
    assert "has no weights" not in capsys.readouterr().out  # chosen, not inferred
    full, only = tmp_path / "full" / "model", tmp_path / "only" / "model"
    assert (full / "model.safetensors").is_file() and not (only / "model.safetensors").exists()
    assert json.loads((full / "tokenizer.json").read_text()) == json.loads((only / "tokenizer.json").read_text())
    a, b = (json.loads((f / "langadapt_extension.json").read_text()) for f in (full, only))
    assert a["new_token_ids"] == b["new_token_ids"] and a["padded_vocab_size"] == b["padded_vocab_size"]


def test_memory_guard_stops_before_building_a_model_too_big(tiny_model_dir, corpus, tmp_path, capsys):
    big = huge_model(tiny_model_dir, tmp_path / "huge-model")
    code = _extend("--model", str(big), "--corpus", str(corpus), "--out", str(tmp_path / "o"))
    err = capsys.readouterr().err
    assert code == 2
    assert "needs about" in err and "GB of memory" in err and "--tokenizer-only" in err, err
    gb = float(err.split("needs about ")[1].split(" GB")[0])
    assert 1400 < gb < 1700
    assert not (tmp_path / "o" / "model").exists()


def test_out_refuses_foreign_folders_and_the_input(tiny_model_dir, corpus, tmp_path, capsys):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    args = ["--model", str(tiny_model_dir), "--corpus", str(corpus), "--tokenizer-only"]
    assert _extend(*args, "--out", str(out)) == 2
    assert "--overwrite" in capsys.readouterr().err and (out / "notes.txt").read_text() == "keep me"
    assert _extend(*args, "--out", str(out), "--overwrite") == 0
    assert _extend(*args, "--out", str(out)) == 0  # its own earlier output: replaced without asking
    capsys.readouterr()

    model = tmp_path / "base"
    shutil.copytree(tiny_model_dir, model)
    for target in (model, tmp_path):  # the input's own folder, or one that holds it
        assert _extend("--model", str(model), "--corpus", str(corpus), "--out", str(target), "--overwrite") == 2
        assert "would destroy the input" in capsys.readouterr().err
    assert (model / "model.safetensors").is_file()


def test_guard_output_units(tmp_path):
    from langadapt.errors import UserError
    from langadapt.outdir import guard_output, mark_output

    assert guard_output(tmp_path / "new", "export") == (tmp_path / "new").resolve()
    (tmp_path / "empty").mkdir()
    guard_output(tmp_path / "empty", "export")
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        guard_output(tmp_path / "file", "export")
    other = tmp_path / "other"
    other.mkdir()
    mark_output(other, "tokenizer extend")
    with pytest.raises(UserError, match="output of `langadapt tokenizer extend`"):
        guard_output(other, "export")
    guard_output(other, "tokenizer extend")


def test_stage_on_a_vocab_only_base(vocab_gguf, corpus, tmp_path):
    from langadapt.config.load import recipe_from_dict
    from langadapt.rundir import RunDir
    from langadapt.stages import StageContext, stage

    recipe = recipe_from_dict({"name": "t", "base_model": str(vocab_gguf), "languages": ["zh-Hant"],
                               "run_dir": str(tmp_path), "tokenizer": {"new_tokens": NEW}})
    ctx = StageContext(recipe, tmp_path / "t" / "tokenizer", RunDir(tmp_path / "t"),
                       {"clean.corpus": str(corpus), "clean.heldout": str(corpus / "shard-000.jsonl")})
    ctx.out_dir.mkdir(parents=True)
    result = stage("tokenizer").run(ctx)
    assert result.metrics.extra["tokenizer_only"] is True and result.metrics.added_tokens == NEW
    assert result.metrics.bpc_before is None and "bpc_before" not in result.metrics.extra
    assert not list(Path(result.outputs["model"]).glob("*.safetensors"))


def test_sentencepiece_vocab_gguf_gets_an_extended_tokenizer_model(corpus, tmp_path, capsys):
    """The Llama-2 case (ggml-vocab-llama-spm.gguf): tokenizer.json and tokenizer.model both extended."""
    import sentencepiece as spm
    from transformers import AutoTokenizer

    from _vocab_gguf import write_spm_vocab_gguf
    from langadapt.tokenizer.texts import iter_texts

    lines = list(iter_texts([corpus]))
    gguf_file = write_spm_vocab_gguf(lines[:150], tmp_path / "ggml-vocab-spm-test.gguf")
    out = tmp_path / "tok"
    assert _extend("--model", str(gguf_file), "--corpus", str(corpus), "--out", str(out)) == 0
    assert "has no weights" in capsys.readouterr().out
    folder = out / "model"
    info = json.loads((folder / "langadapt_extension.json").read_text())
    assert info["sentencepiece_model"] is True and info["new_token_ids"] == [400, 400 + NEW]
    tok = AutoTokenizer.from_pretrained(folder)
    sp = spm.SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))
    assert len(tok) == sp.get_piece_size() == 400 + NEW
    for text in lines[150:170]:
        ids = tok(text, add_special_tokens=False).input_ids
        assert tok.decode(ids) == text and sp.decode(sp.encode(text)) == text
    used = {i for text in lines[150:170] for i in tok(text, add_special_tokens=False).input_ids}
    assert used & set(range(400, 400 + NEW))
