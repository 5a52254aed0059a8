"""Shared plumbing for sources: running package clients, unpacking archives, writing counted JSONL.

Run a source by hand: `langadapt data fetch NAME` (see langadapt.data.fetch).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any, Sequence

from langadapt.errors import UserError


def need_tool(tool: str, purpose: str, hint: str) -> str:
    """Path of an external program, or a UserError naming what it is for and how to get it."""
    found = shutil.which(tool)
    if not found:
        raise UserError(f"{purpose} needs `{tool}`, which is not on PATH: {hint}")
    return found


def run_tool(cmd: Sequence[str], cwd: Path, what: str) -> str:
    """Run a package client; its stderr becomes the one-line error when it fails."""
    proc = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise UserError(f"{what} failed ({' '.join(cmd[:2])} exited {proc.returncode}): {' | '.join(tail)}")
    return proc.stdout


def npm_pack(package: str, workdir: Path) -> Path:
    """Download a package tarball with `npm pack` (the configured registry) and unpack it; returns its root."""
    npm = need_tool("npm", f"Fetching the npm package {package}",
                    "install Node.js (e.g. `apt-get install npm`) and retry")
    out = run_tool([npm, "pack", package, "--silent"], workdir, f"npm pack {package}")
    tgz = workdir / out.strip().splitlines()[-1]
    if not tgz.is_file():
        found = sorted(workdir.glob("*.tgz"))
        if not found:
            raise UserError(f"npm pack {package} produced no tarball in {workdir}")
        tgz = found[0]
    dest = workdir / "unpacked"
    with tarfile.open(tgz) as tar:
        tar.extractall(dest, filter="data")
    return dest / "package"


class JsonlWriter:
    """Writes records to one JSONL file and counts records and characters of the `text_fields`."""

    def __init__(self, path: Path, text_fields: Sequence[str] = ("text",)):
        self.path = path
        self.text_fields = tuple(text_fields)
        self.records = 0
        self.chars = 0
        self._fh = open(path, "w", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.records += 1
        for field in self.text_fields:
            value = record.get(field)
            if isinstance(value, str):
                self.chars += len(value)
            elif isinstance(value, list):
                self.chars += sum(len(v) for v in value if isinstance(v, str))

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stats(self) -> dict[str, int]:
        return {"records": self.records, "chars": self.chars}

