"""Task files, multiple choice and generation on the tiny model, checked against plain computations."""

from __future__ import annotations

import json

import pytest

from langadapt.config.generation import GenerationConfig
from langadapt.errors import UserError
from langadapt.eval.tasks import TaskOptions, load_task


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


def test_task_files_of_each_kind(tmp_path):
    gen = load_task(str(write_jsonl(tmp_path / "gen.jsonl", [
        {"instruction": "摘要", "input": "文字", "reference": "答案", "task_type": "summary"},
        {"instruction": "Q", "reference": "A"}])), TaskOptions())
    assert gen.kind == "generation" and gen.name == "gen"
    assert [i["task_type"] for i in gen.items] == ["summary", "default"]
    mc = load_task(str(write_jsonl(tmp_path / "law.jsonl", [
        {"question": "q1", "A": "a", "B": "b", "C": "c", "D": "d", "answer": "C"},
        {"question": "q2", "choices": ["x", "y"], "answer": "y"},
        {"question": "q3", "choices": ["x", "y"], "answer": 0}])), TaskOptions())
    assert mc.kind == "multiple_choice"
    assert [(i["choices"], i["answer"]) for i in mc.items] == [(["a", "b", "c", "d"], 2), (["x", "y"], 1), (["x", "y"], 0)]
    bpc = load_task(str(write_jsonl(tmp_path / "t.jsonl", [{"text": "abc", "language": "en"}, {"text": "人人", "language": "zh-Hant"}])), TaskOptions())
    assert bpc.kind == "bpc" and bpc.texts == {"en": ["abc"], "zh-Hant": ["人人"]}
    (tmp_path / "y.yaml").write_text("name: tib\ntask_type: qa\nitems:\n  - {instruction: 'ཁྱེད་རང་', reference: 'ང་'}\n", encoding="utf-8")
    y = load_task(str(tmp_path / "y.yaml"), TaskOptions())
    assert (y.name, y.kind, y.items[0]["task_type"]) == ("tib", "generation", "qa")


def test_bad_tasks_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="unknown task"):
        load_task("no-such-task", TaskOptions())
    with pytest.raises(UserError, match="out of range"):
        load_task(str(write_jsonl(tmp_path / "m.jsonl", [{"question": "q", "choices": ["a", "b"], "answer": "E"}])), TaskOptions())
    with pytest.raises(UserError, match="heldout"):
        load_task("heldout-bpc", TaskOptions())


def test_heldout_bpc_groups_by_language(tmp_path):
    path = write_jsonl(tmp_path / "h.jsonl", [{"text": "a" * 50, "language": "en"}, {"text": "人" * 30, "language": "zh-Hant"},
                                               {"text": "b" * 80, "language": "en"}])
    task = load_task("heldout-bpc", TaskOptions(heldout=str(path), max_chars=100))
    assert task.texts == {"en": ["a" * 50, "b" * 50], "zh-Hant": ["人" * 30]}


def test_continuation_nll_matches_plain_forward(tiny):
    import torch

    from langadapt.eval.bpc import prefix_token_id
    from langadapt.eval.mc import continuation_nll

    model, tok = tiny
    pairs = [("Question: capital of France?\nAnswer:", " Paris"), ("問題：", " 台北市"), ("x", " y z w v")]
    got = continuation_nll(model, tok, pairs, batch_size=2)
    for (ctx, cont), value in zip(pairs, got):
        c = tok(ctx, add_special_tokens=False)["input_ids"]
        k = tok(cont, add_special_tokens=False)["input_ids"]
        ids = [prefix_token_id(tok)] + c + k
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([ids])).logits[0].double(), -1)
        want = -sum(logp[p - 1, ids[p]].item() for p in range(len(ids) - len(k), len(ids)))
        assert value == pytest.approx(want, rel=1e-4)


def test_multiple_choice_picks_best_per_character(tiny):
    from langadapt.eval.mc import continuation_nll, few_shot_prefix, format_question, score_multiple_choice

    model, tok = tiny
    items = [{"question": f"q{i}", "choices": ["甲", "乙乙", "alpha beta"], "answer": i % 3} for i in range(4)]
    out = score_multiple_choice(model, tok, items, few_shot=2, batch_size=4)
    assert out["n"] == 4
    assert "q0" not in few_shot_prefix(items, 0, 2) and "q1" in few_shot_prefix(items, 0, 2)
    for i, (item, pred) in enumerate(zip(items, out["predictions"])):
        ctx = few_shot_prefix(items, i, 2) + format_question(item)
        nll = continuation_nll(model, tok, [(ctx, " " + c) for c in item["choices"]])
        per_char = [-v / len(c) for v, c in zip(nll, item["choices"])]
        assert pred["prediction"] == max(range(3), key=per_char.__getitem__)
    assert out["accuracy"] == pytest.approx(100 * sum(p["prediction"] == p["answer"] for p in out["predictions"]) / 4)


def test_batched_generation_equals_one_at_a_time(tiny):
    from langadapt.eval.generate import generate_answers

    model, tok = tiny
    prompts = ["Translate to Chinese: hello", "短", "A much longer prompt that needs a lot more padding than the others"]
    gen = GenerationConfig(temperature=0.0, max_new_tokens=6)
    batched = generate_answers(model, tok, prompts, gen, batch_size=3)
    single = [generate_answers(model, tok, [p], gen, batch_size=1)[0] for p in prompts]
    assert batched == single
    assert all(isinstance(a, str) for a in batched)


def test_stop_strings_cut_answers():
    from langadapt.eval.generate import cut_at_stop

    assert cut_at_stop("answer\nUser: more", ["\nUser:", "###"]) == "answer"
    assert cut_at_stop("answer", ["###"]) == "answer"


def test_score_generation_per_type_and_average():
    from langadapt.eval.kinds.generation import score_generation

    items = [{"reference": "人人生而自由", "task_type": "a"}, {"reference": "人人生而自由", "task_type": "a"},
             {"reference": "བོད་སྐད", "task_type": "b"}]
    out = score_generation(items, ["人人生而自由", "", "བོད་སྐད"])["scores"]
    assert out["a"]["rouge_l"] == pytest.approx(50.0) and out["a"]["n"] == 2
    assert out["b"]["rouge_l"] == pytest.approx(100.0)
    # Average over task types (each counts once), as in per-task-type tables.
    assert out["average"]["rouge_l"] == pytest.approx(75.0) and out["average"]["n"] == 3


def test_answer_bits_score_the_reference_after_the_generation_prompt(tiny):
    import math

    from langadapt.eval.answers import answer_bits
    from langadapt.eval.generate import item_prompt, render_prompt
    from langadapt.eval.mc import continuation_nll
    from langadapt.eval.kinds.generation import score_generation

    model, tok = tiny
    items = [{"instruction": "請寫出這首詩的下一句。", "input": "靜夜思\n李白\n床前明月光，", "reference": "疑是地上霜。",
              "task_type": "next-line"},
             {"instruction": "Translate.", "input": "hello", "reference": "你好", "task_type": "translate"},
             {"instruction": "Any of these.", "reference": ["a", "b"], "task_type": "translate"}]
    bits = answer_bits(model, tok, items, batch_size=2)
    assert bits[2] is None  # several references: no single answer to score
    for item, got in zip(items[:2], bits[:2]):
        nll = continuation_nll(model, tok, [(render_prompt(tok, item_prompt(item)), item["reference"])])[0]
        assert got == (pytest.approx(nll / math.log(2)), len(item["reference"]))
    scores = score_generation(items, ["疑是地上霜。", "你好", "a"], bits)["scores"]
    assert scores["next-line"]["answer_bpc"] == pytest.approx(bits[0][0] / 6)
    assert scores["translate"]["answer_bpc"] == pytest.approx(bits[1][0] / 2)  # pooled over the one scored item
    assert scores["average"]["answer_bpc"] == pytest.approx((bits[0][0] / 6 + bits[1][0] / 2) / 2)


def test_bpc_only_models_skip_generation_tasks(tmp_path, tiny_model_dir):
    """eval.bpc_only: the untrained extended model gets bits per character, not answers to score."""
    from langadapt.config.evaluation import EvalConfig
    from langadapt.eval.runner import evaluate, summary_metrics

    bpc = write_jsonl(tmp_path / "text.jsonl", [{"text": "Every sentence here is scored.", "language": "en"}])
    gen = write_jsonl(tmp_path / "qa.jsonl", [{"instruction": "Say hi", "reference": "hi"}])
    cfg = EvalConfig(max_examples=1, generation=GenerationConfig(temperature=0.0, max_new_tokens=2))
    assert cfg.bpc_only == ["tokenizer"]
    models = {"base": str(tiny_model_dir), "tokenizer": str(tiny_model_dir)}
    results = evaluate(models, [str(bpc), str(gen)], cfg, progress=False, log=lambda m: None)
    assert set(results["tasks"]["text"]["scores"]) == {"base", "tokenizer"}
    assert set(results["tasks"]["qa"]["scores"]) == {"base"}
    # the same model under both labels: the bits per character agree
    scores = results["tasks"]["text"]["scores"]
    assert scores["base"]["en"]["bits_per_char"] == scores["tokenizer"]["en"]["bits_per_char"]
    assert "qa" in summary_metrics(results)["tasks"]
    everything = evaluate(models, [str(gen)], cfg.model_copy(update={"bpc_only": []}), progress=False, log=lambda m: None)
    assert set(everything["tasks"]["qa"]["scores"]) == {"base", "tokenizer"}
