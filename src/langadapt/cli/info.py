"""`langadapt info` (being built)."""

from __future__ import annotations

from langadapt.cli.common import not_built


def register(sub) -> None:
    p = sub.add_parser("info", help="info")
    p.set_defaults(func=not_built("info"))
