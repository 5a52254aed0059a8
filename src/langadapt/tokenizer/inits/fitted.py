"""Init `fitted`: the mean, then the rows fitted to the base model on training text (tokenizer/fit_rows.py).

The input rows are distilled so the hidden states after a new piece match the base model's after
its spelling; the model is untied and the output rows get a softmax fit so each piece takes the
probability the base model gives its spelling. The algorithm and its measured defaults live in
fit_rows.py; this module only says what the recipe feeds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from langadapt.tokenizer.fit_rows import fit_new_rows
from langadapt.tokenizer.inits.mean import Mean

if TYPE_CHECKING:
    from langadapt.config.tokenizer import TokenizerConfig


class Fitted(Mean):
    name = "fitted"
    needs_text = True

    def fit_settings(self, cfg: "TokenizerConfig") -> dict:
        return {"distill_epochs": cfg.fit_distill_epochs, "output_steps": cfg.fit_output_steps,
                "output_prior": cfg.fit_output_prior}

    def fit(self, model: Any, decomp: Sequence[Sequence[int]], first_id: int, **inputs: Any) -> dict:
        return fit_new_rows(model, decomp, first_id, **inputs)


FITTED = Fitted()  # the registered instance (`langadapt.tokenizer.inits`)
