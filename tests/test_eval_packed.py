"""Packed scoring: many short windows per row and per forward pass give each window's own NLL."""

from __future__ import annotations

import pytest

from langadapt.eval.packed import Window, batch_nll, output_layer, pack_rows, plan_batches, window_nll


@pytest.fixture(scope="module", params=["sdpa", "eager"])
def tiny(tiny_model_dir, request):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32,
                                                 attn_implementation=request.param).eval()
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


def alone_nll(model, w: Window) -> float:
    """The window on its own, full logits and log-softmax: the plain way."""
    import torch

    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([w.ids])).logits[0].double(), -1)
    n = len(w.ids)
    return -sum(logp[p, w.ids[p + 1]].item() for p in range(n - 1 - w.scored, n - 1))


def some_windows(seed: int = 0, count: int = 23) -> list[Window]:
    import random

    rng = random.Random(seed)
    out = []
    for i in range(count):
        n = rng.choice([2, 3, 7, 19, 40, 64, 90, 130])
        ids = [rng.randrange(100, 40000) for _ in range(n)]
        out.append(Window(i, ids, rng.randint(1, n - 1)))
    return out


def test_pack_rows_places_every_window_once_within_capacity():
    lengths = [5, 300, 17, 256, 40, 1, 200, 60, 60, 90, 255, 2]
    rows = pack_rows(lengths, 256)
    assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
    for row in rows:
        used = sum(lengths[i] for i in row)
        assert used <= 256 or len(row) == 1  # only a single long window may pass the row length
    assert len(rows) < len(lengths)  # short windows did share rows


def test_plan_batches_respects_token_budget():
    lengths = [30, 31, 500, 12, 700, 64, 64, 9, 250, 128] * 5
    batches = plan_batches(lengths, token_budget=1024, pack_len=128)
    assert sorted(i for b in batches for row in b for i in row) == list(range(len(lengths)))
    for b in batches:
        width = max(sum(lengths[i] for i in row) for row in b)
        assert len(b) * width <= 1024 or len(b) == 1
    unpacked = plan_batches(lengths, token_budget=1024, pack_len=0)
    assert all(len(row) == 1 for b in unpacked for row in b)


@pytest.mark.parametrize("budget,pack_len", [(512, 128), (64, 32), (4096, 256), (512, 0)])
def test_window_nll_matches_each_window_alone(tiny, budget, pack_len):
    model, _ = tiny
    windows = some_windows()
    got = window_nll(model, windows, pad_id=0, token_budget=budget, pack_len=pack_len)
    want = [alone_nll(model, w) for w in windows]
    assert got == pytest.approx(want, rel=1e-4)


def test_unpacked_batch_uses_padding_mask(tiny):
    model, _ = tiny
    windows = some_windows(seed=1, count=6)
    got = batch_nll(model, windows, pad_id=0, split=output_layer(model))
    assert got == pytest.approx([alone_nll(model, w) for w in windows], rel=1e-4)


def test_multiple_choice_continuations_match_plain_scoring(tiny):
    from langadapt.eval.bpc import prefix_token_id
    from langadapt.eval.mc import continuation_nll

    model, tok = tiny
    pairs = [("Question: 2 + 2?\nAnswer:", " four"), ("Question: 2 + 2?\nAnswer:", " five hundred"),
             ("問：床前明月光的下一句？\n答：", " 疑是地上霜"), ("Q", " a")]
    got = continuation_nll(model, tok, pairs, batch_size=2, max_length=64)
    prefix = prefix_token_id(tok)
    want = []
    for context, cont in pairs:
        c = tok(cont, add_special_tokens=False)["input_ids"]
        ids = [prefix] + tok(context, add_special_tokens=False)["input_ids"] + c
        want.append(alone_nll(model, Window(0, ids, len(c))))
    assert got == pytest.approx(want, rel=1e-4)
