"""The real SmolLM2-135M-Instruct: English-centric, so Chinese must cost far more bits per character."""

from __future__ import annotations

import pytest

from langadapt.config.evaluation import EvalConfig
from langadapt.config.generation import GenerationConfig

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def smollm2(smollm2_dir):
    from langadapt.models import load_model, load_tokenizer

    return load_model(smollm2_dir, dtype="fp32"), load_tokenizer(smollm2_dir)


def test_udhr_bpc_english_far_better_than_traditional_chinese(smollm2):
    from langadapt.eval.runner import evaluate_model, load_tasks

    model, tok = smollm2
    cfg = EvalConfig(languages=["en", "zh-Hant"], max_chars=800, batch_size=4)
    scores = evaluate_model(model, tok, load_tasks(["udhr-bpc"], cfg), cfg)["udhr-bpc"]["scores"]
    en, zh = scores["en"], scores["zh-Hant"]
    assert 0.5 < en["bits_per_char"] < 2.0  # a trained English model on English prose
    assert zh["bits_per_char"] > 3 * en["bits_per_char"]
    # Per byte the gap narrows (a Han character is 3 UTF-8 bytes) but remains.
    assert zh["bits_per_byte"] > en["bits_per_byte"]


def test_multiple_choice_easy_english_questions(smollm2):
    from langadapt.eval.mc import score_multiple_choice

    model, tok = smollm2
    items = [
        {"question": "What color is the sky on a clear day?", "choices": ["blue", "green", "purple"], "answer": 0},
        {"question": "How many legs does a dog have?", "choices": ["two", "four", "eight"], "answer": 1},
        {"question": "What is the capital of France?", "choices": ["Berlin", "Madrid", "Paris"], "answer": 2},
        {"question": "Which animal says meow?", "choices": ["cat", "cow", "fish"], "answer": 0},
    ]
    assert score_multiple_choice(model, tok, items, few_shot=2)["accuracy"] >= 75.0


def test_chat_generation_answers(smollm2):
    from langadapt.eval.generate import generate_answers

    model, tok = smollm2
    answers = generate_answers(model, tok, ["What is the capital of France? Answer in one word.", "Say hello."],
                               GenerationConfig(temperature=0.0, max_new_tokens=8), batch_size=2)
    assert "paris" in answers[0].lower()
    assert answers[1]


def test_stopping_at_the_stop_string_gives_the_same_answers(smollm2):
    """Generation ends at the stop string (sooner) and gives the answers it gave when cut afterwards."""
    from langadapt.eval.generate import cut_at_stop, generate_answers

    model, tok = smollm2
    prompts = ["Describe a cat in two sentences.", "List three colours, comma separated."]
    full = generate_answers(model, tok, prompts, GenerationConfig(temperature=0.0, max_new_tokens=24), batch_size=2)
    stop = next(ch for a in full for ch in a[len(a) // 2:] if ch.isalnum())  # one the model writes mid-answer
    stopped = generate_answers(model, tok, prompts, GenerationConfig(temperature=0.0, max_new_tokens=24, stop=[stop]),
                               batch_size=2)
    assert stopped == [cut_at_stop(a, [stop]).strip() for a in full]
    assert sum(map(len, stopped)) < sum(map(len, full))

