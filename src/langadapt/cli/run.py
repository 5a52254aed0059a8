"""`langadapt run`, `langadapt demo` (being built)."""

from __future__ import annotations

from langadapt.cli.common import not_built


def register(sub) -> None:
    for cmd in ("run", "demo"):
        p = sub.add_parser(cmd, help=cmd)
        p.set_defaults(func=not_built(cmd))
