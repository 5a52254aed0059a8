"""Clean normalisers: small `str -> str` steps, one registered `Normalizer` object each, ordered by config.

    from langadapt.corpus import normalize
    normalize.names()                           # ['nfc', 'controls', 'width', 'opencc', ...]
    normalize.build(["nfc", "width", "cjk_punct"], clean_config)   # [(name, function), ...]
    normalize.register(Normalizer("upper", str.upper))             # an extension (see `base.py`)

A normaliser is one object in one module (its function beside it), so adding one is that object plus
`register`. A preset (`langadapt.languages`) picks the list per language; the clean config checks
`clean.normalizers` against `names()` when a recipe is read. Registration order is the order the
recipe reference lists them in.

The shipped normalisers are registered by name and `module:object` (`Registry.register_deferred`):
the config and the CLI read the names on every start, and only a clean run imports the normalisers
themselves (their regexes are compiled at import, pangu and OpenCC when first used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langadapt.corpus.normalize.base import Normalizer, Step
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


for _name, _target in (("nfc", "unicode:NFC"), ("controls", "unicode:CONTROLS"), ("width", "width:WIDTH"),
                       ("opencc", "convert:OPENCC"), ("cjk_punct", "punctuation:CJK_PUNCTUATION"),
                       ("cjk_spacing", "spacing:CJK_SPACING"), ("unit_spacing", "spacing:UNIT_SPACING"),
                       ("whitespace", "whitespace:WHITESPACE")):
    _REGISTRY.register_deferred(_name, f"{__name__}.{_target}")

__all__ = ["Normalizer", "Step", "build", "names", "register", "unregister"]
