"""Bits per character: the batched sliding-window scorer against a naive one-document-at-a-time loop."""

from __future__ import annotations

import math

import pytest

from langadapt.eval.bpc import prefix_token_id, score_texts, windows_for

TEXTS = [
    "All human beings are born free and equal in dignity and rights.",
    "人人生而自由，在尊嚴和權利上一律平等。他們賦有理性和良心，並應以兄弟關係的精神相對待。",
    "Short.",
    "འགྲོ་བ་མིའི་རིགས་རྒྱུད་ཡོངས་ལ་སྐྱེས་ཙམ་ཉིད་ནས་རང་དབང་དང༌། ཆེ་མཐོངས་དང༌། ཐོབ་ཐང་གི་རྣམ་པ་ཐམས་ཅད་དུ་འདྲ་མཉམ་ཡིན།",
    "x" * 3 + " the quick brown fox jumps over the lazy dog " * 4,
]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


def naive_nll(model, tokenizer, text: str, window: int | None = None, stride: int | None = None) -> tuple[float, int]:
    """One document, one forward pass per window, written the plain way: full log-softmax, no batching."""
    import torch

    ids = [prefix_token_id(tokenizer)] + tokenizer(text, add_special_tokens=False)["input_ids"]
    x = torch.tensor([ids])
    with torch.no_grad():
        if window is None or len(ids) <= window:
            logp = torch.log_softmax(model(x).logits[0].double(), -1)
            return -sum(logp[i - 1, ids[i]].item() for i in range(1, len(ids))), len(ids) - 1
        # Classic strided evaluation: windows start every `stride` tokens, only new tokens are scored.
        total, scored, prev_end = 0.0, 0, 0
        for begin in range(0, len(ids), stride):
            end = min(begin + window, len(ids))
            logp = torch.log_softmax(model(x[:, begin:end]).logits[0].double(), -1)
            for t in range(max(prev_end, begin + 1), end):
                total -= logp[t - begin - 1, ids[t]].item()
                scored += 1
            prev_end = end
            if end == len(ids):
                break
        return total, scored


def test_batched_matches_naive_full_context(tiny):
    model, tok = tiny
    result = score_texts(model, tok, TEXTS, window=1024, stride=512, batch_size=3)
    expected = [naive_nll(model, tok, t) for t in TEXTS]
    assert result.documents == len(TEXTS)
    assert result.tokens == sum(n for _, n in expected)
    for got, (want, _) in zip(result.per_document_nll, expected):
        assert got == pytest.approx(want, rel=1e-4)
    assert result.characters == sum(len(t) for t in TEXTS)
    assert result.bytes == sum(len(t.encode()) for t in TEXTS)
    total = sum(n for n, _ in expected)
    assert result.bits_per_char == pytest.approx(total / math.log(2) / result.characters, rel=1e-4)
    assert result.bits_per_byte < result.bits_per_char  # non-ASCII text has more bytes than characters
    assert result.token_perplexity == pytest.approx(math.exp(total / result.tokens), rel=1e-4)


def test_sliding_window_matches_strided_loop(tiny):
    model, tok = tiny
    # Length chosen so the last classic window is full: both schemes then use identical contexts.
    window, stride = 16, 8
    base = tok(TEXTS[4], add_special_tokens=False)["input_ids"]
    n_ids = window + 3 * stride  # prefix included
    text = tok.decode(base[: n_ids - 1])
    assert len(tok(text, add_special_tokens=False)["input_ids"]) == n_ids - 1
    result = score_texts(model, tok, [text], window=window, stride=stride, batch_size=2)
    want, scored = naive_nll(model, tok, text, window=window, stride=stride)
    assert result.tokens == scored == n_ids - 1
    assert result.nll_nats_total == pytest.approx(want, rel=1e-4)


def test_every_token_scored_once():
    ids = list(range(100))
    for window, stride in [(16, 8), (16, 15), (10, 3), (200, 50), (7, 100)]:
        targets = []
        for w in windows_for(ids, window, stride):
            assert len(w.ids) <= window
            first = w.ids[0]
            targets += [first + i for i in range(len(w.ids) - w.scored, len(w.ids))]
        assert sorted(targets) == list(range(1, 100)), (window, stride)


def test_batch_size_does_not_change_result(tiny):
    model, tok = tiny
    a = score_texts(model, tok, TEXTS, window=32, stride=16, batch_size=1)
    b = score_texts(model, tok, TEXTS, window=32, stride=16, batch_size=8)
    assert a.tokens == b.tokens
    assert a.nll_nats_total == pytest.approx(b.nll_nats_total, rel=1e-5)


def test_empty_input(tiny):
    model, tok = tiny
    r = score_texts(model, tok, [])
    assert r.documents == 0 and r.tokens == 0 and math.isnan(r.bits_per_char)
