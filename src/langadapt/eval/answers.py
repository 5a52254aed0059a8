"""Bits per character of the reference answer, given the prompt: a generation task scored by likelihood.

    from langadapt.eval.answers import answer_bits
    bits, chars = answer_bits(model, tokenizer, items)     # per item, from the same prompt as generation

Greedy answers of a small model share few characters with any reference, so ROUGE-L and chrF sit
near zero for every model and cannot rank them; how likely each model finds the true answer after
the very prompt it is asked (chat template included) still can, in the tokenizer-independent unit
the rest of the evaluation uses.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from langadapt.eval.generate import item_prompt, render_prompt
from langadapt.eval.mc import continuation_nll


def answer_bits(model: Any, tokenizer: Any, items: Sequence[dict[str, Any]], chat: bool | None = None,
                batch_size: int = 8, max_length: int = 1024) -> list[tuple[float, int] | None]:
    """(bits, characters) of each item's reference after its rendered prompt; None for list references."""
    pairs, owners = [], []
    for i, item in enumerate(items):
        if isinstance(item.get("reference"), str) and item["reference"]:
            pairs.append((render_prompt(tokenizer, item_prompt(item), chat), item["reference"]))
            owners.append(i)
    nll = continuation_nll(model, tokenizer, pairs, batch_size=batch_size, max_length=max_length)
    out: list[tuple[float, int] | None] = [None] * len(items)
    for i, (_, reference), value in zip(owners, pairs, nll):
        out[i] = (value / math.log(2), len(reference))
    return out
