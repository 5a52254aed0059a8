"""Init `freq-weighted`: smooth-inverse-frequency weights a / (a + p(token)) (Arora et al. 2017).

Rare, informative sub-tokens count more than ubiquitous lead bytes; p(token) is the base token's
share of the corpus the new pieces were learned on.
"""

from __future__ import annotations

from typing import Any

from langadapt.errors import UserError
from langadapt.tokenizer.inits.base import InitMethod, NewPieces, spelling_means

SIF_A = 1e-3


class FreqWeighted(InitMethod):
    name = "freq-weighted"

    def rows(self, matrix: Any, new: NewPieces) -> Any:
        counts = new.token_counts
        total = sum(counts.values()) if counts else 0
        if new.pieces and (not counts or total <= 0):
            raise UserError("freq-weighted init needs corpus token counts")

        def weights(ids: list[int]) -> list[float]:
            raw = [SIF_A / (SIF_A + counts.get(i, 0) / total) for i in ids]
            norm = sum(raw)
            return [w / norm for w in raw]

        return spelling_means(matrix, new.decomp, weights)


FREQ_WEIGHTED = FreqWeighted()  # the registered instance (`langadapt.tokenizer.inits`)
