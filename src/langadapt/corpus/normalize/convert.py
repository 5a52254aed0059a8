"""OpenCC script conversion as a normaliser, e.g. `s2twp` (Simplified to Taiwan Traditional with phrases).

The conversion is named by `clean.opencc`, so this normaliser builds its function from the config;
setting `clean.opencc` also adds it to every corpus's steps (`langadapt.corpus.presets.steps_for`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from langadapt.corpus.normalize.base import Normalizer, Step
from langadapt.errors import UserError

if TYPE_CHECKING:
    from langadapt.config.clean import CleanConfig


def opencc_converter(config: str) -> Callable[[str], str]:
    import opencc  # C extension with its dictionaries: loaded only when a conversion is asked for

    name = config[:-5] if config.endswith(".json") else config
    if f"{name}.json" not in opencc.CONFIGS:
        raise UserError(f"unknown OpenCC conversion {config!r}; known: {', '.join(sorted(c[:-5] for c in opencc.CONFIGS))}")
    return opencc.OpenCC(name).convert


@dataclass(frozen=True)
class OpenCCNormalizer(Normalizer):
    def build(self, cfg: CleanConfig) -> Step:
        if not cfg.opencc:
            raise UserError("normaliser `opencc` needs clean.opencc set to a conversion, e.g. s2twp")
        return opencc_converter(cfg.opencc)


OPENCC = OpenCCNormalizer("opencc", reads=("opencc",))
