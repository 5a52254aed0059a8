"""Read training and held-out text for the tokenizer stage: JSONL/Parquet shards or plain text.

    from langadapt.tokenizer.texts import iter_texts, texts_by_language
    for text in iter_texts(["runs/x/clean/corpus"]): ...

A folder is read recursively (`*.jsonl`, `*.parquet`, `*.txt`, in name order); JSON records give
their `text` field (or the lines of a `paragraphs` list, as fetched poem collections have).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Iterator

from langadapt.errors import UserError

_SUFFIXES = (".jsonl", ".parquet", ".txt")


def _files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in _SUFFIXES and not p.name.startswith("."))
        elif path.is_file():
            found.append(path)
        else:
            raise UserError(f"{raw}: no such file or folder")
    return found


def record_text(record: dict, field: str = "text") -> str:
    value = record.get(field)
    if value is None and isinstance(record.get("paragraphs"), list):
        value = "\n".join(record["paragraphs"])
    return value if isinstance(value, str) else ""


def record_language(record: dict) -> str | None:
    meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
    for source in (record, meta):
        for key in ("language", "lang"):
            if isinstance(source.get(key), str):
                return source[key]
    return None


def iter_records(paths: Iterable[str | os.PathLike]) -> Iterator[dict]:
    for path in _files(paths):
        if path.suffix == ".jsonl":
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield json.loads(line)
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
                yield from batch.to_pylist()
        else:
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield {"text": line.rstrip("\n")}


def iter_texts(paths: Iterable[str | os.PathLike], field: str = "text", max_chars: int | None = None) -> Iterator[str]:
    """Texts of every record under `paths`, stopping once `max_chars` characters were given."""
    given = 0
    for record in iter_records(paths):
        text = record_text(record, field)
        if not text:
            continue
        yield text
        given += len(text)
        if max_chars is not None and given >= max_chars:
            return


def texts_by_language(paths: Iterable[str | os.PathLike], default: str, max_chars: int | None = None) -> dict[str, list[str]]:
    """Held-out texts grouped by the language their records name (else `default`), up to max_chars each."""
    out: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    for record in iter_records(paths):
        text = record_text(record)
        if not text:
            continue
        lang = record_language(record) or default
        if max_chars is not None and sizes.get(lang, 0) >= max_chars:
            continue
        out.setdefault(lang, []).append(text)
        sizes[lang] = sizes.get(lang, 0) + len(text)
    return out
