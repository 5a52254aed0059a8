"""LLM judge over real HTTP against a local OpenAI-compatible server that answers deterministically."""

from __future__ import annotations

import pytest

from langadapt.config.evaluation import JudgeSettings
from langadapt.eval.judge import Judge, judge_results, load_template, parse_verdict


@pytest.fixture(scope="module")
def judge_url():
    from judge_server import serve

    with serve() as url:
        yield url


def test_parse_verdict():
    assert parse_verdict("blah [[A]] then [[ B ]]") == "B"
    assert parse_verdict("no verdict") is None


def test_template_has_placeholders():
    system, user = load_template()
    assert "[[C]]" in system.template
    for key in ("$question", "$answer_a", "$answer_b", "$reference_block"):
        assert key in user.template


def test_both_orders_and_reasons(judge_url):
    from judge_server import REQUESTS

    REQUESTS.clear()
    judge = Judge(judge_url, "prefers-longer")
    won = judge.compare("Say hi", "hello there, friend", "hi")
    lost = judge.compare("Say hi", "hi", "hello there, friend", reference="hello")
    judge.close()
    assert won["outcome"] == "win" and won["consistent"]
    assert lost["outcome"] == "loss"
    assert "characters" in won["model_1_first"]["reasoning"]
    assert len(REQUESTS) == 4  # two orders per pair
    assert "hello there, friend" in REQUESTS[0]["messages"][-1]["content"]
    assert "[Reference answer]\nhello" in REQUESTS[2]["messages"][-1]["content"]
    assert REQUESTS[0]["messages"][0]["role"] == "system"


def test_position_bias_cancels_to_tie(judge_url):
    judge = Judge(judge_url, "always-a")
    outcome = judge.compare("q", "one", "two")
    assert outcome["outcome"] == "tie" and not outcome["consistent"]
    missing = Judge(judge_url, "no-verdict").compare("q", "one", "two")
    assert missing["outcome"] == "tie" and missing["model_1_first"]["verdict"] is None


def test_unreachable_endpoint_is_recorded_not_raised():
    judge = Judge("http://127.0.0.1:9/v1", "x", timeout=2)
    out = judge.ask("q", "a", "b")
    assert out["verdict"] is None and "failed" in out["reasoning"]


def test_judge_results_summary(judge_url):
    examples = lambda preds: [{"id": str(i), "prompt": f"q{i}", "prediction": p, "reference": "r"} for i, p in enumerate(preds)]
    results = {"models": {"base": "m0", "sft": "m1"}, "tasks": {
        "gen": {"kind": "generation", "examples": {"base": examples(["a", "bb", "ccc"]),
                                                    "sft": examples(["aaaa", "b", "ccc"])}},
        "bpc": {"kind": "bpc", "scores": {}}}}
    out = judge_results(results, JudgeSettings(base_url=judge_url, model="prefers-longer"), progress=False)
    summary = out["summary"]["gen: sft vs base"]
    assert (summary["win"], summary["tie"], summary["loss"], summary["n"]) == (1, 1, 1, 3)
    assert len(out["details"]["gen: sft vs base"]) == 3


def test_judge_key_goes_only_where_it_belongs():
    """OPENAI_API_KEY (the default api_key_env) reaches only api.openai.com; no key over plain http to another host."""
    from langadapt.errors import UserError
    from langadapt.eval.judge import Judge, judge_api_key

    env = {"OPENAI_API_KEY": "sk-openai", "JUDGE_KEY": "sk-judge"}
    assert judge_api_key("https://api.openai.com/v1", "OPENAI_API_KEY", env) == "sk-openai"
    assert judge_api_key("http://127.0.0.1:8000/v1", "OPENAI_API_KEY", env) is None
    assert judge_api_key("https://judge.example.org/v1", "OPENAI_API_KEY", env) is None
    assert judge_api_key("https://judge.example.org/v1", "JUDGE_KEY", env) == "sk-judge"
    assert judge_api_key("https://judge.example.org/v1", "UNSET_KEY", env) is None
    with pytest.raises(UserError, match=r"plain http.*eval\.judge\.base_url"):
        Judge("http://judge.example.org/v1", "m", api_key="sk-judge")
    with pytest.raises(UserError, match=r"^eval\.judge\.base_url 'judge\.example\.org'"):  # the recipe key, not a flag
        Judge("judge.example.org", "m")
    Judge("http://127.0.0.1:8000/v1", "m", api_key="sk-judge")  # this machine: allowed
