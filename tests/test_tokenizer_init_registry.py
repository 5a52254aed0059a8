"""An init method is one registered object: registering one here makes it a recipe value, the
`--init` choice `langadapt tokenizer extend` runs, and a name the init benchmark accepts."""

from __future__ import annotations

import importlib.util
import json
from itertools import islice
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from langadapt.config.tokenizer import TokenizerConfig
from langadapt.tokenizer import inits
from langadapt.tokenizer.embeddings import decompositions
from langadapt.tokenizer.texts import iter_texts

BENCH = Path(__file__).parents[1] / "bench" / "bench_init_extension.py"


class FirstToken(inits.InitMethod):
    """Each new row copies the row of its spelling's first base token; the "fit" only counts the
    training text it was handed, so the test sees that the extension sampled text for it and passed
    on the settings the init took from the recipe."""

    name = "first-token"
    needs_text = True

    def rows(self, matrix, new):
        return torch.stack([matrix[ids[0]].float() if ids else matrix.float().mean(0) for ids in new.decomp])

    def fit_settings(self, cfg):
        return {"limit": cfg.calibration_chars}

    def fit(self, model, decomp, first_id, **inputs):
        return {"texts_seen": len(inputs["texts"]), "limit": inputs["limit"]}


@pytest.fixture
def first_token():
    method = inits.register(FirstToken())
    yield method
    inits.unregister(method.name)


def test_an_unregistered_init_is_refused():
    with pytest.raises(ValidationError, match="'mean'"):
        TokenizerConfig(init="first-token")


def test_registered_init_is_a_recipe_value_and_runs_in_tokenizer_extend(first_token, tiny_model_dir, tmp_path, capsys):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from langadapt.cli.main import main
    from langadapt.data.fetch import fetch
    from langadapt.tokenizer.pieces import TokenizerJson

    assert TokenizerConfig(init="first-token").init == "first-token"
    texts = list(islice(iter_texts([fetch("chinese-poetry") / "tang.jsonl"]), 330))
    for name, part in (("corpus.jsonl", texts[:300]), ("heldout.jsonl", texts[300:])):
        (tmp_path / name).write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in part),
                                     encoding="utf-8")
    out = tmp_path / "tok"
    code = main(["tokenizer", "extend", "--model", str(tiny_model_dir), "--corpus", str(tmp_path / "corpus.jsonl"),
                 "--new-tokens", "60", "--init", "first-token", "--calibration-chars", "3000", "--out", str(out),
                 "--heldout", f"zh-Hant={tmp_path / 'heldout.jsonl'}", "--report-chars", "200"])
    assert code == 0, capsys.readouterr()

    info = json.loads((out / "model" / "langadapt_extension.json").read_text(encoding="utf-8"))
    assert info["init"] == "first-token"
    assert info["calibration"]["texts_seen"] > 0 and info["calibration"]["limit"] == 3000
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert "extended (first-token init)" in json.dumps(report)

    # The saved rows are the init's own: each new piece starts as its first base token.
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32).get_input_embeddings().weight
    model = AutoModelForCausalLM.from_pretrained(out / "model", dtype=torch.float32)
    first, end = info["new_token_ids"]
    extended = AutoTokenizer.from_pretrained(out / "model")
    pieces = extended.convert_ids_to_tokens(list(range(first, end)))
    decomp = decompositions(TokenizerJson.from_tokenizer(AutoTokenizer.from_pretrained(tiny_model_dir)), pieces)
    want = torch.stack([base[ids[0]] for ids in decomp])
    assert torch.allclose(model.get_input_embeddings().weight[first:end], want)


def test_registered_init_is_a_benchmark_choice(first_token):
    spec = importlib.util.spec_from_file_location("bench_init_extension", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    parser = bench.build_parser()
    assert parser.parse_args(["--inits", "mean,first-token"]).inits == ["mean", "first-token"]
    assert "first-token" in bench.choices()
    inits.unregister(first_token.name)
    with pytest.raises(SystemExit):
        parser.parse_args(["--inits", "first-token"])
