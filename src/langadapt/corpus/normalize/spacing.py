"""Spaces between CJK and Latin letters/digits (pangu), and between a number and its unit.

`你好嗎Jack這是我們的10c.c` -> `你好嗎 Jack 這是我們的 10 c.c`: pangu spaces the CJK/Latin
boundaries; the seed's number-unit rule (`10 c.c`, `80 GB`) goes beyond pangu, so it is added here
with a closed list of units, which leaves `3D`, `5G`, `x86` and `v1.2` alone.
"""

from __future__ import annotations

import re

from langadapt.corpus.normalize.base import Normalizer
from langadapt.corpus.normalize.cjk import CJK, HAN

_UNITS = sorted([
    "c.c.", "c.c", "cc", "mg", "kg", "g", "t", "nm", "mm", "cm", "km", "m", "ml", "mL", "L",
    "KB", "kB", "MB", "GB", "TB", "PB", "Kb", "Mb", "Gb", "bps", "Kbps", "kbps", "Mbps", "Gbps",
    "Hz", "kHz", "MHz", "GHz", "mW", "W", "kW", "MW", "kWh", "V", "mV", "kV", "mA", "mAh",
    "fps", "dpi", "ppi", "px", "rpm", "cal", "kcal", "km/h",
], key=len, reverse=True)
_UNIT_RE = re.compile(
    "(?<![A-Za-z0-9_.\\-/])(\\d+(?:[.,]\\d+)*)(" + "|".join(re.escape(u) for u in _UNITS) + ")(?![A-Za-z0-9])"
)
_HAS_CJK = re.compile(f"[{CJK}]")
# Every pangu rule (and the unit rule) needs a character outside this set: a half-width letter, digit or
# symbol, a curly quote, an ellipsis, a middle dot, Greek, Latin-1... Han text with only CJK/full-width
# punctuation and plain spaces (classical poems) therefore passes through unchanged, and pangu's ~60
# regex passes can be skipped. tests/test_clean_speed.py checks this against pangu itself.
_PANGU_INERT = HAN + "\u3000-\u303f\uff00-\uffef \n"
_NEEDS_PANGU = re.compile(f"[^{_PANGU_INERT}]")


def cjk_latin_spacing(text: str) -> str:
    # pangu is costly per call; text without any CJK character, or with nothing pangu acts on, cannot change.
    if not _NEEDS_PANGU.search(text) or not _HAS_CJK.search(text):
        return text
    import pangu  # ~150 ms of regex compiling at import: paid by the first text that needs it, not by every config import

    return number_unit_spacing(pangu.space_text(text))


def number_unit_spacing(text: str) -> str:
    return _UNIT_RE.sub(r"\1 \2", text)


CJK_SPACING = Normalizer("cjk_spacing", cjk_latin_spacing)
UNIT_SPACING = Normalizer("unit_spacing", number_unit_spacing)
