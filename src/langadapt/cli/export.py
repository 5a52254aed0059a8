"""`langadapt export` (not built yet)."""

from __future__ import annotations

from langadapt.cli.common import not_built


def register(sub) -> None:
    p = sub.add_parser("export", help="Export merged weights and write the model card.", description="Export merged weights and write the model card.")
    p.set_defaults(func=not_built("export"))
