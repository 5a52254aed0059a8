"""Learning-rate schedules as a plain multiplier of the peak rate, so the optimiser state stays resumable.

    from langadapt.train.schedule import lr_factor
    lr = peak * lr_factor(step, total_steps=1000, warmup=10, kind="cosine", min_ratio=0.1)
"""

from __future__ import annotations

import math


def warmup_steps(total_steps: int, warmup_steps: int, warmup_ratio: float) -> int:
    """Explicit warmup steps win over the ratio (as in transformers)."""
    if warmup_steps > 0:
        return min(warmup_steps, total_steps)
    return int(math.ceil(total_steps * warmup_ratio))


def lr_factor(step: int, total_steps: int, warmup: int, kind: str, min_ratio: float = 0.0) -> float:
    """Multiplier of the peak learning rate for optimiser step `step` (0-based).

    Warmup rises linearly from 1/(warmup+1) so the very first step already moves; cosine and
    linear then decay to `min_ratio` at the last step, constant stays at 1.
    """
    if warmup > 0 and step < warmup:
        return (step + 1) / (warmup + 1)
    if kind == "constant":
        return 1.0
    span = max(1, total_steps - warmup)
    progress = min(1.0, max(0.0, (step - warmup) / span))
    if kind == "linear":
        shape = 1.0 - progress
    elif kind == "cosine":
        shape = 0.5 * (1.0 + math.cos(math.pi * progress))
    else:
        raise ValueError(f"unknown schedule {kind!r}")
    return min_ratio + (1.0 - min_ratio) * shape
