"""`langadapt tokenizer` (not built yet)."""

from __future__ import annotations

from langadapt.cli.common import not_built


def register(sub) -> None:
    p = sub.add_parser("tokenizer", help="Extend a tokenizer with target-language pieces and report on it.", description="Extend a tokenizer with target-language pieces and report on it.")
    p.set_defaults(func=not_built("tokenizer"))
