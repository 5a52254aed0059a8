"""OpenCC script conversion as a normaliser, e.g. `s2twp` (Simplified to Taiwan Traditional with phrases)."""

from __future__ import annotations

from typing import Callable

from langadapt.errors import UserError


def opencc_converter(config: str) -> Callable[[str], str]:
    import opencc

    name = config[:-5] if config.endswith(".json") else config
    if f"{name}.json" not in opencc.CONFIGS:
        raise UserError(f"unknown OpenCC conversion {config!r}; known: {', '.join(sorted(c[:-5] for c in opencc.CONFIGS))}")
    return opencc.OpenCC(name).convert
