"""Checks on machine-made instruction data: target-script share and length ratio against the source.

    check = QualityCheck(script="Han", min_script_share=0.5, min_length_ratio=0.2, max_length_ratio=3.0)
    check.field(source_text, translated_text)  -> None, or (reason, detail) for the rejects ledger

The script share is the corpus stage's (`corpus.filters.script`): target-script letters among all
letters, protected spans (code, URLs, placeholders) left out. `script_for(language)` reads a
language's script from the languages registry, the same one the clean stage filters by.
"""

from __future__ import annotations

from dataclasses import dataclass

from langadapt import languages
from langadapt.corpus.filters.script import ScriptFilter
from langadapt.data.protect import strip_protected
from langadapt.errors import UserError


def script_for(language: str | None) -> str | None:
    """Name of the script a language is written in (`Han` for zh-TW), None when the registry has none."""
    found = languages.find(language)
    return found.script.name if found and found.script else None


@dataclass
class QualityCheck:
    script: str | None = None
    min_script_share: float = 0.5
    min_length_ratio: float = 0.0
    max_length_ratio: float = float("inf")

    def __post_init__(self) -> None:
        if self.script is not None and self.script not in languages.scripts():
            raise UserError(f"unknown script {self.script!r}; known: {', '.join(languages.scripts())}")
        if self.min_length_ratio > self.max_length_ratio:
            raise UserError(f"min length ratio {self.min_length_ratio} is above the max {self.max_length_ratio}")
        self._script = ScriptFilter(self.script, self.min_script_share) if self.script else None

    def text(self, text: str) -> tuple[str, str] | None:
        """Script share of a whole record's new text."""
        if self._script is None or self.min_script_share <= 0:
            return None
        verdict = self._script(strip_protected(text))
        return None if verdict is True else (verdict[1], verdict[2])

    def field(self, source: str, target: str) -> tuple[str, str] | None:
        """Length ratio of one translated field (characters, protected spans left out)."""
        src, tgt = len(strip_protected(source).strip()), len(strip_protected(target).strip())
        if not src:
            return None
        ratio = tgt / src
        if ratio < self.min_length_ratio:
            return "too_short", f"length ratio {ratio:.2f} < {self.min_length_ratio}"
        if ratio > self.max_length_ratio:
            return "too_long", f"length ratio {ratio:.2f} > {self.max_length_ratio}"
        return None

    def settings(self) -> dict:
        return {"script": self.script, "min_script_share": self.min_script_share,
                "min_length_ratio": self.min_length_ratio,
                "max_length_ratio": None if self.max_length_ratio == float("inf") else self.max_length_ratio}
