"""Clean presets by name and by language, read from the languages registry, and the steps one corpus runs.

Use: `preset_for_language("zh-TW").name == "zh-Hant"`; `PRESETS["bo"].normalizers`;
`steps_for(preset, clean_config, override=True)` -> (normaliser names, filter names).

Presets name their steps; the steps themselves are the registered filters and normalisers
(`langadapt.corpus.filters`, `langadapt.corpus.normalize`), and `steps_for` checks every name against
those registries, so a preset naming an unknown step fails when the run is planned, not in a worker.

A preset belongs to its language (`langadapt.languages`), so a language registered at run time brings
its preset with it: `PRESETS` is a live view of the registry, not a copy taken at import.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from langadapt import languages
from langadapt.config.clean import CleanConfig
from langadapt.corpus import filters as filter_registry
from langadapt.corpus import normalize
from langadapt.errors import UserError
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
    for kind, wanted, known in (("normaliser", normalizers, normalize.names()), ("filter", filters, filter_registry.names())):
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise UserError(f"preset {preset.name!r}: unknown {kind}(s) {unknown}; known: {', '.join(known)}")
    return normalizers, filters
