"""Share of target-script letters among all letters (digits, punctuation and spaces do not count).

Tibetan tsheg/shad and Thai vowel marks are not letters, so they neither help nor hurt the share.
For Han, a Chinese character weighs about what a whole word weighs elsewhere, so other letters count
per word (run of letters): `這是中文，有 GPU 和 Python` is mostly Chinese, not mostly Latin.
"""

from __future__ import annotations

import re

from langadapt.corpus.normalize.cjk import HAN

SCRIPTS = {
    "Han": HAN,
    "Tibetan": "\u0f00-\u0fff",
    "Thai": "\u0e00-\u0e7f",
    "Latin": "A-Za-z\u00c0-\u024f\u1e00-\u1eff",
}
_LETTER = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+")


class ScriptFilter:
    name = "script"
    batched = False

    def __init__(self, script: str, min_share: float):
        self.script, self.min_share = script, min_share
        self._script_re = re.compile(f"[{SCRIPTS[script]}]+")

    def share(self, text: str) -> float | None:
        letters = len(_LETTER.findall(text))
        if not letters:
            return None
        rest = self._script_re.sub(" ", text)
        others = len(_LETTER.findall(rest))
        ours = letters - others
        if self.script == "Han":
            others = len(_WORD.findall(rest))
        return ours / (ours + others) if ours + others else None

    def __call__(self, text: str):
        share = self.share(text)
        if share is None:
            return False, "no_letters", "no letters at all"
        if share < self.min_share:
            return False, "wrong_script", f"{self.script} share {share:.2f} < {self.min_share}"
        return True
