"""What an init method is: the contract `extend_embeddings`, `extend_model` and the report rely on.

An init gives each new piece its first input (and, when untied, output) row from the base rows of
the piece's spelling under the base tokenizer. An init that `needs_text` then fits those rows on
training text once the model is resized: the extension samples that text for it, and `fit_settings`
says which recipe values the fit takes. Subclass InitMethod, set the class attributes, implement
`rows` (and `fit` for a fitted init), and `register()` an instance.

torch is imported inside the hooks, not here: reading a recipe checks init names against the
registry and must not pay for loading torch.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # the config module reads the registry, so a runtime import would be a circle
    from langadapt.config.tokenizer import TokenizerConfig
    from langadapt.tokenizer.pieces import TokenizerJson  # an annotation only: not on the config's import path


@dataclass(frozen=True)
class NewPieces:
    """The pieces being added and what their rows may be computed from."""
    base: TokenizerJson
    pieces: list[str]
    decomp: list[list[int]]
    """Base token ids of each piece's spelling (`embeddings.decompositions`)."""
    token_counts: Counter | None = None
    """How often each base token occurs in the corpus the pieces were learned on."""
    std: float = 0.02
    """The model's initializer_range."""
    seed: int = 0


class InitMethod:
    name: str = ""
    """The recipe's value of `tokenizer.init`."""
    needs_text: bool = False
    """Fits rows on training text after `rows` (`extend_model` samples the text for it)."""

    def rows(self, matrix: Any, new: NewPieces) -> Any:
        """The starting rows, float32 (len(new.pieces), hidden), from `matrix` (one base row per base id)."""
        raise NotImplementedError

    def fit_settings(self, cfg: "TokenizerConfig") -> dict:
        """Keyword arguments of `fit` taken from the recipe, beside the extended tokenizer and the text."""
        return {}

    def fit(self, model: Any, decomp: Sequence[Sequence[int]], first_id: int, **inputs: Any) -> dict | None:
        """Refit the new rows of the resized `model` in place; return statistics for the extension info.

        A result with `"untied": True` says the fit gave the output matrix its own copy."""
        return None


def spelling_means(matrix: Any, decomp: Sequence[Sequence[int]], weights: Any = None) -> Any:
    """Each piece's (weighted) mean of its spelling's base rows; a piece with no spelling gets the
    mean of all base rows. `weights(ids) -> list[float]` summing to 1, default uniform."""
    import torch

    base_rows = matrix.detach().float()
    rows = torch.empty(len(decomp), base_rows.shape[1], dtype=torch.float32)
    for k, ids in enumerate(decomp):
        if not ids:
            rows[k] = base_rows.mean(0)
            continue
        w = torch.tensor(weights(list(ids)) if weights else [1.0 / len(ids)] * len(ids))
        rows[k] = (w[:, None] * base_rows[list(ids)]).sum(0)
    return rows
