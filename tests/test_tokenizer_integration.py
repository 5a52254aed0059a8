"""Right after extension, the real SmolLM2 with mean-initialised rows must stay close to its base on
held-out poems, and far better than random rows (the usual default); calibrated rows closer still."""

from __future__ import annotations

from itertools import islice

import pytest

from langadapt.config.tokenizer import TokenizerConfig
from langadapt.tokenizer.texts import iter_texts


@pytest.mark.integration
def test_mean_init_beats_random_right_after_extension(smollm2_dir, smollm2_tokenizer, tmp_path):
    from langadapt.data.fetch import fetch
    from langadapt.models import load_model
    from langadapt.tokenizer.embeddings import extend_embeddings
    from langadapt.tokenizer.extend import extend_tokenizer
    from langadapt.tokenizer.extend_hf import save_tokenizer
    from langadapt.tokenizer.report import bits_per_char

    texts = list(islice(iter_texts([fetch("chinese-poetry") / "tang.jsonl"]), 2000))
    train, held = texts[:1900], texts[1900:1904]
    ext = extend_tokenizer(smollm2_tokenizer, train, TokenizerConfig(new_tokens=250), progress=False)
    tok = save_tokenizer(smollm2_tokenizer, ext.extended, tmp_path / "tok")
    assert sum(len(tok.encode(t)) for t in held) < 0.85 * sum(len(smollm2_tokenizer.encode(t)) for t in held)

    base_bpc = bits_per_char(load_model(smollm2_dir, dtype="fp32"), smollm2_tokenizer, held)
    scores = {}
    calibration = {"ext_tokenizer": ext.extended.full(), "texts": train[::-1], "max_chars": 15_000,
                   "sep_id": smollm2_tokenizer.eos_token_id}
    for init in ("mean", "random", "calibrated"):
        model = load_model(smollm2_dir, dtype="fp32")
        extend_embeddings(model, ext.base, ext.pieces, ext.first_id, init=init, calibration=calibration)
        scores[init] = bits_per_char(model, tok, held)
    assert scores["mean"] < scores["random"] - 1.0, (base_bpc, scores)
    assert scores["mean"] < 1.6 * base_bpc, (base_bpc, scores)
    # Fitting the output side to the base model's probability of each spelling (on training text) helps.
    assert scores["calibrated"] < scores["mean"], (base_bpc, scores)
