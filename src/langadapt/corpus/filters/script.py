"""Share of target-script letters among all letters (digits, punctuation and spaces do not count).

Use: `ScriptFilter("Han", 0.5)(text)` -> True, or (False, reason, detail); `.share(text)` -> float | None.
The script is looked up by name in the languages registry (`langadapt.languages`), so the filter
checks exactly the ranges evaluation splits by. Tibetan tsheg/shad and Thai vowel marks are not
letters, so they neither help nor hurt the share. For a logographic script (Han), a character weighs
about what a whole word weighs elsewhere, so other letters count per word (run of letters):
`這是中文，有 GPU 和 Python` is mostly Chinese, not mostly Latin.
"""

from __future__ import annotations

import re

from langadapt import languages
from langadapt.corpus.filters.base import Filter, FilterContext

_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+")


class ScriptFilter(Filter):
    name = "script"
    reads = ("min_script_share", "preset.script", "preset.min_script_share")

    @classmethod
    def build(cls, ctx: FilterContext) -> ScriptFilter | None:
        """None when the preset names no script (generic) or the share is 0: there is nothing to check."""
        share = ctx.cfg.min_script_share if ctx.cfg.min_script_share is not None else ctx.preset.min_script_share
        return cls(ctx.preset.script, share) if ctx.preset.script and share else None

    def __init__(self, script: str, min_share: float):
        self.script, self.min_share = script, min_share
        found = languages.script(script)
        self._script_re = re.compile(f"[{found.char_class}]+")
        self._per_word = found.logographic

    def share(self, text: str) -> float | None:
        letters = len(_LETTER.findall(text))
        if not letters:
            return None
        rest = self._script_re.sub(" ", text)
        others = len(_LETTER.findall(rest))
        ours = letters - others
        if self._per_word:
            others = len(_WORD.findall(rest))
        return ours / (ours + others) if ours + others else None

    def __call__(self, text: str):
        share = self.share(text)
        if share is None:
            return False, "no_letters", "no letters at all"
        if share < self.min_share:
            return False, "wrong_script", f"{self.script} share {share:.2f} < {self.min_share}"
        return True
