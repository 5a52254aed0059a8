"""Scoring many short token windows fast: pack them into rows, rows into token-budget batches.

    from langadapt.eval.packed import Window, window_nll
    nll = window_nll(model, [Window(0, ids, scored=len(ids) - 1)], pad_id=0)

On a CPU the matrix multiplies of a small decoder run several times faster on a few thousand rows
at once than on the few dozen tokens of one short document, so documents are packed end to end
into rows (each keeps positions 0..n-1 and attends only to itself: the model builds the
block-diagonal causal mask from the restarting `position_ids`), and rows of similar length share a
forward pass up to a token budget. Padding at the end of a row is one more packed segment whose
outputs are ignored, so it never touches real tokens. Results equal one-window-at-a-time scoring up
to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

# Scored positions pushed through the output layer at once: bounds the (positions x vocab) logits.
_HEAD_CHUNK = 1024
# Short windows are packed into rows of this many tokens. Attention inside a packed row costs
# row length squared whatever the segments, so rows stay short; batches of many rows keep the
# matrix multiplies large instead.
PACK_LEN = 256
# Attention kernels that build a packed (block-diagonal) mask from restarting position_ids.
_PACKING_ATTENTION = {"sdpa", "eager", "flash_attention_2", "flash_attention_3", "flex_attention"}


@dataclass
class Window:
    doc: int
    ids: list[int]
    scored: int
    """The last `scored` tokens of `ids` are targets (each predicted from the tokens before it)."""


def output_layer(model: Any):
    """(decoder, head, softcap) when the model splits that way, else None (then a full forward is used)."""
    try:
        decoder = model.get_decoder()
        head = model.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return None
    if decoder is None or head is None or decoder is model:
        return None
    return decoder, head, getattr(model.config, "final_logit_softcapping", None)


def supports_packing(model: Any) -> bool:
    config = getattr(model, "config", None)
    return getattr(config, "_attn_implementation", None) in _PACKING_ATTENTION


def pack_rows(lengths: Sequence[int], pack_len: int) -> list[list[int]]:
    """First-fit decreasing: window indices per row; a row holds `pack_len` tokens or one longer window."""
    rows: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        n = lengths[i]
        for r, free in enumerate(room):
            if n <= free:
                rows[r].append(i)
                room[r] -= n
                break
        else:
            rows.append([i])
            room.append(max(pack_len, n) - n)
    return rows


def plan_batches(lengths: Sequence[int], token_budget: int, pack_len: int) -> list[list[list[int]]]:
    """Batches of rows of window indices; a batch's rows x width stays within `token_budget` when it can."""
    rows = pack_rows(lengths, pack_len) if pack_len > 0 else [[i] for i in range(len(lengths))]
    used = [sum(lengths[i] for i in row) for row in rows]
    rows = [rows[r] for r in sorted(range(len(rows)), key=lambda r: -used[r])]
    used.sort(reverse=True)
    batches: list[list[list[int]]] = []
    width = 0
    for row, n in zip(rows, used):
        # Longest first, so the first row of a batch sets its width and later rows only pad up to it.
        if batches and (len(batches[-1]) + 1) * width <= token_budget:
            batches[-1].append(row)
        else:
            batches.append([row])
            width = n
    return batches


def packed_nll(model: Any, rows: list[list[Window]], pad_id: int, split: Any, packed: bool = True) -> list[list[float]]:
    """NLL (nats) of every window, one forward pass for all rows; `packed=False` needs one window per row."""
    import torch
    import torch.nn.functional as F

    device = next(model.parameters()).device
    width = max(sum(len(w.ids) for w in row) for row in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    flat, targets, owners = [], [], []
    k = 0
    for r, row in enumerate(rows):
        off = 0
        for w in row:
            n = len(w.ids)
            input_ids[r, off:off + n] = torch.tensor(w.ids)
            positions[r, off:off + n] = torch.arange(n)
            mask[r, off:off + n] = 1
            # Logit at position p predicts token p+1; the last `scored` tokens are targets.
            first = n - 1 - w.scored
            flat.extend(range(r * width + off + first, r * width + off + n - 1))
            targets.extend(w.ids[first + 1:n])
            owners.extend([k] * w.scored)
            off += n
            k += 1
        # Padding restarts at position 0: a segment of its own that no real token attends to.
        positions[r, off:] = torch.arange(width - off)
    # No KV cache: with one, the model would not read the restarting positions as packed segments.
    kwargs: dict[str, Any] = {"input_ids": input_ids.to(device), "position_ids": positions.to(device), "use_cache": False}
    if not packed:
        kwargs["attention_mask"] = mask.to(device)
    flat_t = torch.tensor(flat, dtype=torch.long, device=device)
    target_t = torch.tensor(targets, dtype=torch.long, device=device)
    owner_t = torch.tensor(owners, dtype=torch.long, device=device)
    if split is not None:
        decoder, head, softcap = split
        hidden = decoder(**kwargs).last_hidden_state
        # Only scored positions go through the (vocab-wide) output layer, in bounded chunks.
        picked = hidden.reshape(-1, hidden.shape[-1]).index_select(0, flat_t)
        losses = []
        for i in range(0, picked.shape[0], _HEAD_CHUNK):
            logits = head(picked[i:i + _HEAD_CHUNK]).float()
            if softcap:
                logits = torch.tanh(logits / softcap) * softcap
            losses.append(F.cross_entropy(logits, target_t[i:i + _HEAD_CHUNK], reduction="none"))
        token_nll = torch.cat(losses)
    else:
        logits = model(**kwargs).logits
        token_nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).index_select(0, flat_t).float(), target_t,
                                    reduction="none")
    per_window = torch.zeros(k, dtype=torch.float64, device=device)
    per_window.index_add_(0, owner_t, token_nll.double())
    values = per_window.tolist()
    out, k = [], 0
    for row in rows:
        out.append(values[k:k + len(row)])
        k += len(row)
    return out


def batch_nll(model: Any, batch: list[Window], pad_id: int, split: Any) -> list[float]:
    """NLL of each window of `batch` in one right-padded forward pass, one window per row."""
    return [v[0] for v in packed_nll(model, [[w] for w in batch], pad_id, split, packed=supports_packing(model))]


def window_nll(model: Any, windows: Sequence[Window], pad_id: int, token_budget: int = 8192,
               pack_len: int | None = None, progress: bool = False, desc: str = "scoring") -> list[float]:
    """NLL (nats) of each window's scored tokens, in the order given; the model must be in eval mode.

    `token_budget` bounds rows x width per forward pass (a window longer than it still gets its own
    pass); `pack_len` is the packed row length (default PACK_LEN, 0 disables packing).
    """
    import torch

    if not windows:
        return []
    can_pack = supports_packing(model)
    pack = (PACK_LEN if pack_len is None else pack_len) if can_pack else 0
    split = output_layer(model)
    lengths = [len(w.ids) for w in windows]
    batches: Iterable[list[list[int]]] = plan_batches(lengths, max(1, token_budget), pack)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc=desc, unit="batch", leave=False)
    out = [0.0] * len(windows)
    with torch.inference_mode():
        for batch in batches:
            rows = [[windows[i] for i in row] for row in batch]
            for row, values in zip(batch, packed_nll(model, rows, pad_id, split, packed=can_pack)):
                for i, v in zip(row, values):
                    out[i] = v
    return out
