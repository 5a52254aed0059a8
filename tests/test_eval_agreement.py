"""Human vs LLM-judge agreement: Cohen's kappa and percent agreement against hand-computed values,
and the table `langadapt eval --human ... --judge-results ...` prints from recorded choices."""

from __future__ import annotations

import json
import math

import pytest

from langadapt.cli.main import main
from langadapt.errors import UserError
from langadapt.eval.agreement import agreement, cohen_kappa, load_judge


def test_kappa_textbook_example():
    # 50 items, two raters: 20 both yes, 5 yes/no, 10 no/yes, 15 both no -> p_o 0.7, p_e 0.5, kappa 0.4.
    a = ["yes"] * 20 + ["yes"] * 5 + ["no"] * 10 + ["no"] * 15
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert math.isnan(cohen_kappa(["tie"] * 4, ["tie"] * 4))  # chance agreement is certain: undefined
    with pytest.raises(ValueError):
        cohen_kappa(["a"], [])


# Ten items judged by a person and by the judge (first = "base", second = "sft", models in name order).
HUMAN = ["first", "first", "second", "tie", "first", "second", "tie", "first", "second", "second"]
JUDGE = ["first", "second", "second", "tie", "first", "second", "first", "first", "tie", "second"]
# By hand: 7 of 10 agree; both say first 4x, second 4x, tie 2x -> p_e = (16 + 16 + 4) / 100 = 0.36,
# kappa = (0.7 - 0.36) / 0.64 = 0.53125.


def _files(tmp_path):
    to_model = {"first": "base", "second": "sft", "tie": "tie"}
    human = tmp_path / "human.jsonl"
    human.write_text("".join(json.dumps({"id": f"udhr-translate/{i}", "models": ["sft", "base"], "winner": to_model[h],
                                         "choice": "A", "rater": "p1"}) + "\n" for i, h in enumerate(HUMAN)))
    outcome = {"first": "loss", "second": "win", "tie": "tie"}  # the judge's outcome is from sft's side
    details = [{"id": str(i), "question": "q", "outcome": outcome[j], "consistent": True} for i, j in enumerate(JUDGE)]
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"models": {"base": "x", "sft": "y"},
                                   "judge": {"model": "j", "summary": {}, "details": {"udhr-translate: sft vs base": details}}}))
    return human, results


def test_agreement_against_hand_computed_values(tmp_path):
    from langadapt.eval.agreement import load_human

    human, results = _files(tmp_path)
    result = agreement(load_human(human), load_judge(results))
    row = result["pairs"][0]
    assert row["models"] == ["base", "sft"] and row["n"] == 10
    assert row["agreement"] == pytest.approx(0.7)
    assert row["kappa"] == pytest.approx(0.53125)
    assert row["human"] == pytest.approx({"first": 0.4, "tie": 0.2, "second": 0.4})
    assert row["judge"] == pytest.approx({"first": 0.4, "tie": 0.2, "second": 0.4})
    assert result["unmatched_human"] == 0


def test_eval_cli_prints_agreement_table(tmp_path, capsys):
    human, results = _files(tmp_path)
    with human.open("a") as fh:  # an item the judge never saw is reported, not matched
        fh.write(json.dumps({"id": "other/1", "models": ["base", "sft"], "winner": "tie"}) + "\n")
    assert main(["eval", "--human", str(human), "--judge-results", str(results), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "| base | sft | 10 | 40% / 20% / 40% | 40% / 20% / 40% | 70.0% | 0.531 |" in out
    assert "1 human choices had no judge verdict" in out
    assert (tmp_path / "o" / "agreement.md").read_text() in out
    assert main(["eval", "--human", str(human)]) == 2
    assert "go together" in capsys.readouterr().err


def test_no_matching_items_is_a_user_error(tmp_path):
    human, results = _files(tmp_path)
    rows = [{"id": "nope", "models": ["a", "b"], "winner": "a"}]
    with pytest.raises(UserError, match="no human choice matches"):
        agreement(rows, load_judge(results))
