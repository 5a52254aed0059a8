"""Init `random`: normal(0, initializer_range), the usual default of a resize, kept for comparison.

(The module is not called `random` so it cannot be mistaken for the standard library's.)
"""

from __future__ import annotations

from typing import Any

from langadapt.tokenizer.inits.base import InitMethod, NewPieces


class Random(InitMethod):
    name = "random"

    def rows(self, matrix: Any, new: NewPieces) -> Any:
        import torch

        gen = torch.Generator().manual_seed(new.seed)
        return torch.randn((len(new.pieces), matrix.shape[1]), generator=gen) * new.std


RANDOM = Random()  # the registered instance (`langadapt.tokenizer.inits`)
