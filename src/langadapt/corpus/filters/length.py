"""Length in characters: too short to be useful, or too long to tokenise cheaply."""

from __future__ import annotations

from langadapt.corpus.filters.base import Filter, FilterContext


class LengthFilter(Filter):
    name = "length"
    reads = ("min_chars", "max_chars")

    @classmethod
    def build(cls, ctx: FilterContext) -> LengthFilter:
        return cls(ctx.cfg.min_chars, ctx.cfg.max_chars)

    def __init__(self, min_chars: int, max_chars: int):
        self.min_chars, self.max_chars = min_chars, max_chars

    def __call__(self, text: str):
        n = len(text)
        if n < self.min_chars:
            return False, "too_short", f"{n} characters < min_chars={self.min_chars}"
        if n > self.max_chars:
            return False, "too_long_chars", f"{n} characters > max_chars={self.max_chars}"
        return True
