"""Eval task kinds are a registry: a kind registered in one place is accepted, scored, reported and kept."""

from __future__ import annotations

import json

import pytest
import torch

from langadapt.config.load import RecipeError, recipe_from_dict
from langadapt.eval import kinds, tasks
from langadapt.eval.kinds import TaskKind
from langadapt.eval.markdown import fmt, table
from langadapt.eval.stage import run
from langadapt.eval.tasks import Task, TaskOptions
from langadapt.rundir import RunDir
from langadapt.stages import StageContext

PAIRS = [("人人生而", "自由"), ("Everyone has the right to ", "life")]


def _pairs_task(opts: TaskOptions) -> Task:
    items = [{"prompt": p, "answer": a} for p, a in PAIRS][: opts.max_examples]
    return Task("test-answer-nats", "test_answer_nats", items=items, source="two inline pairs")


class AnswerNats(TaskKind):
    """Negative log-likelihood (nats) of each answer after its prompt, summed: a kind no built-in has."""

    name = "test_answer_nats"
    tasks = {"test-answer-nats": _pairs_task}

    def score(self, model, tokenizer, task, cfg, progress=False):
        total = 0.0
        for item in task.items:
            prompt = tokenizer(item["prompt"], return_tensors="pt").input_ids
            ids = tokenizer(item["prompt"] + item["answer"], return_tensors="pt").input_ids.to(model.device)
            with torch.no_grad():
                logp = torch.log_softmax(model(ids).logits[0, :-1].float(), dim=-1)
            picked = logp.gather(-1, ids[0, 1:, None])[prompt.shape[1] - 1:]
            total -= float(picked.sum())
        return {"scores": {"answer_nats": total, "n": len(task.items)}}

    def report(self, name, entry, labels):
        rows = [["answer nats (lower is better)"] + [fmt(entry["scores"][label]["answer_nats"], 2) for label in labels]]
        return [f"### {name}: answer log-likelihood", "", table(["metric", *labels], rows), ""]


@pytest.fixture
def answer_nats():
    kind = kinds.register(AnswerNats())
    yield kind
    kinds.unregister(kind.name)


def test_registered_kind_is_scored_by_the_eval_stage(tmp_path, tiny_model_dir, answer_nats):
    recipe = recipe_from_dict({"name": "t", "base_model": str(tiny_model_dir), "languages": ["zh-Hant"],
                               "run_dir": str(tmp_path), "eval": {"tasks": ["test-answer-nats"], "compare": ["base"]}})
    out = tmp_path / "t" / "eval"
    out.mkdir(parents=True)
    result = run(StageContext(recipe=recipe, out_dir=out, run_dir=RunDir(tmp_path / "t")))

    scores = result.metrics.tasks["test-answer-nats"]["base"]  # the typed results keep the kind's headline
    assert scores["n"] == 2 and scores["answer_nats"] > 0
    md = (out / "results.md").read_text(encoding="utf-8")
    assert "### test-answer-nats: answer log-likelihood" in md
    assert f"| answer nats (lower is better) | {scores['answer_nats']:.2f} |" in md
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["tasks"]["test-answer-nats"]["kind"] == "test_answer_nats"


def test_task_names_come_from_the_registry(answer_nats):
    assert "test-answer-nats" in tasks.names()
    recipe_from_dict({"name": "t", "base_model": "m", "languages": ["bo"], "eval": {"tasks": ["test-answer-nats"]}})
    kinds.unregister(answer_nats.name)
    assert "test-answer-nats" not in tasks.names()
    with pytest.raises(RecipeError, match="unknown task 'test-answer-nats'"):
        recipe_from_dict({"name": "t", "base_model": "m", "languages": ["bo"], "eval": {"tasks": ["test-answer-nats"]}})
    kinds.register(answer_nats)  # the fixture unregisters it again


def test_config_accepts_files_and_harness_names_but_suggests_for_typos():
    base = {"name": "t", "base_model": "m", "languages": ["bo"]}
    recipe_from_dict({**base, "eval": {"tasks": ["udhr-bpc", "mine.jsonl", "mine.yaml"]}})
    recipe_from_dict({**base, "eval": {"backend": "lm-eval", "tasks": ["hellaswag"]}})
    with pytest.raises(RecipeError, match="did you mean udhr-translate"):
        recipe_from_dict({**base, "eval": {"tasks": ["udhr-translat"]}})
    with pytest.raises(ValueError, match="already registered"):
        kinds.register(type("Dup", (TaskKind,), {"name": "bpc"})())
