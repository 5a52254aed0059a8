"""Init `mean` (the default): each new row is the plain mean of its spelling's base rows.

This bounds how far the model's predictions move when the rows are added (Hewitt 2021): the new
piece starts out looking like the average of what it replaces.
"""

from __future__ import annotations

from typing import Any

from langadapt.tokenizer.inits.base import InitMethod, NewPieces, spelling_means


class Mean(InitMethod):
    name = "mean"

    def rows(self, matrix: Any, new: NewPieces) -> Any:
        return spelling_means(matrix, new.decomp)


MEAN = Mean()  # the registered instance (`langadapt.tokenizer.inits`)
