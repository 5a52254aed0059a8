"""Resize a model's embeddings for an extended tokenizer and initialise the new rows.

    from langadapt.tokenizer.embeddings import extend_embeddings
    info = extend_embeddings(model, base_tj, new_pieces, first_id, init="mean", token_counts=counts)

Each new piece is spelled under the base tokenizer (its decomposition); the init method (a
registered object of `langadapt.tokenizer.inits`: mean, fitted, random, freq-weighted, focus,
calibrated, or one registered later) computes its row from the embeddings of those base tokens and,
when it needs training text, fits the rows on it once the model is resized. This module does what
every init shares: tied and untied output heads are both handled, base rows stay exactly as they
were, and the matrix is padded to a multiple of 64 with padding rows at the mean of all base rows
so they take almost no probability mass.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from langadapt.errors import UserError
from langadapt.tokenizer import inits
from langadapt.tokenizer.pieces import TokenizerJson


def decompositions(base: TokenizerJson, pieces: list[str]) -> list[list[int]]:
    """Base token ids of each piece, as the base BPE model splits its spelling."""
    if not pieces:
        return []
    model = base.model_only()
    return [enc.ids for enc in model.encode_batch(pieces, add_special_tokens=False)]


def padded_size(n: int, multiple: int) -> int:
    return ((n + multiple - 1) // multiple) * multiple


def extend_embeddings(model: Any, base: TokenizerJson, pieces: list[str], first_id: int, init: str = "mean",
                      token_counts: Counter | None = None, pad_to_multiple_of: int = 64, seed: int = 0,
                      calibration: dict | None = None) -> dict:
    """Resize `model` in place for ids up to first_id + len(pieces) and initialise the new rows.

    `calibration` (an init that needs training text): keyword arguments of the init's `fit`, at least
    {"ext_tokenizer": the extended tokenizers.Tokenizer, "texts": training texts}
    (`extend.calibration_inputs` builds them from the recipe).
    """
    import torch

    method = inits.get(init)
    if method.needs_text and not (calibration and calibration.get("texts")):
        raise UserError(f"init {init} needs training text to measure the base model's predictions on")
    emb_in = model.get_input_embeddings()
    old_rows = emb_in.weight.shape[0]
    if first_id > old_rows:
        raise UserError(f"new ids start at {first_id} but the model has only {old_rows} embedding rows")
    needed = first_id + len(pieces)
    size = padded_size(max(needed, old_rows), pad_to_multiple_of)
    old_in = emb_in.weight.detach().clone()
    out = model.get_output_embeddings()
    tied = out is None or out.weight.data_ptr() == emb_in.weight.data_ptr()
    old_out = None if tied else out.weight.detach().clone()

    decomp = decompositions(base, pieces)
    new = inits.NewPieces(base, pieces, decomp, token_counts, float(getattr(model.config, "initializer_range", 0.02)), seed)
    model.resize_token_embeddings(size, mean_resizing=False)
    emb_in = model.get_input_embeddings()
    with torch.no_grad():
        for matrix_old, param in [(old_in, emb_in.weight)] + ([] if tied else [(old_out, model.get_output_embeddings().weight)]):
            # Base rows stay as they were; only [first_id, needed) get the chosen init.
            param[:first_id] = matrix_old[:first_id].to(param.dtype)
            if pieces:
                rows = method.rows(matrix_old[:first_id], new)
                param[first_id:needed] = rows.to(param.dtype)
            if size > needed:
                param[needed:size] = matrix_old[:first_id].float().mean(0).to(param.dtype)
    if not tied:
        model.config.tie_word_embeddings = False
    fit = method.fit(model, decomp, first_id, **(calibration or {})) if pieces else None
    # A fit may untie the head (different input and output rows for one piece).
    tied = tied and not (fit or {}).get("untied", False)
    return {
        "base_vocab_size": first_id,
        "new_token_ids": [first_id, needed],
        "padded_vocab_size": size,
        "init": init,
        "tied": tied,
        "decomposition_mean_length": (sum(map(len, decomp)) / len(decomp)) if decomp else 0.0,
        **({"calibration": fit} if fit else {}),
    }
