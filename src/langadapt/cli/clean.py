"""`langadapt clean` (not built yet)."""

from __future__ import annotations

from langadapt.cli.common import not_built


def register(sub) -> None:
    p = sub.add_parser("clean", help="Clean a corpus: normalise, filter, deduplicate, with a rejects ledger.", description="Clean a corpus: normalise, filter, deduplicate, with a rejects ledger.")
    p.set_defaults(func=not_built("clean"))
