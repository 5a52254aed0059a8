"""Per-language presets: which normalisers and filters run, in which order, with which script.

Use: `preset_for_language("zh-TW").name == "zh-Hant"`; `PRESETS["bo"].normalizers`.
"""

from __future__ import annotations

from dataclasses import dataclass

from langadapt.config.clean import CleanConfig


@dataclass(frozen=True)
class Preset:
    name: str
    normalizers: tuple[str, ...]
    filters: tuple[str, ...]
    script: str | None = None
    min_script_share: float | None = None
    max_simplified_share: float | None = None


_BASIC = ("nfc", "controls", "whitespace")
_FILTERS = ("length", "script", "repetition", "tokens")

PRESETS: dict[str, Preset] = {
    # Taiwan typography: half-width letters/digits, full-width punctuation, spaces around Latin text.
    "zh-Hant": Preset("zh-Hant", ("nfc", "controls", "width", "cjk_punct", "cjk_spacing", "whitespace"),
                      ("length", "script", "simplified", "repetition", "tokens"), "Han", 0.5, 0.5),
    "zh-Hans": Preset("zh-Hans", ("nfc", "controls", "width", "cjk_punct", "cjk_spacing", "whitespace"),
                      _FILTERS, "Han", 0.5),
    # Tibetan script (Tibetan, Dzongkha): no CJK spacing or punctuation rules; NFC keeps tsheg and shad.
    "bo": Preset("bo", ("nfc", "controls", "width", "whitespace"), _FILTERS, "Tibetan", 0.5),
    # Thai writes no spaces between words, so nothing may insert any.
    "th": Preset("th", ("nfc", "controls", "width", "whitespace"), _FILTERS, "Thai", 0.5),
    "en": Preset("en", _BASIC, _FILTERS, "Latin", 0.5),
    "generic": Preset("generic", _BASIC, ("length", "repetition", "tokens")),
}

_BY_LANGUAGE = {
    "zh-hant": "zh-Hant", "zh-tw": "zh-Hant", "zh-hk": "zh-Hant", "zh-mo": "zh-Hant",
    "zh": "zh-Hans", "zh-hans": "zh-Hans", "zh-cn": "zh-Hans", "zh-sg": "zh-Hans",
    "bo": "bo", "dz": "bo", "th": "th", "en": "en",
}


def preset_for_language(language: str | None) -> Preset:
    if not language:
        return PRESETS["generic"]
    tag = language.lower().replace("_", "-")
    while tag:
        if tag in _BY_LANGUAGE:
            return PRESETS[_BY_LANGUAGE[tag]]
        if "hant" in tag.split("-"):
            return PRESETS["zh-Hant"]
        tag = tag.rpartition("-")[0]
    return PRESETS["generic"]


def steps_for(preset: Preset, cfg: CleanConfig, override: bool) -> tuple[list[str], list[str]]:
    """Normaliser and filter names for one corpus; `override` applies the config's explicit lists."""
    normalizers = list(cfg.normalizers) if override and cfg.normalizers is not None else list(preset.normalizers)
    filters = list(cfg.filters) if override and cfg.filters is not None else list(preset.filters)
    if cfg.opencc and "opencc" not in normalizers:
        # Conversion first, so width, punctuation and spacing rules see the final characters.
        at = normalizers.index("controls") + 1 if "controls" in normalizers else 0
        normalizers.insert(at, "opencc")
    return normalizers, filters
