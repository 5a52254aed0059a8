"""Clean normalisers: small `str -> str` steps, one registered `Normalizer` object each, ordered by config.

    from langadapt.corpus import normalize
    normalize.names()                           # ['nfc', 'controls', 'width', 'opencc', ...]
    normalize.build(["nfc", "width", "cjk_punct"], clean_config)   # [(name, function), ...]
    normalize.register(Normalizer("upper", str.upper))             # an extension (see `base.py`)

A normaliser is one object in one module (its function beside it), so adding one is that object plus
`register`. A preset (`langadapt.languages`) picks the list per language; the clean config checks
`clean.normalizers` against `names()` when a recipe is read. Registration order is the order the
recipe reference lists them in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langadapt.corpus.normalize.base import Normalizer, Step
from langadapt.corpus.normalize.convert import OPENCC
from langadapt.corpus.normalize.punctuation import CJK_PUNCTUATION
from langadapt.corpus.normalize.spacing import CJK_SPACING, UNIT_SPACING
from langadapt.corpus.normalize.unicode import CONTROLS, NFC
from langadapt.corpus.normalize.whitespace import WHITESPACE
from langadapt.corpus.normalize.width import WIDTH
from langadapt.errors import UserError
from langadapt.registry import Registry

if TYPE_CHECKING:
    from langadapt.config.clean import CleanConfig

_REGISTRY: Registry[Normalizer] = Registry("normaliser")
register = _REGISTRY.register
names = _REGISTRY.names


def unregister(name: str) -> None:
    _REGISTRY.unregister(name)


def build(names_: list[str], cfg: CleanConfig) -> list[tuple[str, Step]]:
    unknown = [n for n in names_ if n not in _REGISTRY]
    if unknown:
        raise UserError(f"unknown normaliser(s) {unknown}; known: {', '.join(names())}")
    return [(name, _REGISTRY.get(name).build(cfg)) for name in names_]


for _builtin in (NFC, CONTROLS, WIDTH, OPENCC, CJK_PUNCTUATION, CJK_SPACING, UNIT_SPACING, WHITESPACE):
    register(_builtin)

__all__ = ["Normalizer", "Step", "build", "names", "register", "unregister"]
