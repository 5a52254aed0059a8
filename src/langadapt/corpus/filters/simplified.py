"""Simplified Chinese leaking into a Traditional corpus, measured with OpenCC.

A character counts as Simplified-only when converting the text to Traditional changes it under all
three OpenCC standards (OpenCC, Taiwan, Hong Kong). One standard alone would flag variants that
are proper Traditional elsewhere (台/臺, 床/牀, 裡/裏); the phrase dictionaries keep 皇后, 公里 intact.
Some characters are both a simplification and a Traditional character of their own (于/於, 云/雲,
里/裏, 采/採), so classical Traditional poems contain a few "Simplified-only" hits. The share is
therefore taken against the Traditional-only characters as well (those OpenCC t2s changes):
Simplified / (Simplified + Traditional). Traditional poems score below 0.3, Simplified prose near 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langadapt.corpus.filters.base import Filter, FilterContext
from langadapt.corpus.normalize.cjk import HAN_RE

if TYPE_CHECKING:
    import numpy as np


def _diff_positions(a: str, b: str) -> np.ndarray:
    """Indices where two equal-length strings differ, compared as UTF-32 code points in one vectorised pass."""
    import numpy as np  # kept off the import of the filter registry, which the clean config (and so the CLI) reads

    x = np.frombuffer(a.encode("utf-32-le"), dtype="<u4")
    y = np.frombuffer(b.encode("utf-32-le"), dtype="<u4")
    return np.flatnonzero(x != y)


class SimplifiedFilter(Filter):
    name = "simplified"
    reads = ("max_simplified_share", "preset.max_simplified_share")

    @classmethod
    def build(cls, ctx: FilterContext) -> SimplifiedFilter:
        share = ctx.cfg.max_simplified_share if ctx.cfg.max_simplified_share is not None else ctx.preset.max_simplified_share
        return cls(share if share is not None else 0.5)

    def __init__(self, max_share: float):
        import opencc

        self.max_share = max_share
        self._converters = [opencc.OpenCC(name).convert for name in ("s2t", "s2tw", "s2hk")]
        self._t2s = opencc.OpenCC("t2s").convert

    def simplified_chars(self, text: str) -> int:
        changed: set[int] | None = None
        for convert in self._converters:
            out = convert(text)
            if out == text:  # the common case in a Traditional corpus: one C comparison, no scan
                return 0
            if len(out) != len(text):  # a phrase changed length; count by character sets instead
                return len(set(text) - set(out))
            if changed is None:
                here = set(_diff_positions(text, out).tolist())
            else:  # only positions every earlier standard changed can still count
                here = {i for i in changed if text[i] != out[i]}
            changed = here if changed is None else changed & here
            if not changed:
                return 0
        return len(changed or ())

    def traditional_chars(self, text: str) -> int:
        out = self._t2s(text)
        if out == text:
            return 0
        if len(out) != len(text):
            return len(set(text) - set(out))
        return len(_diff_positions(text, out))

    def share(self, text: str) -> tuple[float, int, int]:
        if not HAN_RE.search(text):
            return 0.0, 0, 0
        simplified = self.simplified_chars(text)
        if not simplified:
            return 0.0, 0, 0
        traditional = self.traditional_chars(text)
        return simplified / (simplified + traditional), simplified, traditional

    def __call__(self, text: str):
        share, simplified, traditional = self.share(text)
        # One character (a lone 于 in a short poem) is not evidence of a Simplified text.
        if share > self.max_share and simplified >= 2:
            return False, "simplified_chinese", (f"{simplified} Simplified-only vs {traditional} Traditional-only characters "
                                                 f"(share {share:.2f} > {self.max_share})")
        return True
