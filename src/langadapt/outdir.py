"""Output folders that commands replace whole: refuse to replace anything that is not their own earlier output.

    guard_output(out, "export", overwrite=args.overwrite, inputs=[args.model, args.adapter])
    ...write the output...
    mark_output(out, "export")

`langadapt export --out DIR` and `langadapt tokenizer extend --out DIR` write their result to a
temporary folder and rename it over DIR, so a typo in `--out` (a home folder, a dataset, the
model being exported) would delete it. Each command leaves a marker file naming itself; a
non-empty DIR without that marker is refused unless `--overwrite`, and a DIR that is or holds an
input of the command is refused always, since replacing it destroys the input before it is read.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable

from langadapt import __version__
from langadapt.atomic import read_json, write_json
from langadapt.errors import UserError
from langadapt.models.extension import EXTENSION_FILE

MARKER = "langadapt_output.json"
# Files that earlier versions of each command wrote, accepted as its marker.
_LEGACY = {"export": ("langadapt_export.json",), "tokenizer extend": (f"model/{EXTENSION_FILE}",)}


def _local_path(ref: str | Path | None) -> Path | None:
    if ref is None:
        return None
    path = Path(str(ref)).expanduser()
    return path.resolve() if path.exists() else None


def written_by(out: str | Path) -> str | None:
    """The command whose output `out` is, from its marker (None when there is none)."""
    data = read_json(Path(out) / MARKER)
    return data.get("command") if isinstance(data, dict) else None


def guard_output(out: str | Path, command: str, overwrite: bool = False,
                 inputs: Iterable[str | Path | None] = ()) -> Path:
    """Check that `command` may replace `out`; returns the resolved folder. Raises UserError otherwise."""
    target = Path(out).expanduser().resolve()
    for ref in inputs:
        source = _local_path(ref)
        if source is not None and (target == source or target in source.parents):
            what = "is" if target == source else "holds"
            raise UserError(f"--out {out} {what} the input {ref}; replacing it would destroy the input. "
                            "Write to another folder")
    if not target.exists():
        return target
    if not target.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    if not any(target.iterdir()) or overwrite:
        return target
    if written_by(target) == command or any((target / name).is_file() for name in _LEGACY.get(command, ())):
        return target
    other = written_by(target)
    origin = f"the output of `langadapt {other}`" if other else f"not an output of `langadapt {command}` (no {MARKER})"
    raise UserError(f"--out {out} already holds files and is {origin}; it would be replaced whole. "
                    "Choose a new or empty folder, or pass --overwrite to replace it")


def mark_output(out: str | Path, command: str, **info: object) -> None:
    write_json(Path(out) / MARKER, {"command": command, "langadapt": __version__,
                                    "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **info})
