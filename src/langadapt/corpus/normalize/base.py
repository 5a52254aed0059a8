"""What a clean normaliser is: one `Normalizer` object with a name, the config keys it reads and a `str -> str`.

    SHOUT = Normalizer("upper", str.upper)      # a plain function, nothing read from the config
    normalize.register(SHOUT)                   # `clean.normalizers: [..., upper]` is then valid

A normaliser that depends on the config overrides `build(cfg)` to return its function (the OpenCC
conversion reads `clean.opencc`). Kept apart from the registry (`langadapt.corpus.normalize`) so the
normaliser modules can import it while the registry imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # the clean config imports the registry for its allowed names
    from langadapt.config.clean import CleanConfig

Step = Callable[[str], str]


@dataclass(frozen=True)
class Normalizer:
    name: str
    apply: Step | None = None
    reads: tuple[str, ...] = ()
    """Clean config keys it reads: what the recipe reference says it depends on."""

    def build(self, cfg: CleanConfig) -> Step:
        if self.apply is None:
            raise NotImplementedError(f"normaliser {self.name!r} needs an `apply` function or its own `build`")
        return self.apply
