"""Spans a translation must not touch: code blocks, inline code, URLs and `{placeholders}`.

    masked, spans = mask("Run `pip install x` and see https://x.org/{lang}")
    # masked == "Run ⟦P0⟧ and see ⟦P1⟧", spans == ["`pip install x`", "https://x.org/{lang}"]
    restore(reply, spans)  -> text with the spans put back, or None when the reply lost or invented a marker

The markers are short and unlike any word, so a model copies them as they are; a reply missing one
is rejected rather than patched, since we cannot know where the span belonged.
"""

from __future__ import annotations

import re

_PROTECTED = re.compile(
    r"```.*?(?:```|\Z)"                  # fenced code blocks (an unclosed one runs to the end)
    r"|`[^`\n]+`"                        # inline code
    r"|(?:https?|ftp)://[^\s<>\"'`)\]]+"  # URLs
    r"|\{\{[^{}\n]*\}\}"                 # {{jinja}} / {{mustache}}
    r"|\{[A-Za-z_][A-Za-z0-9_.:!-]*\}"   # {placeholders}, Python format fields
    r"|%\([A-Za-z_]+\)[sdifr]|%[sdif]",  # printf-style fields
    re.S,
)
_MARKER = re.compile(r"⟦P(\d+)⟧")


def marker(i: int) -> str:
    return f"⟦P{i}⟧"


def mask(text: str) -> tuple[str, list[str]]:
    spans: list[str] = []

    def swap(m: re.Match) -> str:
        spans.append(m.group(0))
        return marker(len(spans) - 1)

    return _PROTECTED.sub(swap, text), spans


def restore(text: str, spans: list[str]) -> str | None:
    """Put the spans back; None when any marker is missing, repeated or unknown."""
    found = [int(i) for i in _MARKER.findall(text)]
    if sorted(found) != list(range(len(spans))):
        return None
    return _MARKER.sub(lambda m: spans[int(m.group(1))], text)


def strip_protected(text: str) -> str:
    """The text without protected spans: what the script-share and length checks should measure."""
    return _PROTECTED.sub(" ", text)


def needs_sending(masked: str) -> bool:
    """False for a field that is only markers, spaces and punctuation: nothing to translate."""
    return bool(re.search(r"[^\W\d_]", _MARKER.sub("", masked)))
