"""The run directory: `runs/<recipe name>/<stage>/` with one `manifest.json` per stage.

A manifest is written last and atomically, so its presence with status `complete` is the only
sign that a stage finished; an interrupted stage is simply re-run.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from langadapt.atomic import read_json, write_json
from langadapt.stages import STAGES

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
        """The completed stages' manifests, in pipeline order."""
        return {s: m for s in STAGES if (m := self.manifest(s))}


def now() -> float:
    return time.time()
