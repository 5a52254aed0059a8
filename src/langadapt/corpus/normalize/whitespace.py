"""Whitespace clean-up: one kind of line break, no runs of spaces, no trailing spaces, at most one blank line.

The ideographic space (U+3000) is kept: Chinese paragraphs use it for indentation.
"""

from __future__ import annotations

import re

from langadapt.corpus.normalize.base import Normalizer

_BREAKS = re.compile("\r\n?|[\u2028\u2029\x85]")
_SPACES = re.compile("[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f]+")
_TRAILING = re.compile(" +(?=\n)")
_BLANKS = re.compile("\n{3,}")


# Anything the four rules below would rewrite: odd breaks, space runs or odd spaces, a space before a break, 3+ breaks.
_WORK = re.compile("[\r\u2028\u2029\x85\t\u00a0\u1680\u2000-\u200a\u202f\u205f]|  | \n|\n\n\n")


def clean_whitespace(text: str) -> str:
    if not _WORK.search(text) and not (text[:1].isspace() or text[-1:].isspace()):
        return text  # already clean: one search instead of four substitutions
    text = _BREAKS.sub("\n", text)
    text = _SPACES.sub(" ", text)
    text = _TRAILING.sub("", text)
    text = _BLANKS.sub("\n\n", text)
    return text.strip()


WHITESPACE = Normalizer("whitespace", clean_whitespace)
