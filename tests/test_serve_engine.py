"""The batching engine: joined requests decode exactly like one-at-a-time generation; sampling options work."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from langadapt.config.generation import GenerationConfig
from langadapt.serve.engine import Engine
from langadapt.serve.loading import load_for_serving
from langadapt.serve.text import TextTracker

PROMPTS = ["Hello there", "The quick brown fox jumps over", "a", "Once upon a time in a land far away, there lived"]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    model, tokenizer = load_for_serving(str(tiny_model_dir))
    engine = Engine(model, tokenizer, max_batch_size=8).start()
    yield engine
    engine.shutdown()


def _tokens(engine, ids, config, logprobs=None):
    toks, lps = [], []
    for out in engine.stream_sync(ids, config, logprobs):
        toks += out.token_ids
        lps += out.logprobs
    return toks, lps


def _staggered(engine, prompts, config):
    """First request starts alone; the others join while it is running."""
    tok = engine.tokenizer
    results: dict[int, list[int]] = {}
    running = threading.Event()

    def run(i):
        toks = []
        for out in engine.stream_sync(tok(prompts[i]).input_ids, config):
            toks += out.token_ids
            if i == 0 and len(toks) == 2:
                running.set()
        results[i] = toks

    first = threading.Thread(target=run, args=(0,))
    first.start()
    assert running.wait(60)
    others = [threading.Thread(target=run, args=(i,)) for i in range(1, len(prompts))]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(120)
    return results


def _reference(engine, prompt, n):
    ids = engine.tokenizer(prompt).input_ids
    out = engine.model.generate(torch.tensor([ids]), max_new_tokens=n, do_sample=False,
                                pad_token_id=engine.pad_id, eos_token_id=None)
    return out[0, len(ids):].tolist()


def test_joined_batch_matches_single_generation(tiny):
    config = GenerationConfig(max_new_tokens=12, temperature=0.0)
    steps_before = tiny.steps
    results = _staggered(tiny, PROMPTS, config)
    for i, prompt in enumerate(PROMPTS):
        ref = _reference(tiny, prompt, 12)
        assert results[i] == ref[: len(results[i])] and results[i], prompt
    # Joined decoding shares steps: far fewer than one step per token per request.
    assert tiny.steps - steps_before < sum(len(r) for r in results.values())
    assert tiny.num_active == 0


@pytest.mark.integration
def test_joined_batch_matches_single_generation_smollm2(smollm2_dir):
    model, tokenizer = load_for_serving(str(smollm2_dir))
    engine = Engine(model, tokenizer, max_batch_size=8).start()
    try:
        results = _staggered(engine, PROMPTS, GenerationConfig(max_new_tokens=12, temperature=0.0))
        for i, prompt in enumerate(PROMPTS):
            ref = _reference(engine, prompt, 12)
            assert results[i] == ref[: len(results[i])] and len(results[i]) >= 4, prompt
    finally:
        engine.shutdown()


def test_seed_reproducible_and_distinct(tiny):
    ids = tiny.tokenizer("Tell me a story").input_ids
    config = GenerationConfig(max_new_tokens=10, temperature=1.0, top_k=0, top_p=1.0, seed=7)
    a, _ = _tokens(tiny, ids, config)
    b, _ = _tokens(tiny, ids, config)
    c, _ = _tokens(tiny, ids, config.model_copy(update={"seed": 8}))
    assert a == b
    assert a != c


def test_processors_change_the_choice(tiny):
    ids = tiny.tokenizer("Hello").input_ids
    greedy, _ = _tokens(tiny, ids, GenerationConfig(max_new_tokens=8, temperature=0.0))
    suppressed, _ = _tokens(tiny, ids, GenerationConfig(max_new_tokens=8, temperature=0.0,
                                                        begin_suppress_tokens=[greedy[0]]))
    assert suppressed[0] != greedy[0]
    distinct, _ = _tokens(tiny, ids, GenerationConfig(max_new_tokens=8, temperature=0.0, no_repeat_ngram_size=1))
    assert len(set(distinct)) == len(distinct)
    penalised, _ = _tokens(tiny, ids, GenerationConfig(max_new_tokens=8, temperature=0.0, repetition_penalty=5.0))
    assert penalised != greedy


def test_generation_logprobs_agree_with_scoring(tiny):
    ids = tiny.tokenizer("The capital of France is").input_ids
    toks, lps = _tokens(tiny, ids, GenerationConfig(max_new_tokens=5, temperature=0.0), logprobs=3)
    scored = tiny.score(ids + toks, top=3).result(timeout=60)
    assert len(scored) == len(ids) + len(toks) - 1
    for (tok, lp, tops), (stok, slp, stops) in zip(lps, scored[len(ids) - 1:]):
        assert tok == stok and lp == pytest.approx(slp, abs=1e-4)
        assert tops[0][0] == tok  # greedy: the chosen token is the most likely one
        assert len(tops) == 3


def test_cancel_frees_the_slot(tiny):
    ids = tiny.tokenizer("Keep talking").input_ids
    got = threading.Event()
    req = tiny.submit(ids, GenerationConfig(max_new_tokens=2000, temperature=1.0), lambda out: got.set())
    assert got.wait(30)
    req.cancel()
    deadline = time.monotonic() + 10
    while tiny.num_active and time.monotonic() < deadline:
        time.sleep(0.02)
    assert tiny.num_active == 0


def test_generate_batch_helper_keeps_order(tiny):
    prompts = [tiny.tokenizer(p).input_ids for p in PROMPTS]
    config = GenerationConfig(max_new_tokens=5, temperature=0.0)
    outs = tiny.generate(prompts, config)
    singles = [_tokens(tiny, ids, config)[0] for ids in prompts]
    assert [o.token_ids for o in outs] == singles
    assert all(o.finish_reason == "length" and o.completion_tokens == 5 for o in outs)


def test_max_new_tokens_and_eos(tiny):
    ids = tiny.tokenizer("Count").input_ids
    outs = list(tiny.stream_sync(ids, GenerationConfig(max_new_tokens=3, temperature=0.0)))
    assert outs[-1].finish_reason == "length" and outs[-1].completion_tokens == 3
    eos = next(iter(tiny.eos_ids))
    # Forbidding everything but the end token makes the answer end at once with "stop".
    forced = GenerationConfig(max_new_tokens=5, temperature=0.0,
                              begin_suppress_tokens=[t for t in range(len(tiny.tokenizer)) if t != eos])
    outs = list(tiny.stream_sync(ids, forced))
    assert outs[-1].finish_reason == "stop" and outs[-1].completion_tokens == 1 and outs[-1].text == ""


def test_text_tracker_stop_strings(smollm2_tokenizer):
    tok = smollm2_tokenizer
    tracker = TextTracker(tok, stop=["\n\nUser:", "END"])
    pieces = [tracker.push(t) for t in tok("Paris is nice.\n\nUser: more", add_special_tokens=False).input_ids]
    assert "".join(pieces) + tracker.flush() == "Paris is nice."
    assert tracker.stopped
    tracker = TextTracker(tok, stop=["END"])
    text = "héllo 世界 — ok"
    pieces = [tracker.push(t) for t in tok(text, add_special_tokens=False).input_ids]
    assert "\ufffd" not in "".join(pieces)
    assert "".join(pieces) + tracker.flush() == text and not tracker.stopped


def _together(engine, ids, configs):
    """Run one request per config, all admitted to the same batch; returns each one's merged Output."""
    import queue

    busy = threading.Event()
    engine.call(lambda: (busy.set(), time.sleep(0.3)))  # holds the engine thread while all three are queued
    assert busy.wait(30)
    boxes = [queue.Queue() for _ in configs]
    for config, box in zip(configs, boxes):
        engine.submit(ids, config, box.put)
    results = []
    for box in boxes:
        toks, last = [], None
        while last is None or not last.finish_reason:
            last = box.get(timeout=60)
            toks += last.token_ids
        results.append((toks, last))
    return results


@pytest.mark.parametrize("poison", [
    {"begin_suppress_tokens": "all"},  # nothing left to sample: softmax of all -inf is NaN
    {"repetition_penalty": 1e-300},  # 1/penalty overflows: +inf scores, then NaN probabilities
])
def test_one_bad_request_fails_alone_in_its_batch(tiny, poison):
    ids = tiny.tokenizer("The quick brown fox jumps over the lazy dog and runs far away").input_ids
    good = GenerationConfig(max_new_tokens=6, temperature=1.0, top_k=0, top_p=1.0, seed=11)
    if poison.get("begin_suppress_tokens") == "all":
        poison = {"begin_suppress_tokens": list(range(len(tiny.tokenizer)))}
    bad = good.model_copy(update=poison)
    solo, _ = _tokens(tiny, ids, good)
    (a, out_a), (b, out_b), (c, out_c) = _together(tiny, ids, [good, bad, good.model_copy(update={"seed": 11})])
    assert out_b.finish_reason == "error" and out_b.error and b == []
    assert out_a.finish_reason == out_c.finish_reason == "length"
    assert a == c == solo  # the neighbours decode exactly as they would alone
    assert tiny.num_active == 0
    # The engine goes on serving.
    assert _tokens(tiny, ids, good)[0] == solo


def test_choose_tokens_reports_bad_rows_alone():
    from langadapt.config.generation import GenerationConfig as Config
    from langadapt.serve.generation import ChoiceError, Sampler, choose_tokens

    logits = torch.randn(4, 50)
    logits[1, 7] = float("nan")
    logits[3] = float("-inf")
    samplers = [Sampler(Config(temperature=t, seed=1), 2) for t in (0.0, 0.0, 0.8, 0.8)]
    chosen = choose_tokens(logits, samplers, [[1, 2]] * 4)
    assert chosen[0] == int(logits[0].argmax()) and isinstance(chosen[2], int)
    assert isinstance(chosen[1], ChoiceError) and isinstance(chosen[3], ChoiceError)


def test_dead_engine_refuses_new_requests(tiny_model_dir):
    from langadapt.serve.engine import EngineUnavailable

    model, tokenizer = load_for_serving(str(tiny_model_dir))
    engine = Engine(model, tokenizer, max_batch_size=2).start()
    assert engine.alive
    engine.shutdown()
    assert not engine.alive
    with pytest.raises(EngineUnavailable):
        engine.submit([1, 2], GenerationConfig(max_new_tokens=2), lambda out: None)
