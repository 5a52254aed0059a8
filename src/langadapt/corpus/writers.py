"""Writers: sharded JSONL or Parquet for kept documents, plain JSONL for held-out documents and rejects.

Use: `ShardWriter(folder, "jsonl", shard_size).write(record)`, `JsonlWriter(path).write(record)`.
Everything is written into a temporary folder first; `publish` moves finished files into place.
A record that cannot be written (a lone surrogate, nesting too deep for the encoder) raises
`UnwritableRecord` before any of its bytes reach the file, so the caller can reject it instead;
`write_ledger` always writes its entry, escaping or dropping what cannot be encoded.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any


class UnwritableRecord(ValueError):
    """The record cannot be encoded as one UTF-8 JSON line; nothing of it was written."""


def _dumps(record: dict[str, Any], ascii_only: bool = False) -> bytes:
    """One JSON line as UTF-8 bytes; encoded here, whole, so a lone surrogate fails before anything is written."""
    # default=str: Parquet and datasets rows may hold dates or decimals the ledger must still keep.
    try:
        return json.dumps(record, ensure_ascii=ascii_only, default=str).encode("utf-8") + b"\n"
    except (ValueError, TypeError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise UnwritableRecord(f"{type(exc).__name__}: {str(exc)[:200]}") from None


class JsonlWriter:
    def __init__(self, path: Path):
        self.path = path
        self.count = 0
        self._fh = path.open("wb")

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(_dumps(record))
        self.count += 1

    def write_ledger(self, entry: dict[str, Any]) -> None:
        """Write a rejects entry whatever it holds: escaped to ASCII if need be, else without the record."""
        try:
            line = _dumps(entry)
        except UnwritableRecord:
            try:
                line = _dumps(entry, ascii_only=True)  # \ud800 escapes keep a lone surrogate exactly as it came
            except UnwritableRecord as exc:
                kept = {k: v for k, v in entry.items() if k not in ("record", "record_base64")}
                line = _dumps({**kept, "record": None, "record_unwritable": str(exc)}, ascii_only=True)
        self._fh.write(line)
        self.count += 1

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()


class ShardWriter:
    """Writes `part-00000.jsonl` (or `.parquet`) files of at most `shard_size` documents each."""

    def __init__(self, folder: Path, fmt: str, shard_size: int):
        self.folder, self.fmt, self.shard_size = folder, fmt, shard_size
        folder.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.files: list[Path] = []
        self._in_shard = 0
        self._jsonl: JsonlWriter | None = None
        self._rows: list[dict[str, Any]] = []
        self._parquet = None

    def _open(self) -> None:
        path = self.folder / f"part-{len(self.files):05d}.{self.fmt}"
        self.files.append(path)
        self._in_shard = 0
        if self.fmt == "jsonl":
            self._jsonl = JsonlWriter(path)

    def write(self, record: dict[str, Any]) -> None:
        if not self.files or self._in_shard >= self.shard_size:
            self._close_shard()
            self._open()
        if self.fmt == "jsonl":
            self._jsonl.write(record)
        else:
            # meta is encoded now, so a record that cannot be written fails alone, not its whole row group
            self._rows.append({**record, "meta": _dumps(record.get("meta") or {})[:-1].decode("utf-8")})
            if len(self._rows) >= 1024:  # row groups keep memory flat within a large shard
                self._flush_parquet()
        self._in_shard += 1
        self.count += 1

    def _flush_parquet(self) -> None:
        if not self._rows:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(self._rows)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self.files[-1], table.schema)
        self._parquet.write_table(table)
        self._rows = []

    def _close_shard(self) -> None:
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None
        if self.fmt == "parquet" and self.files:
            self._flush_parquet()
            if self._parquet is not None:
                self._parquet.close()
                self._parquet = None

    def close(self) -> None:
        self._close_shard()


def publish(tmp: Path, out_dir: Path, names: list[str]) -> None:
    """Move finished outputs from `tmp` into `out_dir`, replacing older ones (stats.json goes last)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        src, dst = tmp / name, out_dir / name
        if not src.exists():
            continue
        if dst.is_dir():
            old = out_dir / f".{name}.old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dst, old)
            os.replace(src, dst)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(src, dst)
    shutil.rmtree(tmp, ignore_errors=True)


def read_shards(folder: Path):
    """Documents of a shard folder in order (JSONL or Parquet), as dicts with `meta` as a dict."""
    for path in sorted(folder.glob("part-*")):
        if path.suffix == ".jsonl":
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    yield json.loads(line)
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
                for row in batch.to_pylist():
                    row["meta"] = json.loads(row["meta"]) if isinstance(row.get("meta"), str) else row.get("meta")
                    yield row
