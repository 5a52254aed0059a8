"""Clean presets by name and by language, read from the languages registry, and the steps one corpus runs.

Use: `preset_for_language("zh-TW").name == "zh-Hant"`; `PRESETS["bo"].normalizers`;
`steps_for(preset, clean_config, override=True)` -> (normaliser names, filter names).

A preset belongs to its language (`langadapt.languages`), so a language registered at run time brings
its preset with it: `PRESETS` is a live view of the registry, not a copy taken at import.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from langadapt import languages
from langadapt.config.clean import CleanConfig
from langadapt.languages import Preset

__all__ = ["PRESETS", "Preset", "preset_for_language", "steps_for"]


class _Presets(Mapping[str, Preset]):
    def __getitem__(self, name: str) -> Preset:
        return languages.presets()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(languages.presets())

    def __len__(self) -> int:
        return len(languages.presets())


PRESETS: Mapping[str, Preset] = _Presets()
preset_for_language = languages.preset_for


def steps_for(preset: Preset, cfg: CleanConfig, override: bool) -> tuple[list[str], list[str]]:
    """Normaliser and filter names for one corpus; `override` applies the config's explicit lists."""
    normalizers = list(cfg.normalizers) if override and cfg.normalizers is not None else list(preset.normalizers)
    filters = list(cfg.filters) if override and cfg.filters is not None else list(preset.filters)
    if cfg.opencc and "opencc" not in normalizers:
        # Conversion first, so width, punctuation and spacing rules see the final characters.
        at = normalizers.index("controls") + 1 if "controls" in normalizers else 0
        normalizers.insert(at, "opencc")
    return normalizers, filters
