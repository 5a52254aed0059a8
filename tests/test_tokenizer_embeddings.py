"""New embedding rows for an extended vocabulary: resize (tied and untied), init methods, padding."""

from __future__ import annotations

from collections import Counter
from itertools import islice

import pytest
import torch

from langadapt.config.tokenizer import TokenizerConfig
from langadapt.errors import UserError
from langadapt.tokenizer.embeddings import decompositions, extend_embeddings
from langadapt.tokenizer.inits.focus import sparsemax
from langadapt.tokenizer.extend import extend_tokenizer
from langadapt.tokenizer.texts import iter_texts


@pytest.fixture(scope="module")
def extension(tiny_model_dir):
    from transformers import AutoTokenizer

    from langadapt.data.fetch import fetch

    texts = list(islice(iter_texts([fetch("chinese-poetry") / "tang.jsonl"]), 800))
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    return extend_tokenizer(tok, texts, TokenizerConfig(new_tokens=150), progress=False)


def _tiny(tiny_model_dir, tied: bool = True):
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    if tied:
        return AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    config = LlamaConfig.from_pretrained(tiny_model_dir)
    config.tie_word_embeddings = False
    torch.manual_seed(1)
    return LlamaForCausalLM(config)


def test_mean_init_tied(tiny_model_dir, extension):
    model = _tiny(tiny_model_dir)
    old = model.get_input_embeddings().weight.detach().clone()
    info = extend_embeddings(model, extension.base, extension.pieces, extension.first_id, init="mean")
    new = model.get_input_embeddings().weight.detach()
    first, end = info["new_token_ids"]
    assert end - first == len(extension.pieces) == 150
    assert new.shape[0] == info["padded_vocab_size"] and new.shape[0] % 64 == 0 and new.shape[0] >= end
    assert model.config.vocab_size == new.shape[0]
    assert torch.equal(new[:first], old)
    for k, ids in enumerate(decompositions(extension.base, extension.pieces)):
        assert len(ids) >= 2
        assert torch.allclose(new[first + k], old[ids].mean(0), atol=1e-6)
    assert torch.allclose(new[end:], old.mean(0).expand(new.shape[0] - end, -1), atol=1e-6)
    assert model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    out = model(torch.tensor([[first, end - 1, 5]])).logits
    assert out.shape[-1] == new.shape[0] and torch.isfinite(out).all()


def test_untied_head_gets_its_own_rows(tiny_model_dir, extension):
    model = _tiny(tiny_model_dir, tied=False)
    old_in = model.get_input_embeddings().weight.detach().clone()
    old_out = model.get_output_embeddings().weight.detach().clone()
    info = extend_embeddings(model, extension.base, extension.pieces, extension.first_id, init="mean")
    assert info["tied"] is False
    w_in, w_out = model.get_input_embeddings().weight, model.get_output_embeddings().weight
    assert w_in.data_ptr() != w_out.data_ptr() and w_out.shape == w_in.shape
    first = info["new_token_ids"][0]
    assert torch.equal(w_out[:first].detach(), old_out)
    ids = decompositions(extension.base, extension.pieces[:1])[0]
    assert torch.allclose(w_out[first].detach(), old_out[ids].mean(0), atol=1e-6)
    assert torch.allclose(w_in[first].detach(), old_in[ids].mean(0), atol=1e-6)


def test_random_init_is_small_noise(tiny_model_dir, extension):
    model = _tiny(tiny_model_dir)
    info = extend_embeddings(model, extension.base, extension.pieces, extension.first_id, init="random", seed=3)
    first, end = info["new_token_ids"]
    rows = model.get_input_embeddings().weight[first:end].detach()
    assert 0.01 < rows.std().item() < 0.03
    assert abs(rows.mean().item()) < 0.01


def test_freq_weighted_leans_towards_rare_subtokens(tiny_model_dir, extension):
    model = _tiny(tiny_model_dir)
    old = model.get_input_embeddings().weight.detach().clone()
    counts: Counter = extension.learned.base_token_counts
    info = extend_embeddings(model, extension.base, extension.pieces, extension.first_id, init="freq-weighted",
                             token_counts=counts)
    first = info["new_token_ids"][0]
    new = model.get_input_embeddings().weight.detach()
    checked = 0
    for k, ids in enumerate(decompositions(extension.base, extension.pieces)):
        if len(set(counts[i] for i in ids)) < 2 or len(set(ids)) < len(ids):
            continue
        rare = min(ids, key=lambda i: counts[i])
        mean = old[ids].mean(0)
        assert torch.dist(new[first + k], old[rare]) < torch.dist(mean, old[rare])
        checked += 1
    assert checked > 10


def test_focus_init_is_a_sparse_convex_mix(tiny_model_dir, extension):
    weights = sparsemax(torch.tensor([3.0, 1.0, 0.2, -2.0]))
    assert torch.isclose(weights.sum(), torch.tensor(1.0)) and (weights >= 0).all() and (weights == 0).any()
    model = _tiny(tiny_model_dir)
    old = model.get_input_embeddings().weight.detach().clone()
    info = extend_embeddings(model, extension.base, extension.pieces, extension.first_id, init="focus")
    first, end = info["new_token_ids"]
    rows = model.get_input_embeddings().weight[first:end].detach()
    assert torch.isfinite(rows).all()
    # A convex mix of base rows stays inside their per-dimension range.
    assert (rows <= old.max(0).values + 1e-6).all() and (rows >= old.min(0).values - 1e-6).all()


def test_unknown_init_is_a_user_error(tiny_model_dir, extension):
    from langadapt.errors import UserError

    with pytest.raises(UserError):
        extend_embeddings(_tiny(tiny_model_dir), extension.base, extension.pieces, extension.first_id, init="zeros")


def test_calibration_targets_are_the_base_probability_of_the_spelling(tiny_model_dir, extension):
    """y = logit(t1 | h) + sum log P(t_j | ...), checked against a plain forward of the base model."""
    from langadapt.tokenizer.calibrate import collect_targets

    model = _tiny(tiny_model_dir)
    text = next(t for t in islice(iter_texts([_tang()]), 50)
                if any(i >= extension.first_id for i in extension.extended.full().encode(t).ids))
    decomp = decompositions(extension.base, extension.pieces)
    targets = collect_targets(model, extension.extended.full(), decomp, extension.first_id, [text],
                              sep_id=0, progress=False)
    assert targets
    base_ids, spans = [0], []
    for tok in extension.extended.full().encode(text).ids:
        spelled = decomp[tok - extension.first_id] if tok >= extension.first_id else [tok]
        spans.append((len(base_ids), spelled, tok))
        base_ids += spelled
    with torch.no_grad():
        logits = model(torch.tensor([base_ids])).logits[0].float()
    logp = torch.log_softmax(logits, -1)
    start, spelled, tok = next(s for s in spans if s[2] >= extension.first_id)
    want = float(logits[start - 1, spelled[0]]) + sum(float(logp[start + j - 1, spelled[j]]) for j in range(1, len(spelled)))
    assert targets[tok][1][0] == pytest.approx(want, abs=2e-2)  # bf16 autocast where the CPU has it


def test_calibrated_init_fits_seen_pieces_and_keeps_unseen_at_the_mean(tiny_model_dir, extension):
    texts = list(islice(iter_texts([_tang()]), 60))
    mean_model, model = _tiny(tiny_model_dir), _tiny(tiny_model_dir)
    extend_embeddings(mean_model, extension.base, extension.pieces, extension.first_id, init="mean")
    calibration = {"ext_tokenizer": extension.extended.full(), "texts": texts, "max_chars": 3000, "ridge": 1.0}
    info = extend_embeddings(model, extension.base, extension.pieces, extension.first_id, init="calibrated",
                             calibration=calibration)
    fit = info["calibration"]
    assert 0 < fit["pieces_fitted"] <= len(extension.pieces)
    assert fit["mean_abs_logit_error_after"] < fit["mean_abs_logit_error_before"]
    first, end = info["new_token_ids"]
    new, mean = model.get_input_embeddings().weight.detach(), mean_model.get_input_embeddings().weight.detach()
    assert torch.equal(new[:first], mean[:first])
    changed = (new[first:end] - mean[first:end]).abs().amax(1) > 0
    assert int(changed.sum()) == fit["pieces_fitted"]
    with pytest.raises(UserError, match="calibrated needs training text"):
        extend_embeddings(_tiny(tiny_model_dir), extension.base, extension.pieces, extension.first_id, init="calibrated")


def _tang():
    from langadapt.data.fetch import fetch

    return fetch("chinese-poetry") / "tang.jsonl"


def test_extend_model_with_calibrated_init_records_the_fit(tiny_model_dir, tmp_path):
    """The recipe path: `tokenizer.init: calibrated` samples training text itself and saves the fit statistics."""
    import json

    from langadapt.tokenizer.extend import EXTENSION_FILE, extend_model

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n"
                              for t in islice(iter_texts([_tang()]), 400)), encoding="utf-8")
    cfg = TokenizerConfig(new_tokens=120, init="calibrated", calibration_chars=4000)
    ext, info = extend_model(str(tiny_model_dir), [corpus], cfg, tmp_path / "out", progress=False)
    assert ext.calibration_texts and info["init"] == "calibrated"
    assert info["calibration"]["pieces_fitted"] > 0
    saved = json.loads((tmp_path / "out" / EXTENSION_FILE).read_text(encoding="utf-8"))
    assert saved["calibration"] == info["calibration"]


def test_fitted_init_unties_fits_both_sides_and_keeps_base_rows(tiny_model_dir, extension):
    """Init `fitted`: input rows distilled, output rows fitted (untied); every base row stays as it was."""
    texts = list(islice(iter_texts([_tang()]), 80))
    base = _tiny(tiny_model_dir)
    old = base.get_input_embeddings().weight.detach().clone()
    mean_model, model = _tiny(tiny_model_dir), _tiny(tiny_model_dir)
    extend_embeddings(mean_model, extension.base, extension.pieces, extension.first_id, init="mean")
    fit = {"ext_tokenizer": extension.extended.full(), "texts": texts, "max_chars": 3000,
           "sep_id": 0, "distill_epochs": 2, "output_steps": 60, "progress": False}  # output fit on too
    info = extend_embeddings(model, extension.base, extension.pieces, extension.first_id, init="fitted", calibration=fit)
    first, end = info["new_token_ids"]
    stats = info["calibration"]
    assert stats["untied"] and not info["tied"] and model.config.tie_word_embeddings is False
    emb, head = model.get_input_embeddings().weight.detach(), model.get_output_embeddings().weight.detach()
    assert emb.data_ptr() != head.data_ptr()
    assert torch.equal(emb[:first], old) and torch.equal(head[:first], old)
    mean = mean_model.get_input_embeddings().weight.detach()
    assert not torch.equal(emb[first:end], mean[first:end]) and not torch.equal(head[first:end], mean[first:end])
    assert not torch.equal(emb[first:end], head[first:end])
    assert stats["input"]["last_epoch_mse"] < stats["input"]["first_epoch_mse"]
    assert stats["output"]["heldout_nll_after"] < stats["output"]["heldout_nll_before"]
    # Text made only of base tokens runs through exactly the base network: same hidden states, and the
    # base tokens' logits are unchanged (only the new rows' share of the softmax moves).
    ids = torch.tensor([[5, 17, 300, 42, 9]])
    with torch.no_grad():
        want = base(ids).logits[0]
        got = model(ids).logits[0, :, :first]
    assert torch.allclose(got, want, atol=1e-5)
    with pytest.raises(UserError, match="fitted needs training text"):
        extend_embeddings(_tiny(tiny_model_dir), extension.base, extension.pieces, extension.first_id, init="fitted")
