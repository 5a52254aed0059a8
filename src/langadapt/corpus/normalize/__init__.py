"""Normalisers: small `str -> str` steps, each switchable and ordered by config.

Use: `build_normalizers(["nfc", "width", "cjk_punct", "cjk_spacing"], clean_config)` returns
`[(name, function), ...]`; a preset (see `langadapt.corpus.presets`) picks the list per language.
"""

from __future__ import annotations

from typing import Callable

from langadapt.config.clean import CleanConfig
from langadapt.errors import UserError

Normalizer = Callable[[str], str]


def _nfc(cfg: CleanConfig) -> Normalizer:
    from langadapt.corpus.normalize.unicode import nfc

    return nfc


def _controls(cfg: CleanConfig) -> Normalizer:
    from langadapt.corpus.normalize.unicode import strip_controls

    return strip_controls


def _width(cfg: CleanConfig) -> Normalizer:
    from langadapt.corpus.normalize.width import halfwidth_alnum

    return halfwidth_alnum


def _cjk_punct(cfg: CleanConfig) -> Normalizer:
    from langadapt.corpus.normalize.punctuation import cjk_punctuation

    return cjk_punctuation


def _cjk_spacing(cfg: CleanConfig) -> Normalizer:
    from langadapt.corpus.normalize.spacing import cjk_latin_spacing

    return cjk_latin_spacing


def _unit_spacing(cfg: CleanConfig) -> Normalizer:
    from langadapt.corpus.normalize.spacing import number_unit_spacing

    return number_unit_spacing


def _whitespace(cfg: CleanConfig) -> Normalizer:
    from langadapt.corpus.normalize.whitespace import clean_whitespace

    return clean_whitespace


def _opencc(cfg: CleanConfig) -> Normalizer:
    from langadapt.corpus.normalize.convert import opencc_converter

    if not cfg.opencc:
        raise UserError("normaliser `opencc` needs clean.opencc set to a conversion, e.g. s2twp")
    return opencc_converter(cfg.opencc)


NORMALIZERS: dict[str, Callable[[CleanConfig], Normalizer]] = {
    "nfc": _nfc,
    "controls": _controls,
    "width": _width,
    "opencc": _opencc,
    "cjk_punct": _cjk_punct,
    "cjk_spacing": _cjk_spacing,
    "unit_spacing": _unit_spacing,
    "whitespace": _whitespace,
}


def build_normalizers(names: list[str], cfg: CleanConfig) -> list[tuple[str, Normalizer]]:
    unknown = [n for n in names if n not in NORMALIZERS]
    if unknown:
        raise UserError(f"unknown normaliser(s) {unknown}; known: {', '.join(NORMALIZERS)}")
    return [(name, NORMALIZERS[name](cfg)) for name in names]
