"""ROUGE-L and chrF on Chinese, Tibetan, Thai and English, checked against values worked out by hand."""

from __future__ import annotations

import pytest

from langadapt.eval.chrf import chrf, corpus_chrf
from langadapt.eval.rouge import lcs_length, rouge_l, rouge_l_scores
from langadapt.eval.units import thai_segmenter_available, units


def test_units_chinese_are_characters_without_punctuation():
    assert units("人人生而自由，在尊嚴。") == ["人", "人", "生", "而", "自", "由", "在", "尊", "嚴"]


def test_units_tibetan_split_at_tsheg_and_shad():
    assert units("བོད་ཀྱི་སྐད་ཡིག། ཡག་པོ༌འདུག") == ["བོད", "ཀྱི", "སྐད", "ཡིག", "ཡག", "པོ", "འདུག"]


def test_units_mixed_script_and_case():
    assert units("用 PyTorch 訓練, Model!") == ["用", "pytorch", "訓", "練", "model"]


def test_units_thai_never_empty():
    got = units("มนุษย์ทั้งหลายเกิดมา")
    assert got and "".join(got) == "มนุษย์ทั้งหลายเกิดมา"
    if not thai_segmenter_available():
        assert got[:3] == ["ม", "นุ", "ษ"]  # marks stay on their base letter


def test_rouge_l_chinese_hand_computed():
    # pred 人人生而自由 (6 units), ref 人生而平等 (5 units); LCS 人生而 = 3.
    s = rouge_l_scores("人人生而自由", "人生而平等")
    assert s.precision == pytest.approx(50.0)
    assert s.recall == pytest.approx(60.0)
    assert s.f1 == pytest.approx(100 * 2 * 0.5 * 0.6 / 1.1)  # 54.545...


def test_rouge_l_chinese_punctuation_does_not_count():
    assert rouge_l("甲，乙。", "丙，丁。") == 0.0
    assert rouge_l("天下為公。", "天下為公") == pytest.approx(100.0)


def test_rouge_l_tibetan_hand_computed():
    # pred བོད སྐད ཡག པོ (4), ref བོད ཀྱི སྐད ཡིག (4); LCS བོད སྐད = 2 -> P = R = F1 = 0.5.
    s = rouge_l_scores("བོད་སྐད་ཡག་པོ།", "བོད་ཀྱི་སྐད་ཡིག།")
    assert (s.precision, s.recall, s.f1) == pytest.approx((50.0, 50.0, 50.0))
    # Read as whitespace words, these one-"word" strings would score 0; syllables see the overlap.
    assert rouge_l("བོད་ཀྱི་ཡིག", "བོད་ཀྱི་སྐད་ཡིག") == pytest.approx(100 * 2 * 1 * 0.75 / 1.75)


def test_rouge_l_english_and_multiple_references():
    # LCS of "the cat sat on the mat" / "the cat lay on the mat" = 5 of 6 each way.
    assert rouge_l("The cat sat on the mat.", "the cat lay on the mat") == pytest.approx(100 * 5 / 6)
    assert rouge_l("a b", ["x y", "a b"]) == pytest.approx(100.0)
    assert rouge_l("", "a") == 0.0


def test_lcs_length():
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4


def test_chrf_hand_computed():
    # "ab" vs "abc": n=1 P=1 R=2/3; n=2 P=1 R=1/2; n>=3 "ab" has no n-grams, so 2 orders count.
    # Mean P=1, mean R=7/12; F2 = 5 * 1 * 7/12 / (4 * 1 + 7/12) = 35/55.
    assert chrf("ab", "abc") == pytest.approx(100 * 35 / 55)
    assert chrf("人人生而自由", "人人生而自由") == pytest.approx(100.0)
    assert chrf("甲乙", "丙丁") == 0.0
    assert chrf("a b c", "abc") == pytest.approx(100.0)  # whitespace ignored
    assert chrf("ab", ["xyz", "abc"]) == pytest.approx(100 * 35 / 55)  # the best reference counts


def test_corpus_chrf_sums_statistics_before_the_f_score():
    # Summed over ("ab"|"abc") and ("人人"|"人人"): n=1 match 4 of hyp 4, ref 5; n=2 match 2 of hyp 2,
    # ref 3; n>=3 no hypothesis n-grams. P=1, R=(4/5 + 2/3)/2 = 11/15; F2 = 5R / (4 + R) = 55/71.
    got = corpus_chrf(["ab", "人人"], ["abc", "人人"])
    assert got.chrf == pytest.approx(100 * 55 / 71, abs=1e-6)
    sentence_mean = (chrf("ab", "abc") + chrf("人人", "人人")) / 2  # 81.8: what a sentence average reports
    assert abs(got.chrf - sentence_mean) > 1
    assert got.n == 2
    assert got.chrf_signature.startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:")
    assert "|nw:2|" in got.chrf_pp_signature


def test_corpus_chrf_pp_counts_word_ngrams():
    # Same characters, different word breaks: chrF ignores whitespace, chrF++ sees other words.
    got = corpus_chrf(["thecat saton the mat"], ["the cat sat on the mat"])
    assert got.chrf == pytest.approx(100.0)
    assert got.chrf_pp < 90
    same = corpus_chrf(["the cat sat on the mat"], ["the cat sat on the mat"])
    assert same.chrf == same.chrf_pp == pytest.approx(100.0)


def test_corpus_chrf_variable_references_and_bad_input():
    got = corpus_chrf(["人人生而自由", "abc"], [["人人生而平等", "人人生而自由"], "abd"])
    assert got.chrf_signature.startswith("nrefs:var|")
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        corpus_chrf(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no reference"):
        corpus_chrf(["a"], [[]])


def test_clause_lengths_and_form_match():
    from langadapt.eval.form import clause_lengths, form_match

    assert clause_lengths("清越敲寒玉，參差疊碧雲。") == (5, 5)
    assert clause_lengths("紛紛塞外烏蠻賊，驅盡江頭濯錦娘。\n下一行") == (7, 7)
    assert clause_lengths("一人水水，\ufffd草中水。") == (4, 3)  # a stray byte is no character
    assert clause_lengths("") == () and clause_lengths("請寫出這首詩的下一句。") == (10,)
    assert form_match("春風吹綠水，明月照青山。", "清越敲寒玉，參差疊碧雲。") == 100.0
    assert form_match("春風吹綠水", "清越敲寒玉，參差疊碧雲。") == 0.0
    assert form_match("白居易", "清越敲寒玉，參差疊碧雲。") == 0.0
    assert form_match("anything", "，。") == 0.0  # a reference without clauses matches nothing


def test_generation_scores_form_only_for_verse_tasks():
    from langadapt.eval.kinds.generation import score_generation

    items = [{"task_type": "next-line", "reference": "清越敲寒玉，參差疊碧雲。"},
             {"task_type": "next-line", "reference": "白鶴翠微裏，黃精幽澗濱。"},
             {"task_type": "translate", "reference": "人人生而自由"}]
    out = score_generation(items, ["春風吹綠水，明月照青山。", "白居易", "人人生而自由"])
    assert out["scores"]["next-line"]["form"] == 50.0 and "form" not in out["scores"]["translate"]
    assert out["scores"]["translate"]["rouge_l"] == 100.0
    assert out["scores"]["average"]["form"] == 50.0 and out["scores"]["average"]["n"] == 3
    assert out["examples"][0]["form"] == 100.0 and "form" not in out["examples"][2]


def test_generation_scores_are_corpus_chrf_with_signature_in_the_report():
    from langadapt.eval.report import render_markdown
    from langadapt.eval.kinds.generation import score_generation

    items = [{"id": "1", "task_type": "qa", "reference": "abc"}, {"id": "2", "task_type": "qa", "reference": "人人"}]
    scores = score_generation(items, ["ab", "人人"])["scores"]
    assert scores["qa"]["chrf"] == pytest.approx(100 * 55 / 71, abs=1e-6)  # corpus, not the 81.8 mean
    assert scores["qa"]["chrf_pp"] == pytest.approx(corpus_chrf(["ab", "人人"], ["abc", "人人"]).chrf_pp)
    assert [e["chrf"] for e in score_generation(items, ["ab", "人人"])["examples"]] == [63.636, 100.0]
    results = {"models": {"sft": "m"}, "tasks": {"qa": {"kind": "generation", "scores": {"sft": scores}}}}
    md = render_markdown(results)
    assert "chrF++" in md and "signature nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:" in md
