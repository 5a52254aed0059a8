"""`langadapt data ...` (being built)."""

from __future__ import annotations

from langadapt.cli.common import not_built


def register(sub) -> None:
    p = sub.add_parser("data", help="Fetch the corpora used by the demo and tests.")
    p.set_defaults(func=not_built("data"))
