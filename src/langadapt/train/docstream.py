"""Training documents read as a stream from what users have: a cleaned folder, JSONL, plain text, Parquet,
each optionally compressed (.gz, .zst, .bz2, .xz).

    for doc in iter_documents("runs/x/clean/corpus"):      # Doc(text, source, role), one at a time
        ...
    files = data_files("corpus.txt.gz")                      # what would be read, in order

Compression is read from the file's first bytes (`langadapt.textio`), so a truncated or damaged
file stops with an error naming it instead of losing its tail.

Plain text: a `.txt` file that has a blank line between two text lines is split at blank lines (each
block is one document, its lines joined by newlines, the CC-100 layout); a `.txt` file without blank
lines holds one document per line. The file is scanned once for a blank line before it is read, so
nothing is buffered. Nothing here holds more than one record (one Parquet batch) at a time: the
corpus may be larger than memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from langadapt.errors import UserError
from langadapt.textio import CorruptFileError, data_suffix, list_data_files, open_text

FORMATS = (".jsonl", ".json", ".txt", ".parquet")


@dataclass(frozen=True)
class Doc:
    text: str
    source: str
    role: str | None = None


def data_files(path: str | Path) -> list[Path]:
    """The data files of a file or folder (recursively, sorted), or a clear error naming what is accepted."""
    path = Path(path)
    accepted = "a .jsonl, .txt or .parquet file (optionally .gz/.zst/.bz2/.xz) or a folder of them, e.g. the clean stage's corpus"
    if path.is_file():
        if data_suffix(path) not in FORMATS:
            raise UserError(f"{path}: unknown data format {''.join(path.suffixes) or '(no suffix)'}; expected {accepted}")
        return [path]
    if not path.is_dir():
        raise UserError(f"{path}: no such file or folder; expected {accepted}")
    files = list_data_files(path, FORMATS)
    if not files:
        raise UserError(f"{path}: no data files found (no JSONL shards, .txt or .parquet); expected {accepted}")
    return files


def _record(rec, where: str) -> Doc | None:
    if not isinstance(rec, dict):
        raise UserError(f"{where}: expected a JSON object with a `text` field, got {type(rec).__name__}")
    text = rec.get("text")
    if not isinstance(text, str) or not text.strip():
        return None
    return Doc(text, str(rec.get("source") or "corpus"), rec.get("role"))


def _jsonl(path: Path) -> Iterator[Doc]:
    with open_text(path) as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                hint = " (plain text? name the file .txt)" if n == 1 else ""
                raise UserError(f"{path}:{n}: not valid JSON ({exc.msg}){hint}") from None
            if (doc := _record(rec, f"{path}:{n}")) is not None:
                yield doc


def _has_blank_separator(path: Path) -> bool:
    seen_text = blank_after_text = False
    with open_text(path) as fh:
        for line in fh:
            if line.strip():
                if blank_after_text:
                    return True
                seen_text = True
            elif seen_text:
                blank_after_text = True
    return False


def _txt(path: Path) -> Iterator[Doc]:
    source = "corpus"
    if not _has_blank_separator(path):
        with open_text(path) as fh:
            for line in fh:
                if text := line.rstrip("\r\n"):
                    if text.strip():
                        yield Doc(text, source)
        return
    block: list[str] = []
    with open_text(path) as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if line.strip():
                block.append(line)
            elif block:
                yield Doc("\n".join(block), source)
                block = []
    if block:
        yield Doc("\n".join(block), source)


def _parquet(path: Path) -> Iterator[Doc]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    names = set(pf.schema_arrow.names)
    if "text" not in names:
        raise UserError(f"{path}: Parquet file has no `text` column (columns: {sorted(names)[:10]})")
    cols = [c for c in ("text", "source", "role") if c in names]
    for batch in pf.iter_batches(batch_size=2048, columns=cols):
        for rec in batch.to_pylist():
            if (doc := _record(rec, str(path))) is not None:
                yield doc


def _json_array(path: Path) -> Iterator[Doc]:
    with open_text(path) as fh:
        head = fh.read(1)
        while head and head.isspace():
            head = fh.read(1)
    if head != "[":  # a .json file of one object per line is JSONL by another name
        yield from _jsonl(path)
        return
    with open_text(path) as fh:
        try:
            data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}: not valid JSON ({exc.msg})") from None
    for i, rec in enumerate(data):
        if (doc := _record(rec, f"{path}[{i}]")) is not None:
            yield doc


def iter_file(path: Path) -> Iterator[Doc]:
    reader = {".jsonl": _jsonl, ".txt": _txt, ".parquet": _parquet, ".json": _json_array}[data_suffix(path)]
    try:
        yield from reader(path)
    except CorruptFileError as exc:
        raise UserError(f"{exc} (nothing was trained; re-download or re-compress the file)") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); "
                        "a compressed file of another kind, or a binary file?") from None


def iter_documents(path: str | Path) -> Iterator[Doc]:
    """Every document with non-blank text under `path`, file by file in sorted order."""
    for f in data_files(path):
        yield from iter_file(f)
