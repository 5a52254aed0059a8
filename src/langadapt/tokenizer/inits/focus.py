"""Init `focus`: a FOCUS-style sparse mix of the base tokens that overlap the new piece.

Every base token whose text occurs inside the piece (and every token of its spelling) is a
candidate; sparsemax over each candidate's cosine similarity to the spelling mean picks a few and
mixes their rows, so a piece can start from a close whole-word token instead of an average of bytes.
"""

from __future__ import annotations

from typing import Any

from langadapt.tokenizer.inits.base import InitMethod, NewPieces
from langadapt.tokenizer.pieces import TokenizerJson

# Temperature of the similarities: 0.1 keeps several close candidates in the support instead of only the best.
TEMPERATURE = 0.1


def sparsemax(z: Any) -> Any:
    """Sparsemax (Martins & Astudillo 2016) of a 1-D tensor: a probability vector with exact zeros."""
    import torch

    sorted_z, _ = torch.sort(z, descending=True)
    k = torch.arange(1, z.numel() + 1, dtype=z.dtype)
    cumsum = sorted_z.cumsum(0)
    support = 1 + k * sorted_z > cumsum
    k_max = int(support.nonzero().max()) + 1
    tau = (cumsum[k_max - 1] - 1) / k_max
    return torch.clamp(z - tau, min=0)


def overlapping(base: TokenizerJson, piece: str) -> list[int]:
    """Base tokens whose spelling occurs inside the piece (substrings of length >= 1)."""
    vocab = base.vocab
    found = set()
    for i in range(len(piece)):
        for j in range(i + 1, len(piece) + 1):
            tok = vocab.get(piece[i:j])
            if tok is not None:
                found.add(tok)
    return sorted(found)


class Focus(InitMethod):
    name = "focus"

    def rows(self, matrix: Any, new: NewPieces) -> Any:
        import torch

        base_rows = matrix.detach().float()
        rows = torch.empty(len(new.pieces), base_rows.shape[1], dtype=torch.float32)
        for k, (piece, ids) in enumerate(zip(new.pieces, new.decomp)):
            if not ids:
                rows[k] = base_rows.mean(0)
                continue
            mean = base_rows[ids].mean(0)
            cand = sorted(set(overlapping(new.base, piece)) | set(ids))
            sims = torch.nn.functional.cosine_similarity(base_rows[cand], mean[None, :], dim=1)
            mix = sparsemax(sims / TEMPERATURE)
            rows[k] = (mix[:, None] * base_rows[cand]).sum(0)
        return rows


FOCUS = Focus()  # the registered instance (`langadapt.tokenizer.inits`)
