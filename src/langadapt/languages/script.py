"""Writing systems: which code points a script holds and how evaluation splits its text into units.

    from langadapt.languages.script import HAN, Script
    HAN.contains("漢")                     # True
    re.compile(f"[{HAN.char_class}]+")    # the cleaner's script filter and CJK normalisers use this class
    Script("Khmer", ((0x1780, 0x17FF),), units=my_splitter)   # a new script: its range and its unit splitter

A script is defined once here and shared by every language written in it (Tibetan and Dzongkha hold the
same `TIBETAN`), so the cleaner's script filter and the ROUGE-L unit splitter cannot disagree about which
characters are Han. `units` says what one scoring unit is: a character (Han, kana: no spaces between
words, and segmenters disagree where characters do not), a syllable (Tibetan: `breaks` names the tsheg
and shad that end one), a word from a segmenter (Thai), or, when None, a whitespace-separated word.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from typing import Callable

Splitter = Callable[[str], list[str]]


def characters(run: str) -> list[str]:
    """One unit per character, punctuation and symbols left out (used for Han and kana)."""
    return [ch for ch in run if unicodedata.category(ch)[0] not in "PSZC"]


def whole(run: str) -> list[str]:
    """The run is one unit: scripts whose `breaks` already end each unit (Tibetan syllables)."""
    return [run]


def clusters(run: str) -> list[str]:
    """One unit per base letter with the combining marks written on it (vowel signs, tone marks)."""
    out: list[str] = []
    for ch in run:
        if out and unicodedata.category(ch).startswith("M"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


@functools.lru_cache(maxsize=1)
def _thai_segmenter():
    # pythainlp is an optional, heavy dependency: looked up once, on the first Thai text scored.
    try:
        from pythainlp.tokenize import word_tokenize
    except ImportError:
        return None
    return word_tokenize


def thai_segmenter_available() -> bool:
    return _thai_segmenter() is not None


def thai_words(run: str) -> list[str]:
    """Words from pythainlp's segmenter when installed, else letter clusters (Thai has no spaces between words)."""
    segment = _thai_segmenter()
    if segment is not None:
        return [w for w in segment(run) if w.strip()]
    return clusters(run)


@dataclass(frozen=True)
class Script:
    name: str
    """What presets and quality checks call it: `Han`, `Tibetan`."""
    ranges: tuple[tuple[int, int], ...]
    """Inclusive code point ranges; the only definition of the script anywhere in the package."""
    units: Splitter | None = None
    """Splits a run of this script's characters (combining marks attached) into evaluation units;
    `characters` makes every character a unit of its own; None: whitespace-separated words."""
    breaks: str = ""
    """Characters of the script that end a unit and are none (Tibetan tsheg and shad). A script that
    names its breaks keeps its other signs and symbols inside units; any other script's punctuation
    and symbols end units by their Unicode category."""
    logographic: bool = False
    """One character carries about what a word carries elsewhere, so the script filter weighs other
    scripts' letters per word, not per letter."""

    def contains(self, ch: str) -> bool:
        cp = ord(ch)
        return any(lo <= cp <= hi for lo, hi in self.ranges)

    @property
    def char_class(self) -> str:
        """The ranges as the inside of a regex character class."""
        return "".join(f"\\U{lo:08x}-\\U{hi:08x}" if lo != hi else f"\\U{lo:08x}" for lo, hi in self.ranges)


# Han ideographs: the BMP blocks (Extension A, the unified block, compatibility ideographs) and all of
# planes 2 and 3, which Unicode reserves for ideographs (Extensions B to I and whatever comes next).
HAN = Script("Han", ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFF)),
             units=characters, logographic=True)
# Hiragana, katakana and the katakana phonetic extensions: no spaces between words, like Han.
KANA = Script("Kana", ((0x3040, 0x30FF), (0x31F0, 0x31FF)), units=characters)
# U+0F00-U+0F14 are head marks, shads and other punctuation; U+0F0B/U+0F0C the tsheg that ends a syllable.
TIBETAN = Script("Tibetan", ((0x0F00, 0x0FFF),), units=whole,
                 breaks="".join(chr(c) for c in range(0x0F00, 0x0F15)))
THAI = Script("Thai", ((0x0E00, 0x0E7F),), units=thai_words)
LATIN = Script("Latin", ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF)))
