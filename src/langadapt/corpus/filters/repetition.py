"""Gopher-style repetition: duplicated lines and one character n-gram dominating the text.

Characters, not words, so it works for Chinese, Thai and Tibetan, which do not separate words.
"""

from __future__ import annotations

from collections import Counter

from langadapt.corpus.filters.base import Filter, FilterContext

NGRAM = 3


class RepetitionFilter(Filter):
    name = "repetition"
    reads = ("max_duplicate_line_share", "max_top_ngram_share", "repetition_min_chars")

    @classmethod
    def build(cls, ctx: FilterContext) -> RepetitionFilter:
        cfg = ctx.cfg
        return cls(cfg.max_duplicate_line_share, cfg.max_top_ngram_share, cfg.repetition_min_chars)

    def __init__(self, max_dup_line_share: float, max_top_ngram_share: float, min_chars: int):
        self.max_dup_line_share, self.max_top_ngram_share, self.min_chars = max_dup_line_share, max_top_ngram_share, min_chars

    def __call__(self, text: str):
        if len(text) < self.min_chars:
            return True
        lines = [line.strip() for line in text.split("\n")]
        lines = [line for line in lines if line]
        if len(lines) > 1:
            seen: set[str] = set()
            dup = total = 0
            for line in lines:
                total += len(line)
                if line in seen:
                    dup += len(line)
                seen.add(line)
            if total and dup / total > self.max_dup_line_share:
                return False, "duplicate_lines", f"duplicated lines hold {dup / total:.2f} of characters > {self.max_dup_line_share}"
        compact = "".join(text.split())
        if len(compact) >= NGRAM * 2:
            grams = Counter(compact[i:i + NGRAM] for i in range(len(compact) - NGRAM + 1))
            top, count = grams.most_common(1)[0]
            share = count * NGRAM / len(compact)
            if share > self.max_top_ngram_share:
                return False, "repeated_ngram", f"{top!r} covers {share:.2f} of characters > {self.max_top_ngram_share}"
        return True
