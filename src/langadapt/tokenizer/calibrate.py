"""Fit new rows' output side to what the base model already predicts (init `calibrated`).

    from langadapt.tokenizer.calibrate import calibrate_rows
    stats = calibrate_rows(model, decomp, first_id, ext_tokenizer=extended_tokenizer, texts=texts, ridge=10.0)

Why: a new piece p spells base tokens t1..tk. Right after extension the model must predict p where
the base model predicted t1, then t2, ... A mean-of-sub-tokens row gives p roughly the *average* of
those logits at the position before it, where only t1 is likely, so p starts improbable and the
extended model loses bits on exactly the text it was extended for (most on modern prose).

What p's output row should give is the base model's probability of the whole spelling:
    logit(p | h) = logit(t1 | h) + log P(t2..tk | context, t1)
That target is measured on training text (never held-out text): the text is segmented with the
extended tokenizer, spelled out in base tokens, and run once through the base model; each
occurrence of a new piece gives the final hidden state h before it and its target logit y. The row
is the ridge solution closest to its initial (mean) row:
    min_e  sum_i (h_i . e - y_i)^2 + lam |e - e0|^2,   lam = ridge * mean |h|^2
solved in the dual (a piece has few occurrences). Pieces never seen keep their mean row. The ridge
matters: fitted exactly, a row also lights up in contexts it was never seen in (more probability
mass wasted than won); ridge 10 was chosen on training text, not on held-out text.

Untied heads get the fit in the output matrix only (the input rows keep the mean); with tied
embeddings the one row serves both, which measured the same as untied on SmolLM2.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Iterator

log = logging.getLogger(__name__)

DEFAULT_RIDGE = 10.0


def spell_in_base(ext_tokenizer: Any, decomp: list[list[int]], first_id: int, texts: Iterable[str],
                  max_chars: int) -> Iterator[tuple[list[int], list[tuple[int, int, int]]]]:
    """Each text that uses a new piece, as base ids plus the (start, length, extended id) of every token."""
    used = 0
    for text in texts:
        if used >= max_chars:
            return
        ext_ids = ext_tokenizer.encode(text, add_special_tokens=False).ids
        if not any(i >= first_id for i in ext_ids):
            continue
        base_ids: list[int] = []
        spans = []
        for tok in ext_ids:
            spelled = (decomp[tok - first_id] or [tok]) if tok >= first_id else [tok]
            spans.append((len(base_ids), len(spelled), tok))
            base_ids.extend(spelled)
        used += len(text)
        yield base_ids, spans


def pack_windows(docs: Iterable[tuple[list[int], list[tuple[int, int, int]]]], window: int, sep_id: int):
    """Documents packed into windows of at most `window` ids, each document after a separator.

    A document longer than a window is split between extended tokens, so no piece is cut in two.
    Spans come back relative to the window.
    """
    ids: list[int] = []
    spans: list[tuple[int, int, int]] = []
    for base_ids, doc_spans in docs:
        if ids and len(ids) + 1 + len(base_ids) > window:
            yield ids, spans
            ids, spans = [], []
        ids.append(sep_id)
        for start, length, tok in doc_spans:
            if len(ids) + length > window:
                yield ids, spans
                ids, spans = [], []
            spans.append((len(ids), length, tok))
            ids.extend(base_ids[start:start + length])
    if ids:
        yield ids, spans


def collect_targets(model: Any, ext_tokenizer: Any, decomp: list[list[int]], first_id: int, texts: Iterable[str],
                    max_chars: int = 60_000, window: int = 512, max_per_piece: int = 32, sep_id: int = 0,
                    progress: bool = True) -> dict[int, tuple[list, list]]:
    """For each new id seen in `texts`: the base model's final hidden states before it, and its target logits."""
    import torch
    from tqdm import tqdm

    from langadapt.train.loading import cpu_has_native_bf16  # deferred: pulls torch, as the imports above

    out_rows = _output_matrix(model)[:first_id].detach().float()
    decoder = model.get_decoder()
    windows = list(pack_windows(spell_in_base(ext_tokenizer, decomp, first_id, texts, max_chars), window, sep_id))
    use_bf16 = cpu_has_native_bf16() and not torch.cuda.is_available()
    found: dict[int, tuple[list, list]] = {}
    was_training = model.training
    model.eval()
    for ids, spans in tqdm(windows, desc="calibrate new rows", disable=not progress):
        x = torch.tensor([ids], device=out_rows.device)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_bf16):
            hidden = decoder(input_ids=x).last_hidden_state[0]
        with torch.no_grad():
            hidden = hidden.float()
            logits = hidden[:-1] @ out_rows.T
            nxt = x[0, 1:, None]
            chosen = logits.gather(1, nxt)[:, 0]                    # logit of the token that follows
            logp = chosen - torch.logsumexp(logits, dim=-1)         # its log-probability
            # y(span) = logit of its first base token + log-probs of the rest: prefix sums make it O(1).
            csum = torch.cat([torch.zeros(1), logp.cumsum(0)]).tolist()
            first = chosen.tolist()
        for start, length, tok in spans:
            if tok < first_id or start == 0:
                continue
            hs, ys = found.setdefault(tok, ([], []))
            if len(ys) >= max_per_piece:
                continue
            hs.append(hidden[start - 1].clone())
            ys.append(first[start - 1] + csum[start + length - 1] - csum[start])
    model.train(was_training)
    return found


def solve_rows(init_rows: Any, targets: dict[int, tuple[list, list]], first_id: int,
               ridge: float = DEFAULT_RIDGE) -> tuple[Any, dict]:
    """Ridge-corrected rows: e = e0 + H^T (H H^T + lam I)^-1 (y - H e0)."""
    import torch

    rows = init_rows.detach().clone().float()
    if not targets:
        return rows, {"pieces_fitted": 0}
    sq_norms = torch.cat([torch.stack(h).pow(2).sum(1) for h, _ in targets.values()])
    lam = ridge * float(sq_norms.mean())
    err_before, err_after = 0.0, 0.0
    for tok, (hs, ys) in targets.items():
        h, y = torch.stack(hs), torch.tensor(ys)
        e0 = rows[tok - first_id]
        resid = y - h @ e0
        alpha = torch.linalg.solve(h @ h.T + lam * torch.eye(len(ys)), resid)
        rows[tok - first_id] = e0 + h.T @ alpha
        err_before += float(resid.abs().sum())
        err_after += float((y - h @ rows[tok - first_id]).abs().sum())
    n = int(sq_norms.numel())
    return rows, {"pieces_fitted": len(targets), "occurrences": n, "ridge": ridge,
                  "mean_abs_logit_error_before": round(err_before / n, 3),
                  "mean_abs_logit_error_after": round(err_after / n, 3)}


def calibrate_rows(model: Any, decomp: list[list[int]], first_id: int, ext_tokenizer: Any, texts: Iterable[str],
                   max_chars: int = 60_000, ridge: float = DEFAULT_RIDGE, sep_id: int = 0, progress: bool = True) -> dict:
    """Refit the output side of rows [first_id, first_id + len(decomp)) in place; returns fit statistics.

    The keyword arguments after `first_id` are what init `calibrated` passes on (`extend_embeddings(calibration=...)`)."""
    import torch

    targets = collect_targets(model, ext_tokenizer, decomp, first_id, texts, max_chars=max_chars, sep_id=sep_id,
                              progress=progress)
    weight = _output_matrix(model)
    end = first_id + len(decomp)
    rows, stats = solve_rows(weight[first_id:end], targets, first_id, ridge=ridge)
    with torch.no_grad():
        weight[first_id:end] = rows.to(weight.dtype)
    log.info("calibrated %d of %d new rows on %d occurrences", stats["pieces_fitted"], len(decomp), stats.get("occurrences", 0))
    return stats


def _output_matrix(model: Any) -> Any:
    out = model.get_output_embeddings()
    return (out if out is not None else model.get_input_embeddings()).weight
