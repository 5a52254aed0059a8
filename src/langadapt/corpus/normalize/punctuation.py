"""Half-width punctuation inside Chinese text to the full-width forms Taiwan uses.

`今天,我們去吃飯.好嗎?` -> `今天，我們去吃飯。好嗎？`. Only punctuation with Chinese on the left and
Chinese (or the end of the line) on the right changes, so `他說:"Hello, how are you?"`, decimals,
URLs and English sentences stay as they are.
"""

from __future__ import annotations

import re

from langadapt.corpus.normalize.base import Normalizer
from langadapt.corpus.normalize.cjk import CJK, CJK_PUNCT

_FULL = {",": "\uff0c", ".": "\u3002", ";": "\uff1b", ":": "\uff1a", "!": "\uff01", "?": "\uff1f"}
_CTX = f"[{CJK}{CJK_PUNCT}\u2018\u2019\u201c\u201d]"
_BETWEEN = re.compile(f"(?<=[{CJK}])([,;:!?]|\\.(?!\\.))(?={_CTX})")
_LINE_END = re.compile(f"(?<=[{CJK}])([;:!?]|\\.(?!\\.))(?=[ \t]*$)", re.MULTILINE)
_PARENS = re.compile(f"(?<={_CTX})\\(([^()\\n]*[{CJK}][^()\\n]*)\\)|\\(([^()\\n]*[{CJK}][^()\\n]*)\\)(?={_CTX})")


def _full(match: re.Match) -> str:
    return _FULL[match.group(1)]


def _parens(match: re.Match) -> str:
    inner = match.group(1) if match.group(1) is not None else match.group(2)
    return f"\uff08{inner}\uff09"


_HALF = re.compile("[,.;:!?(]")


def cjk_punctuation(text: str) -> str:
    if not _HALF.search(text):  # every rule below rewrites one of these characters
        return text
    text = _BETWEEN.sub(_full, text)
    text = _LINE_END.sub(_full, text)
    return _PARENS.sub(_parens, text)


CJK_PUNCTUATION = Normalizer("cjk_punct", cjk_punctuation)
