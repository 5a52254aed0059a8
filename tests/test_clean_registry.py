"""Filters and normalisers are registries: one object registered in one place is a clean step like the shipped ones."""

from __future__ import annotations

import json

import pytest

from langadapt.config.clean import CleanConfig
from langadapt.config.corpus import CorpusSpec
from langadapt.config.load import RecipeError, recipe_from_dict
from langadapt.corpus import filters, normalize
from langadapt.corpus.filters import Filter, FilterContext
from langadapt.corpus.normalize import Normalizer
from langadapt.corpus.presets import PRESETS, steps_for
from langadapt.corpus.stage import clean_files
from langadapt.errors import UserError
from langadapt.languages import Preset

RECIPE = {"name": "t", "base_model": "m", "languages": ["zh-Hant"]}


class NoDigits(Filter):
    """Rejects any document with an ASCII digit, after `max_chars` says how much of it to look at."""

    name = "test_no_digits"
    reads = ("max_chars",)

    def __init__(self, limit: int):
        self.limit = limit

    @classmethod
    def build(cls, ctx: FilterContext) -> NoDigits:
        return cls(ctx.cfg.max_chars)

    def __call__(self, text: str):
        found = next((c for c in text[: self.limit] if c.isascii() and c.isdigit()), None)
        return True if found is None else (False, "has_digits", f"digit {found!r} in the text")


@pytest.fixture
def no_digits():
    filters.register(NoDigits)
    normalize.register(Normalizer("test_tilde", lambda text: text.replace("~", "")))
    yield NoDigits
    filters.unregister(NoDigits.name)
    normalize.unregister("test_tilde")


def test_registered_filter_rejects_with_its_own_reason(tmp_path, no_digits):
    rows = ["白日依山盡，黃河入海流。", "床前明月光，疑是地上霜。2024", "舉頭望明月~，低頭思故鄉。", "春眠不覺曉，處處聞啼鳥。7"]
    path = tmp_path / "poems.jsonl"
    path.write_text("".join(json.dumps({"text": r}, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    recipe = recipe_from_dict({**RECIPE, "clean": {"filters": ["length", "test_no_digits", "script"],
                                                   "normalizers": ["nfc", "test_tilde"], "heldout_fraction": 0.0}})
    out = tmp_path / "out"
    stats = clean_files([CorpusSpec(name="poems", path=str(path))], recipe.clean, out, languages=["zh-Hant"], progress=False)

    rejects = [json.loads(line) for line in (out / "rejects.jsonl").open(encoding="utf-8")]
    kept = [json.loads(line) for p in (out / "corpus").glob("*.jsonl") for line in p.open(encoding="utf-8")]
    assert {r["reason"] for r in rejects} == {"has_digits"} and len(rejects) == 2
    assert {r["step"] for r in rejects} == {"test_no_digits"} and "digit '2'" in rejects[0]["detail"]
    assert stats["documents_in"] == len(rows) == stats["documents_kept"] + stats["documents_rejected"]
    assert stats["invariant_ok"] and stats["rejects_by_reason"] == {"has_digits": 2}
    assert sorted(d["text"] for d in kept) == sorted(["白日依山盡，黃河入海流。", "舉頭望明月，低頭思故鄉。"])
    assert stats["steps"]["poems"] == ["nfc", "test_tilde", "length", "test_no_digits", "script"]


def test_config_names_come_from_the_registries(no_digits):
    assert CleanConfig(filters=["test_no_digits"], normalizers=["test_tilde"]).filters == ["test_no_digits"]
    with pytest.raises(RecipeError, match="did you mean test_no_digits"):
        recipe_from_dict({**RECIPE, "clean": {"filters": ["test_no_digit"]}})
    filters.unregister(NoDigits.name)
    with pytest.raises(RecipeError, match="clean.filters"):
        recipe_from_dict({**RECIPE, "clean": {"filters": ["test_no_digits"]}})


def test_every_preset_names_registered_steps():
    for preset in PRESETS.values():
        assert set(preset.normalizers) <= set(normalize.names()), preset.name
        assert set(preset.filters) <= set(filters.names()), preset.name
    odd = Preset("odd", ("nfc", "no_such_step"), ("length",))
    with pytest.raises(UserError, match="preset 'odd': unknown normaliser"):
        steps_for(odd, CleanConfig(), override=False)


def test_registering_a_name_twice_is_an_error():
    with pytest.raises(ValueError, match="already registered"):
        filters.register(type("Dup", (Filter,), {"name": "length"}))
    with pytest.raises(ValueError, match="already registered"):
        normalize.register(Normalizer("nfc", str))
