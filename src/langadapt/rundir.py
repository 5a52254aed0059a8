"""The run directory: `runs/<recipe name>/<stage>/` with one `manifest.json` per stage.

A manifest is written last and atomically, so its presence with status `complete` is the only
sign that a stage finished; an interrupted stage is simply re-run.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from langadapt.atomic import read_json, write_json

MANIFEST = "manifest.json"
_VERSIONED = ("langadapt", "torch", "transformers", "peft", "tokenizers", "datasets", "accelerate", "sentencepiece")


def versions() -> dict[str, str]:
    found = {}
    for name in _VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    found["python"] = platform.python_version()
    return found


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


@dataclass
class StageRecord:
    stage: str
    fingerprint: str
    config: dict
    inputs: dict[str, Any]
    outputs: dict[str, str]
    metrics: dict[str, Any] = field(default_factory=dict)
    wall_time_s: float = 0.0
    started: float = 0.0
    finished: float = 0.0
    versions: dict[str, str] = field(default_factory=versions)
    status: str = "complete"


class RunDir:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def stage_dir(self, stage: str) -> Path:
        return self.root / stage

    def manifest_path(self, stage: str) -> Path:
        return self.stage_dir(stage) / MANIFEST

    def manifest(self, stage: str) -> dict | None:
        """The manifest of a completed stage, or None."""
        data = read_json(self.manifest_path(stage))
        return data if isinstance(data, dict) and data.get("status") == "complete" else None

    def is_done(self, stage: str, fingerprint: str) -> bool:
        data = self.manifest(stage)
        if not data or data.get("fingerprint") != fingerprint:
            return False
        return all(Path(p).exists() for p in data.get("outputs", {}).values() if isinstance(p, str) and p.startswith("/"))

    def write_manifest(self, record: StageRecord) -> Path:
        path = self.manifest_path(record.stage)
        write_json(path, record.__dict__)
        return path

    def invalidate(self, stage: str) -> None:
        self.manifest_path(stage).unlink(missing_ok=True)

    def manifests(self) -> dict[str, dict]:
        from langadapt.config.recipe import STAGES

        return {s: m for s in STAGES if (m := self.manifest(s))}


def now() -> float:
    return time.time()
