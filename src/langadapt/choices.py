"""Config values that name an entry of a registry (a training method, ...), checked when read.

    method: Annotated[str, OneOf(methods.names)] = Field("lora", ...)

Outside `langadapt.config` so the CLI can read a field's choices without building every config
model at startup (importing any `langadapt.config` module runs the package's `__init__`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from pydantic_core import PydanticCustomError, core_schema


@dataclass(frozen=True)
class OneOf:
    """Field metadata: the value must be a name of a registry (`Annotated[str, OneOf(names)]`).

    Unlike a Literal, the names are read when a value is checked, so a name registered after this
    module was imported (an extension, a test) is valid from then on. The error reads as a Literal's
    (`Input should be 'a', 'b' or 'c'`) and carries the names, so `format_error` can suggest one;
    the CLI offers them as `--flag` choices and the recipe reference lists them.
    """

    names: Callable[[], Sequence[str]]

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def check(self, value: str) -> str:
        names = list(self.names())
        if value in names:
            return value
        quoted = [repr(n) for n in names]
        expected = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected, "choices": names})


def one_of(field: Any) -> OneOf | None:
    """The OneOf metadata of a pydantic field (pydantic keeps `Annotated` extras in `field.metadata`)."""
    return next((m for m in getattr(field, "metadata", ()) if isinstance(m, OneOf)), None)


def closest(value: str, names: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(value, list(names), n=1, cutoff=0.5)
    return close[0] if close else None
