"""Content fingerprints of settings and files: what decides whether a stage's result is still valid.

    fingerprint_data({"lr": 1e-4, "files": {...}})   # 16 hex digits, stable across runs
    fingerprint_path("data/sft.jsonl")                 # content hash (size+mtime for huge files)

Kept apart from langadapt.rundir so that the input resolvers (langadapt.pipeline.inputs) and
the stage specs (langadapt.stages) can fingerprint without importing the run folder code.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def fingerprint_data(data: Any) -> str:
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def fingerprint_path(path: str | Path, content_limit: int = 64 << 20) -> str:
    """Content hash for files up to `content_limit`, size+mtime beyond it; folders hash their files."""
    path = Path(path)
    if not path.exists():
        return "missing"
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        if st.st_size <= content_limit:
            with f.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        else:
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]
