"""`langadapt eval` (not built yet)."""

from __future__ import annotations

from langadapt.cli.common import not_built


def register(sub) -> None:
    p = sub.add_parser("eval", help="Evaluate models: bits per character, task scores, multiple choice, LLM judge.", description="Evaluate models: bits per character, task scores, multiple choice, LLM judge.")
    p.set_defaults(func=not_built("eval"))
