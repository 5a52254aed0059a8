"""Where langadapt keeps downloaded corpora and converted models."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """`$LANGADAPT_CACHE` or `~/.cache/langadapt`, created on demand, joined with `parts`."""
    root = Path(os.environ.get("LANGADAPT_CACHE") or Path.home() / ".cache" / "langadapt")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
