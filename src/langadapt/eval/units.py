"""Language-aware units for overlap metrics: what counts as one "word" when scoring ROUGE-L.

    from langadapt.eval.units import units
    units("人人生而自由")          # ['人', '人', '生', '而', '自', '由']
    units("བོད་ཀྱི་སྐད།")           # ['བོད', 'ཀྱི', 'སྐད']

The usual ROUGE tokenizer keeps only [a-z0-9] and silently turns Chinese, Tibetan or Thai text
into nothing, which scores every answer 0 (or 1). Units are chosen per script, so mixed text
(Chinese with English terms, Tibetan with digits) is split the right way in each part. Which
characters form a script and how its text splits is the languages registry's (`langadapt.languages`,
`Script.units`), so a registered language is scored by its own units with no edit here:

- Han, kana: one unit per character (no spaces between words; segmenters disagree, characters do not).
- Tibetan (bo, dz): syllables, split at the tsheg (U+0F0B/U+0F0C) and shad marks.
- Thai: words from pythainlp's segmenter when installed, else characters.
- everything else: whitespace-separated words, case-folded.
Punctuation and symbols are never units, so a matching full stop earns nothing.
"""

from __future__ import annotations

import unicodedata

from langadapt import languages
from langadapt.languages.script import Script, characters, thai_segmenter_available

__all__ = ["units", "thai_segmenter_available"]

_SPACE, _BREAK, _WORD = "space", "break", "word"


def _kind(ch: str) -> Script | str:
    if ch.isspace():
        return _SPACE
    script = languages.unit_script(ch)
    if script is not None and script.breaks:
        # A script that names its own breaks keeps its other signs inside units (Tibetan marks).
        return _BREAK if ch in script.breaks else script
    if unicodedata.category(ch)[0] in "PSZC":
        return _BREAK
    return script if script is not None else _WORD


def units(text: str) -> list[str]:
    """Split `text` into scoring units by script (see the module docstring)."""
    out: list[str] = []
    run: list[str] = []
    kind: Script | str | None = None

    def flush() -> None:
        if not run:
            return
        piece = "".join(run)
        if kind == _WORD:
            out.append(piece.casefold())
        else:
            out.extend(kind.units(piece))  # type: ignore[union-attr]
        run.clear()

    for ch in text:
        script = _kind(ch)
        if isinstance(script, Script) and script.units is characters:
            # Each character is a unit the moment it is read: no run, so no mark is glued to it.
            flush()
            out.extend(characters(ch))
            kind = None
            continue
        if script in (_SPACE, _BREAK):
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
