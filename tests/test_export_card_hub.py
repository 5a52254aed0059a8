"""Card front matter the Hub reads correctly: ISO 639 `language`, Hub-id `base_model` (the upstream
run's base for chained recipes, with the chain in the text), `base_model_relation`, Hub-only `datasets`.

    .venv/bin/pytest tests/test_export_card_hub.py -x -q
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from langadapt.config import recipe_from_dict
from langadapt.export.card import CardInputs, render
from langadapt.export.card_hub import base_lineage, base_relation, hub_dataset_ids, hub_languages, is_hub_id


def split_card(text: str) -> tuple[dict, str]:
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end]), text[end + 5:]


def test_languages_are_iso_639_with_script_and_region_kept_as_tags():
    got = hub_languages(["zh-Hant", "zh-TW", "bo", "dz", "th", "en"])
    assert got.codes == ["zh", "bo", "dz", "th", "en"]
    assert got.tags == ["zh-hant", "zh-tw"]
    assert got.described[:4] == ["zh-Hant (Chinese, Traditional script)", "zh-TW (Chinese, region TW)",
                                 "bo (Tibetan)", "dz (Dzongkha)"]
    assert hub_languages(["zh_Hant_TW"]).described == ["zh_Hant_TW (Chinese, Traditional script, region TW)"]
    odd = hub_languages(["Classical-Chinese", "bo"])  # no ISO 639 code: kept out of `language:`, named in text
    assert odd.codes == ["bo"] and odd.described == ["Classical-Chinese", "bo (Tibetan)"]


def test_hub_ids_and_datasets(tmp_path):
    assert is_hub_id("meta-llama/Llama-2-7b-hf") and not is_hub_id("runs/x/export/model/more")
    (tmp_path / "local").mkdir()
    assert not is_hub_id(str(tmp_path / "local")) and not is_hub_id("./a/b") and not is_hub_id(None)
    recipe = recipe_from_dict({"name": "r", "base_model": "some/model", "languages": ["th"], "corpora": [
        {"name": "wiki", "hf_dataset": "wikimedia/wikipedia", "language": "th"},
        {"name": "poems", "fetch": "chinese-poetry", "language": "th"},
        {"name": "mine", "path": str(tmp_path / "local"), "language": "th"}]})
    sft = [{"hf_dataset": "databricks/databricks-dolly-15k"}, {"builtin": "poem-tasks"}, {"hf_dataset": "./data/x"}]
    assert hub_dataset_ids(recipe.corpora, sft) == ["wikimedia/wikipedia", "databricks/databricks-dolly-15k"]


def test_relation():
    assert base_relation("peft-adapter", trained=True) == "adapter"
    assert base_relation("safetensors", trained=True) == "finetune"
    assert base_relation("safetensors", trained=False, quantized=True) == "quantized"


def _upstream_export(root: Path, base: str) -> Path:
    """What `langadapt export` leaves for the first recipe of a chain: a card and langadapt_export.json."""
    folder = root / "runs" / "tibetan-llama2-7b" / "export" / "model"
    folder.mkdir(parents=True)
    (folder / "langadapt_export.json").write_text(json.dumps({"base_model": base, "version": "2026.12.02"}))
    text = render(CardInputs(name="tibetan-llama2-7b", base_model=base, base_model_id=base, languages=["bo"],
                             manifests={"pretrain": {"metrics": {"method": "lora"}}}, folder=folder))
    (folder / "README.md").write_text(text, encoding="utf-8")
    return folder


def test_chained_base_names_the_upstream_hub_model_and_the_chain(tmp_path):
    upstream = _upstream_export(tmp_path, "meta-llama/Llama-2-7b-hf")
    meta, _ = split_card((upstream / "README.md").read_text(encoding="utf-8"))
    assert meta["base_model"] == "meta-llama/Llama-2-7b-hf" and meta["base_model_relation"] == "finetune"
    assert meta["language"] == ["bo", "en"]  # base_language defaults to en

    lineage = base_lineage(str(upstream), None)
    assert lineage.hub_id == "meta-llama/Llama-2-7b-hf"
    assert [step["name"] for step in lineage.chain] == ["tibetan-llama2-7b"]

    recipe = recipe_from_dict({"name": "tibetan-alpaca-7b", "base_model": str(upstream), "languages": ["bo"],
                               "corpora": [{"name": "udhr-bo", "fetch": "udhr", "path": "bo.jsonl", "language": "bo"}]})
    out = tmp_path / "alpaca"
    out.mkdir()
    text = render(CardInputs(name=recipe.name, base_model=recipe.base_model, languages=recipe.languages,
                             base_language="en", corpora=list(recipe.corpora), folder=out,
                             export={"format": "peft-adapter"},
                             manifests={"sft": {"metrics": {"method": "lora"}, "config": {"sft": {"datasets": [
                                 {"builtin": "dz-continuation"}, {"hf_dataset": "Yeerchiu/tibetan-alpaca"}]}}}}))
    meta, body = split_card(text)
    assert meta["base_model"] == "meta-llama/Llama-2-7b-hf"
    assert meta["base_model_relation"] == "adapter" and meta["library_name"] == "peft"
    assert meta["datasets"] == ["Yeerchiu/tibetan-alpaca"]
    assert meta["language"] == ["bo", "en"]
    assert str(upstream) not in yaml.safe_dump(meta)
    assert "### Lineage" in body and f"- `{upstream}` (tibetan-llama2-7b), built from `meta-llama/Llama-2-7b-hf`" in body
    assert "**Hub base model:** meta-llama/Llama-2-7b-hf" in body
    assert "`langadapt data fetch udhr`" in body  # the non-Hub corpus stays in the text


def test_chain_without_a_hub_model_leaves_base_model_out(tmp_path):
    upstream = _upstream_export(tmp_path, str(tmp_path / "nowhere"))
    text = render(CardInputs(name="next", base_model=str(upstream), manifests={}, folder=tmp_path))
    meta, body = split_card(text)
    assert "base_model" not in meta and "base_model_relation" not in meta
    assert "No model in this chain is on the Hugging Face Hub" in body


def test_fetched_corpus_cites_package_version_and_license(tmp_path, monkeypatch):
    monkeypatch.setenv("LANGADAPT_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "cache" / "data" / "chinese-poetry"
    source.mkdir(parents=True)
    (source / "source.json").write_text(json.dumps({"name": "chinese-poetry", "package": "chinese-poetry",
                                                    "version": "2.0.1", "license": "MIT"}))
    recipe = recipe_from_dict({"name": "r", "base_model": "HuggingFaceTB/SmolLM2-135M", "languages": ["zh-Hant"],
                               "corpora": [{"name": "poems", "fetch": "chinese-poetry", "language": "zh-Hant"}]})
    text = render(CardInputs(name="r", base_model=recipe.base_model, base_model_id=recipe.base_model,
                             languages=recipe.languages, corpora=list(recipe.corpora), manifests={}, folder=tmp_path))
    meta, body = split_card(text)
    assert "datasets" not in meta and meta["base_model"] == "HuggingFaceTB/SmolLM2-135M"
    row = next(line for line in body.splitlines() if line.startswith("| poems |"))
    assert "`langadapt data fetch chinese-poetry` (package chinese-poetry 2.0.1)" in row and "| MIT |" in row
