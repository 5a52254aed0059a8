"""Compressed or plain data files, opened the same way: the format is read from the file's first bytes.

    with open_text("corpus.jsonl.zst") as fh:        # also .gz, .bz2, .xz, or plain
        for line in fh: ...
    with open_binary(path) as fh: ...                # decompressed bytes, for readers that bound line size
    compression_of(path)                             # "gzip" | "zstd" | "bz2" | "xz" | None
    list_data_files(folder, {".jsonl", ".txt"})      # also finds a.jsonl.gz, b.txt.zst
    data_suffix(path)                                # ".jsonl" for "a.jsonl.gz"

Why magic bytes and not the name: a `.gz` renamed `.jsonl` (or a plain file called `.gz`) must still be
read as what it is, never as mojibake that every later step rejects one record at a time.

Why a decompressor loop of our own instead of gzip.open/zstandard.open: the library streams disagree on a
cut-off file (zstandard's reader returns a short stream and no error), so a truncated download would lose
its tail silently. Here every format ends with `CorruptFileError` when the compressed stream stops before
its end marker, and output per call is bounded so a small file that expands hugely never fills memory.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from pathlib import Path
from typing import BinaryIO, Iterable, TextIO

COMPRESSION_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2", ".xz": "xz"}
"""Name endings that mark a compressed file; used only to find files and their inner format, never to decode."""

_CHUNK = 1 << 16
_ZSTD_CHUNK = 1 << 11  # zstd's decompressobj has no output bound; small inputs bound it (RLE blocks: 128 KiB per 4 bytes)


class CorruptFileError(OSError):
    """A compressed file that cannot be decoded to its end (truncated, damaged, or not what its header says)."""


def _sniff(head: bytes) -> str | None:
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:4] == b"\x28\xb5\x2f\xfd" or (len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50):
        return "zstd"  # a zstd frame, or a skippable frame (0x184D2A5?) that tools put in front of one
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    # "BZh" + block size digit, then a block or end-of-stream marker: plain text can start with "BZh".
    if head[:3] == b"BZh" and head[3:4].isdigit() and head[4:10] in (b"\x31\x41\x59\x26\x53\x59", b"\x17\x72\x45\x38\x50\x90"):
        return "bz2"
    return None


def compression_of(path: str | Path) -> str | None:
    """'gzip', 'zstd', 'bz2', 'xz', or None for a plain file, from the file's first bytes."""
    with open(path, "rb") as fh:
        return _sniff(fh.read(10))


def data_suffix(path: str | Path) -> str:
    """The format suffix under any compression suffix, lower-cased: 'a.JSONL.gz' -> '.jsonl', 'b.txt' -> '.txt'."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in COMPRESSION_SUFFIXES:
        suffix = Path(p.stem).suffix.lower()
    return suffix


def list_data_files(folder: str | Path, suffixes: Iterable[str]) -> list[Path]:
    """Files under `folder` (recursively, hidden ones skipped) whose format suffix is in `suffixes`,
    compressed or not (`.jsonl` matches a.jsonl, a.jsonl.gz, a.jsonl.zst, ...); sorted for a stable order."""
    wanted = {s.lower() if s.startswith(".") else "." + s.lower() for s in suffixes}
    root = Path(folder)
    found = []
    for p in root.rglob("*"):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") for part in rel) or not p.is_file():
            continue
        if data_suffix(p) in wanted:
            found.append(p)
    return sorted(found)


def _new_decompressor(kind: str):
    if kind == "gzip":
        return zlib.decompressobj(wbits=31)
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    if kind == "xz":
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    import zstandard

    return zstandard.ZstdDecompressor().decompressobj()


class _Decompressing(io.RawIOBase):
    """Decoded bytes of a compressed file: members/frames one after another, truncation is an error."""

    def __init__(self, raw: BinaryIO, kind: str, name: str):
        self._raw, self._kind, self._name = raw, kind, name
        self._dec = _new_decompressor(kind)
        self._pending = b""  # compressed bytes not yet given to the decompressor
        self._started = False  # the current member has had input (an empty tail after the last member is fine)
        self._done = False
        self._out = b""  # decoded bytes not yet handed out (zstd can return more than asked)

    def readable(self) -> bool:
        return True

    def _fail(self, why: str) -> CorruptFileError:
        return CorruptFileError(f"{self._name}: {self._kind} data {why}")

    def _step(self, want: int) -> bytes:
        dec = self._dec
        if self._kind in ("bz2", "xz") and self._started and not dec.needs_input:
            data = b""  # the decompressor still holds input it has not decoded
        else:
            if not self._pending:
                self._pending = self._raw.read(_ZSTD_CHUNK if self._kind == "zstd" else _CHUNK)
            if not self._pending:
                return self._at_end()
            if not self._started and not self._pending.strip(b"\x00"):
                self._pending = b""  # zero padding after the last member, as some tools write
                return b""
            data, self._pending = self._pending, b""
        self._started = True
        try:
            if self._kind == "zstd":
                out = dec.decompress(data)
            else:
                out = dec.decompress(data, want)
                if self._kind == "gzip":
                    self._pending = dec.unconsumed_tail
        except Exception as exc:  # zlib.error, lzma.LZMAError, OSError, zstandard.ZstdError: one kind for callers
            raise self._fail(f"is damaged: {exc}") from None
        self._next_member()
        return out

    def _at_end(self) -> bytes:
        if not self._started:
            self._done = True
            return b""
        out = b""
        if self._kind == "gzip":  # zlib may hold output back when the last call hit its output bound
            out = self._dec.flush()
        if not self._dec.eof:
            raise self._fail("ends before its end-of-stream marker (truncated file?)")
        self._next_member()
        return out

    def _next_member(self) -> None:
        if self._dec.eof:  # gzip members and zstd frames can follow one another in one file
            self._pending = self._dec.unused_data + self._pending
            self._dec, self._started = _new_decompressor(self._kind), False

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        while not self._out and not self._done:
            self._out = self._step(len(view))
        n = min(len(self._out), len(view))
        view[:n], self._out = self._out[:n], self._out[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def open_binary(path: str | Path) -> BinaryIO:
    """The file's decoded bytes as a buffered binary stream (plain files are opened as they are)."""
    raw = open(path, "rb")
    try:
        kind = _sniff(raw.peek(10)[:10] if hasattr(raw, "peek") else b"")
    except Exception:
        raw.close()
        raise
    if kind is None:
        return raw
    return io.BufferedReader(_Decompressing(raw, kind, str(path)), buffer_size=_CHUNK)


def open_text(path: str | Path, encoding: str = "utf-8", errors: str = "strict", newline: str | None = None) -> TextIO:
    """The file as text, decompressed when its first bytes say so; close it (or use `with`)."""
    return io.TextIOWrapper(open_binary(path), encoding=encoding, errors=errors, newline=newline)
