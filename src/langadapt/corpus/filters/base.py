"""What a clean filter is: one class with a name, the clean config keys it reads, `build` and a verdict.

    class NoDigits(Filter):
        name = "no_digits"
        reads = ()
        @classmethod
        def build(cls, ctx):               # ctx: FilterContext(cfg, preset, tokenizer)
            return cls()                   # or None: nothing to check on this corpus
        def __call__(self, text):
            return True if not any(c.isdigit() for c in text) else (False, "digits", "has digits")

    filters.register(NoDigits)             # `clean.filters: [..., no_digits]` is then valid

A verdict is `True` (keep) or `(False, reason, detail)`: `reason` is a short code counted in
stats.json, `detail` the human-readable why kept in rejects.jsonl. A filter with `batched = True`
(the token cutoff) judges a whole chunk at once in `check_batch(texts) -> (verdicts, counts)`.
Kept apart from the registry (`langadapt.corpus.filters`) so the filter modules can import it while
the registry imports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Union

if TYPE_CHECKING:  # the clean config imports the registry for its allowed names
    from langadapt.config.clean import CleanConfig
    from langadapt.languages import Preset

Verdict = Union[bool, tuple]


@dataclass(frozen=True)
class FilterContext:
    """What a filter may build itself from: the clean config, the corpus's preset, the tokenizer loader."""

    cfg: CleanConfig
    preset: Preset
    tokenizer: Callable[[], Any] | None = None
    """Loads the base tokenizer on first call; None when the run has no tokenizer."""


class Filter:
    name: ClassVar[str]
    reads: ClassVar[tuple[str, ...]] = ()
    """Clean config keys (and preset fields) it reads: what the recipe reference says it depends on."""
    batched: ClassVar[bool] = False

    @classmethod
    def build(cls, ctx: FilterContext) -> Filter | None:
        raise NotImplementedError

    def __call__(self, text: str) -> Verdict:
        raise NotImplementedError
