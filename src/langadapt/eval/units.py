"""Language-aware units for overlap metrics: what counts as one "word" when scoring ROUGE-L.

    from langadapt.eval.units import units
    units("人人生而自由")          # ['人', '人', '生', '而', '自', '由']
    units("བོད་ཀྱི་སྐད།")           # ['བོད', 'ཀྱི', 'སྐད']

The usual ROUGE tokenizer keeps only [a-z0-9] and silently turns Chinese, Tibetan or Thai text
into nothing, which scores every answer 0 (or 1). Units are chosen per script, so mixed text
(Chinese with English terms, Tibetan with digits) is split the right way in each part:

- Han, kana: one unit per character (no spaces between words; segmenters disagree, characters do not).
- Tibetan (bo, dz): syllables, split at the tsheg (U+0F0B/U+0F0C) and shad marks.
- Thai: words from pythainlp's segmenter when installed, else characters.
- everything else: whitespace-separated words, case-folded.
Punctuation and symbols are never units, so a matching full stop earns nothing.
"""

from __future__ import annotations

import functools
import unicodedata

TSHEG = "\u0f0b\u0f0c"
# Tibetan head marks, shads and other punctuation in U+0F00-U+0F14 end a syllable too.
TIBETAN_BREAKS = set(TSHEG) | {chr(c) for c in range(0x0F00, 0x0F15)}


def _script(ch: str) -> str:
    cp = ord(ch)
    if ch.isspace():
        return "space"
    if 0x0F00 <= cp <= 0x0FFF:
        return "break" if ch in TIBETAN_BREAKS else "tibetan"
    cat = unicodedata.category(ch)
    if cat[0] in "PSZC":
        return "break"
    if (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x3FFFF
            or 0xF900 <= cp <= 0xFAFF or 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF):
        return "cjk"
    if 0x0E00 <= cp <= 0x0E7F:
        return "thai"
    return "word"


@functools.lru_cache(maxsize=1)
def _thai_segmenter():
    try:
        from pythainlp.tokenize import word_tokenize
    except ImportError:
        return None
    return word_tokenize


def _thai_units(run: str) -> list[str]:
    segment = _thai_segmenter()
    if segment is not None:
        return [w for w in segment(run) if w.strip()]
    # Characters, each with the vowel and tone marks written on it (Thai has no spaces between words).
    out: list[str] = []
    for ch in run:
        if out and unicodedata.category(ch).startswith("M"):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def units(text: str) -> list[str]:
    """Split `text` into scoring units by script (see the module docstring)."""
    out: list[str] = []
    run, kind = [], None

    def flush() -> None:
        if not run:
            return
        piece = "".join(run)
        if kind == "thai":
            out.extend(_thai_units(piece))
        else:
            out.append(piece.casefold() if kind == "word" else piece)
        run.clear()

    for ch in text:
        script = _script(ch)
        if script == "cjk":
            flush()
            out.append(ch)
            kind = None
            continue
        if script in ("space", "break"):
            flush()
            kind = None
            continue
        # Combining marks belong to the run they follow (Tibetan vowels, Thai tone marks, accents).
        if unicodedata.category(ch).startswith("M") and run:
            run.append(ch)
            continue
        if script != kind:
            flush()
            kind = script
        run.append(ch)
    flush()
    return out


def thai_segmenter_available() -> bool:
    return _thai_segmenter() is not None
