"""Resize a model's embeddings for an extended tokenizer and initialise the new rows.

    from langadapt.tokenizer.embeddings import extend_embeddings
    info = extend_embeddings(model, base_tj, new_pieces, first_id, init="mean", token_counts=counts)

Each new piece is spelled under the base tokenizer (its decomposition); its row starts from the
embeddings of those base tokens:
- mean: their plain mean (default; bounds how far the model's predictions move, Hewitt 2021);
- freq-weighted: smooth-inverse-frequency weights a / (a + p(token)) (Arora et al. 2017), so rare,
  informative sub-tokens count more than ubiquitous lead bytes;
- focus: FOCUS-style sparse mix: sparsemax over the similarity of each overlapping base token
  (every base token whose text occurs inside the new piece) to the decomposition mean;
- fitted: the mean, then the input rows fitted to the base model on training text by token
  distillation (tokenizer/fit_rows.py); the output rows are untied and keep the mean;
- calibrated: the mean, then the output side refitted so each piece gets the base model's
  probability of its whole spelling (tokenizer/calibrate.py; needs training text and one pass of
  the base model over it);
- random: normal(0, initializer_range), the usual default, kept for comparison.
Tied and untied output heads are both handled. The matrix is padded to a multiple of 64; padding
rows get the mean of all base rows so they take almost no probability mass.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from langadapt.errors import UserError
from langadapt.tokenizer.pieces import TokenizerJson

InitMethod = Literal["fitted", "mean", "random", "freq-weighted", "focus", "calibrated"]
INIT_METHODS: tuple[str, ...] = ("fitted", "mean", "random", "freq-weighted", "focus", "calibrated")
# Inits that start from the mean and then fit rows on training text (they need `calibration`).
FITTED_INITS = ("fitted", "calibrated")
SIF_A = 1e-3


def decompositions(base: TokenizerJson, pieces: list[str]) -> list[list[int]]:
    """Base token ids of each piece, as the base BPE model splits its spelling."""
    if not pieces:
        return []
    model = base.model_only()
    return [enc.ids for enc in model.encode_batch(pieces, add_special_tokens=False)]


def _sparsemax(z: Any) -> Any:
    """Sparsemax (Martins & Astudillo 2016) of a 1-D tensor: a probability vector with exact zeros."""
    import torch

    sorted_z, _ = torch.sort(z, descending=True)
    k = torch.arange(1, z.numel() + 1, dtype=z.dtype)
    cumsum = sorted_z.cumsum(0)
    support = 1 + k * sorted_z > cumsum
    k_max = int(support.nonzero().max()) + 1
    tau = (cumsum[k_max - 1] - 1) / k_max
    return torch.clamp(z - tau, min=0)


def _overlapping(base: TokenizerJson, piece: str, cache: dict[str, int]) -> list[int]:
    """Base tokens whose spelling occurs inside the piece (substrings of length >= 1)."""
    vocab = base.vocab
    found = []
    for i in range(len(piece)):
        for j in range(i + 1, len(piece) + 1):
            tok = vocab.get(piece[i:j])
            if tok is not None:
                found.append(tok)
    return sorted(set(found))


def _weights(method: str, ids: list[int], counts: Counter | None, total: int) -> list[float]:
    if method == "freq-weighted":
        if not counts or total <= 0:
            raise UserError("freq-weighted init needs corpus token counts")
        raw = [SIF_A / (SIF_A + counts.get(i, 0) / total) for i in ids]
        norm = sum(raw)
        return [w / norm for w in raw]
    return [1.0 / len(ids)] * len(ids)


def new_rows(matrix: Any, base: TokenizerJson, pieces: list[str], decomp: list[list[int]], method: str,
             counts: Counter | None = None, std: float = 0.02, seed: int = 0) -> Any:
    """The initial rows for `pieces`, computed from `matrix` (base rows, one per base id)."""
    import torch

    rows = torch.empty(len(pieces), matrix.shape[1], dtype=torch.float32)
    base_rows = matrix.detach().float()
    if method == "random":
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(rows.shape, generator=gen) * std
    total = sum(counts.values()) if counts else 0
    for k, (piece, ids) in enumerate(zip(pieces, decomp)):
        if not ids:
            rows[k] = base_rows.mean(0)
            continue
        w = torch.tensor(_weights(method, ids, counts, total))
        mean = (w[:, None] * base_rows[ids]).sum(0)
        if method == "focus":
            cand = _overlapping(base, piece, {})
            cand = sorted(set(cand) | set(ids))
            sims = torch.nn.functional.cosine_similarity(base_rows[cand], mean[None, :], dim=1)
            # Temperature 0.1 keeps several close candidates in the support instead of only the best.
            mix = _sparsemax(sims / 0.1)
            rows[k] = (mix[:, None] * base_rows[cand]).sum(0)
        else:
            rows[k] = mean
    return rows


def padded_size(n: int, multiple: int) -> int:
    return ((n + multiple - 1) // multiple) * multiple


def extend_embeddings(model: Any, base: TokenizerJson, pieces: list[str], first_id: int, init: str = "mean",
                      token_counts: Counter | None = None, pad_to_multiple_of: int = 64, seed: int = 0,
                      calibration: dict | None = None) -> dict:
    """Resize `model` in place for ids up to first_id + len(pieces) and initialise the new rows.

    `calibration` (inits `fitted` and `calibrated`): keyword arguments of `fit_rows.fit_new_rows` or
    `calibrate.calibrate_rows`, at least {"ext_tokenizer": the extended tokenizers.Tokenizer,
    "texts": training texts}.
    """
    import torch

    if init not in INIT_METHODS:
        raise UserError(f"unknown init {init!r}; choose one of {', '.join(INIT_METHODS)}")
    if init in FITTED_INITS and not (calibration and calibration.get("texts")):
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
    std = float(getattr(model.config, "initializer_range", 0.02))
    model.resize_token_embeddings(size, mean_resizing=False)
    emb_in = model.get_input_embeddings()
    with torch.no_grad():
        for matrix_old, param in [(old_in, emb_in.weight)] + ([] if tied else [(old_out, model.get_output_embeddings().weight)]):
            # Base rows stay as they were; only [first_id, needed) get the chosen init.
            param[:first_id] = matrix_old[:first_id].to(param.dtype)
            if pieces:
                start_from = "mean" if init in FITTED_INITS else init
                rows = new_rows(matrix_old[:first_id], base, pieces, decomp, start_from, token_counts, std, seed)
                param[first_id:needed] = rows.to(param.dtype)
            if size > needed:
                param[needed:size] = matrix_old[:first_id].float().mean(0).to(param.dtype)
    if not tied:
        model.config.tie_word_embeddings = False
    fit = None
    if init == "calibrated" and pieces:
        from langadapt.tokenizer.calibrate import calibrate_rows

        fit = calibrate_rows(model, decomp, first_id, **calibration)
    elif init == "fitted" and pieces:
        from langadapt.tokenizer.fit_rows import fit_new_rows

        fit = fit_new_rows(model, decomp, first_id, **calibration)
        tied = tied and not fit["untied"]
    return {
        "base_vocab_size": first_id,
        "new_token_ids": [first_id, needed],
        "padded_vocab_size": size,
        "init": init,
        "tied": tied,
        "decomposition_mean_length": (sum(map(len, decomp)) / len(decomp)) if decomp else 0.0,
        **({"calibration": fit} if fit else {}),
    }
