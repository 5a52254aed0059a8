"""Readers: turn a corpus spec (files, globs, Parquet, a datasets dataset) into a stream of raw records.

Use: `for rec in read_corpora(sources, max_record_bytes)` where `sources` come from `resolve_sources`.
Readers never parse text: they hand bytes (or rows) to the workers, and they never read an oversized
record into memory, so memory stays flat however large a line is. Compressed files (gzip, zstd, bz2, xz)
are found in folders by their inner suffix (`a.jsonl.gz`) and decoded by their magic bytes, whatever
their name; a compressed file that breaks off mid-way ends in one `corrupt_file` reject that says where,
so the records before it are kept and the loss is in the ledger, never silent.
"""

from __future__ import annotations

import glob
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from langadapt.config.corpus import CorpusSpec
from langadapt.corpus.document import RawRecord
from langadapt.errors import UserError, require
from langadapt.textio import CorruptFileError, compression_of, data_suffix, list_data_files, open_binary

TEXT_SUFFIXES = {".txt", ".text", ".md"}
KNOWN_SUFFIXES = TEXT_SUFFIXES | {".jsonl", ".ndjson", ".json", ".parquet"}
HEAD_BYTES = 4096


@dataclass
class Source:
    """A corpus spec with its files found: what the readers and workers need to know about it."""

    spec: CorpusSpec
    files: list[Path]
    language: str
    base: Path | None = None
    """Folder that `origin` paths are written relative to."""

    @property
    def name(self) -> str:
        return self.spec.name


def find_files(pattern: str, base: Path) -> list[Path]:
    """A file, a folder (its known files, recursively) or a glob; sorted so every run reads the same order."""
    path = Path(pattern).expanduser()
    if not path.is_absolute():
        path = base / path
    if any(ch in pattern for ch in "*?["):
        found = [Path(p) for p in glob.glob(str(path), recursive=True)]
        found = [p for p in found if p.is_file()]
    elif path.is_dir():
        found = list_data_files(path, KNOWN_SUFFIXES)
    elif path.exists():  # a file, or a pipe such as /dev/stdin or a FIFO
        found = [path]
    else:
        raise UserError(f"{pattern}: no such file or folder (looked in {base})")
    if not found:
        raise UserError(f"{pattern}: matched no input files")
    return sorted(found)


def file_format(spec: CorpusSpec, path: Path) -> str:
    if spec.format != "auto":
        return spec.format
    suffix = data_suffix(path)
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    if suffix == ".parquet":
        return "parquet"
    return "text"


def _origin(path: Path, base: Path | None) -> str:
    try:
        return str(path.relative_to(base)) if base else str(path)
    except ValueError:
        return str(path)


def _lines(path: Path, limit: int) -> Iterator[tuple[int, int, bytes | None, int, bytes, str]]:
    """(line number, byte offset, line bytes or None when over `limit`, size, head, sha256) per line.

    An oversized line is streamed through a hash in `limit`-sized pieces and never held whole.
    """
    with open_binary(path) as fh:
        number, offset = 0, 0
        while True:
            piece = fh.readline(limit + 1)
            if not piece:
                return
            number += 1
            if piece.endswith(b"\n") or len(piece) <= limit:
                yield number, offset, piece.rstrip(b"\n"), len(piece), b"", ""
                offset += len(piece)
                continue
            digest, size, head = hashlib.sha256(piece), len(piece), piece[:HEAD_BYTES]
            while not piece.endswith(b"\n"):
                piece = fh.readline(1 << 20)
                if not piece:
                    break
                digest.update(piece)
                size += len(piece)
            yield number, offset, None, size, head, digest.hexdigest()
            offset += size


def _too_large(ordinal: int, corpus: int, origin: str, offset: int, size: int, head: bytes, sha: str, limit: int) -> RawRecord:
    return RawRecord(ordinal, corpus, origin, None, size=size, head=head, sha256=sha,
                     reject=("record_too_large", f"{size} bytes at byte offset {offset}, over max_record_bytes={limit}"))


def _read_lines(src: Source, idx: int, path: Path, limit: int, start: int, mode: str) -> Iterator[RawRecord]:
    """Records of a line-based file; a decoding error mid-file becomes one last `corrupt_file` reject."""
    name = _origin(path, src.base)
    last = RawRecord(start - 1, idx, "", None)
    try:
        for last in _records(_lines(path, limit), idx, name, limit, start, mode):
            yield last
    except CorruptFileError as exc:
        yield _corrupt(last.ordinal + 1, idx, name, last.origin, exc)


def _corrupt(ordinal: int, corpus: int, name: str, after: str, exc: Exception) -> RawRecord:
    where = f"after record {after}" if after else "from its first record on"
    return RawRecord(ordinal, corpus, name, None,
                     reject=("corrupt_file", f"{exc}; the rest of the file, {where}, could not be read"))


def _records(lines: Iterator, idx: int, name: str, limit: int, start: int, mode: str) -> Iterator[RawRecord]:
    kind = "json" if mode == "json" else "text"
    ordinal = start
    block: list[bytes] = []
    block_line, block_size = 0, 0
    try:
        for number, offset, line, size, head, sha in lines:
            if line is None:
                if mode == "block" and block:
                    yield RawRecord(ordinal, idx, f"{name}:{block_line}", b"\n".join(block), size=block_size)
                    ordinal, block = ordinal + 1, []
                yield _too_large(ordinal, idx, f"{name}:{number}", offset, size, head, sha, limit)
                ordinal += 1
                continue
            blank = not line.strip()
            if mode == "block":
                if blank:
                    if block:
                        yield RawRecord(ordinal, idx, f"{name}:{block_line}", b"\n".join(block), size=block_size)
                        ordinal, block = ordinal + 1, []
                    continue
                if not block:
                    block_line, block_size = number, 0
                block.append(line)
                block_size += size
                if block_size > limit:
                    yield _too_large(ordinal, idx, f"{name}:{block_line}", offset, block_size, b"\n".join(block)[:HEAD_BYTES], "", limit)
                    ordinal, block = ordinal + 1, []
                continue
            # Blank lines separate records in text and JSONL; they carry nothing to keep or reject.
            if blank:
                continue
            yield RawRecord(ordinal, idx, f"{name}:{number}", line, size=size, kind=kind)
            ordinal += 1
    except CorruptFileError:
        # The block read so far is a record even when the file breaks off after it (the error then follows).
        if block:
            yield RawRecord(ordinal, idx, f"{name}:{block_line}", b"\n".join(block), size=block_size)
        raise
    if block:
        yield RawRecord(ordinal, idx, f"{name}:{block_line}", b"\n".join(block), size=block_size)


def _read_bounded(path: Path, limit: int) -> tuple[bytes | None, int, bytes, str]:
    """(decoded bytes or None when over `limit`, decoded size, head, sha256 when over) of a whole file."""
    with open_binary(path) as fh:
        data = fh.read(limit + 1)
        if len(data) <= limit:
            return data, len(data), b"", ""
        digest, size, head = hashlib.sha256(data), len(data), data[:HEAD_BYTES]
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return None, size, head, digest.hexdigest()


def _read_whole(src: Source, idx: int, path: Path, limit: int, start: int, fmt: str) -> Iterator[RawRecord]:
    name = _origin(path, src.base)
    try:
        if fmt == "text":
            data, size, head, sha = _read_bounded(path, limit)
            if data is None:
                yield _too_large(start, idx, name, 0, size, head, sha, limit)
            else:
                yield RawRecord(start, idx, name, data, size=size)
            return
        # A JSON file is parsed whole (a list of records is split here), so it is read whole, whatever the limit.
        with open_binary(path) as fh:
            data = fh.read()
    except CorruptFileError as exc:
        yield _corrupt(start, idx, name, "", exc)
        return
    size = len(data)
    # A JSON file: a list of records (chinese-poetry's layout) or one record; JSONL saved as .json also works.
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            yield from _read_lines(src, idx, path, limit, start, "json")
            return
        yield RawRecord(start, idx, name, data, size=size, kind="json")
        return
    except (ValueError, RecursionError):
        # Not UTF-8, an integer too long to convert, nesting too deep: the worker rejects it with the reason.
        yield RawRecord(start, idx, name, data, size=size, kind="json")
        return
    rows = parsed if isinstance(parsed, list) else [parsed]
    for i, row in enumerate(rows):
        yield RawRecord(start + i, idx, f"{name}#{i}", row if isinstance(row, dict) else {"__not_an_object__": row}, size=0)


def _read_parquet(src: Source, idx: int, path: Path, start: int) -> Iterator[RawRecord]:
    import pyarrow.parquet as pq

    name = _origin(path, src.base)
    ordinal, after = start, ""
    if compression_of(path) is not None:
        yield _corrupt(start, idx, name, "", CorruptFileError(f"{name}: a compressed Parquet file; Parquet compresses "
                                                              "its own columns, so decompress it first"))
        return
    try:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                yield RawRecord(ordinal, idx, f"{name}#{ordinal - start}", row)
                after = f"{name}#{ordinal - start}"
                ordinal += 1
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError
        yield _corrupt(ordinal, idx, name, after, CorruptFileError(f"{name}: not a readable Parquet file: {exc}"))


def _read_hf(src: Source, idx: int, start: int) -> Iterator[RawRecord]:
    require("datasets", "data", "reading a Hugging Face dataset")
    import datasets

    spec = src.spec
    ref = spec.hf_dataset or ""
    local = Path(ref).expanduser()
    if not local.is_absolute() and src.base is not None and (src.base / local).exists():
        local = src.base / local
    if local.is_dir() and ((local / "dataset_info.json").exists() or (local / "state.json").exists() or (local / "dataset_dict.json").exists()):
        loaded = datasets.load_from_disk(str(local))
        if isinstance(loaded, datasets.DatasetDict):
            loaded = loaded[spec.hf_split]
        rows = loaded.to_iterable_dataset()
    else:
        try:
            rows = datasets.load_dataset(str(local) if local.exists() else ref, spec.hf_config, split=spec.hf_split, streaming=True)
        except Exception as exc:  # the datasets library raises many kinds; the user needs one line
            raise UserError(f"corpus {spec.name!r}: cannot open dataset {ref!r}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
    for i, row in enumerate(rows):
        yield RawRecord(start + i, idx, f"{ref}#{i}", dict(row))


def read_source(src: Source, idx: int, limit: int, start: int) -> Iterator[RawRecord]:
    """Every raw record of one corpus, numbered from `start`, at most `max_documents` of them."""
    spec = src.spec
    cap = spec.max_documents

    def stream() -> Iterator[RawRecord]:
        ordinal = start
        if spec.hf_dataset and not src.files:
            yield from _read_hf(src, idx, start)
            return
        for path in src.files:
            fmt = file_format(spec, path)
            if fmt == "hf":
                raise UserError(f"corpus {spec.name!r}: format hf needs hf_dataset")
            if fmt == "parquet":
                reader = _read_parquet(src, idx, path, ordinal)
            elif fmt == "json":
                reader = _read_whole(src, idx, path, limit, ordinal, "json")
            elif fmt == "text" and spec.text_mode == "file":
                reader = _read_whole(src, idx, path, limit, ordinal, "text")
            else:
                reader = _read_lines(src, idx, path, limit, ordinal, "json" if fmt == "jsonl" else spec.text_mode)
            for rec in reader:
                ordinal = rec.ordinal + 1
                yield rec

    for n, rec in enumerate(stream()):
        if cap is not None and n >= cap:
            return
        yield rec


def read_corpora(sources: list[Source], limit: int) -> Iterator[RawRecord]:
    """All corpora one after another, with one running ordinal across them."""
    ordinal = 0
    for idx, src in enumerate(sources):
        for rec in read_source(src, idx, limit, ordinal):
            yield rec
            ordinal = rec.ordinal + 1
