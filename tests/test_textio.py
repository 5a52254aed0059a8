"""textio: every compression read back byte-exact by its magic bytes; truncation and damage are errors, never a short read."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os

import pytest
import zstandard

from langadapt.textio import CorruptFileError, compression_of, data_suffix, list_data_files, open_binary, open_text

TEXT = "".join(f'{{"text": "línea {i} — 行 {i}"}}\n' for i in range(20000))
COMPRESSORS = {
    "gzip": gzip.compress,
    # the zstd command line writes a checksum by default; without one, damaged literals decode silently
    "zstd": lambda b: zstandard.ZstdCompressor(write_checksum=True).compress(b),
    "bz2": bz2.compress,
    "xz": lzma.compress,
}
SUFFIX = {"gzip": ".gz", "zstd": ".zst", "bz2": ".bz2", "xz": ".xz"}


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_each_format_reads_back_exactly(tmp_path, kind):
    path = tmp_path / f"a.jsonl{SUFFIX[kind]}"
    path.write_bytes(COMPRESSORS[kind](TEXT.encode()))
    assert compression_of(path) == kind
    with open_text(path) as fh:
        assert fh.read() == TEXT
    with open_text(path) as fh:
        lines = list(fh)
    assert len(lines) == 20000 and lines[-1] == TEXT.splitlines(keepends=True)[-1]


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_magic_bytes_win_over_the_name(tmp_path, kind):
    misnamed = tmp_path / "looks_plain.jsonl"
    misnamed.write_bytes(COMPRESSORS[kind](TEXT.encode()))
    with open_text(misnamed) as fh:
        assert fh.read() == TEXT
    plain_named_gz = tmp_path / "plain.jsonl.gz"
    plain_named_gz.write_text("BZh is plain text here\n", encoding="utf-8")
    assert compression_of(plain_named_gz) is None
    with open_text(plain_named_gz) as fh:
        assert fh.read() == "BZh is plain text here\n"


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_concatenated_members_are_all_read(tmp_path, kind):
    path = tmp_path / f"multi{SUFFIX[kind]}"
    path.write_bytes(COMPRESSORS[kind](b"first\n") + COMPRESSORS[kind](b"second\n"))
    with open_text(path) as fh:
        assert fh.read() == "first\nsecond\n"


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_truncated_file_is_an_error_not_a_short_read(tmp_path, kind):
    data = COMPRESSORS[kind](os.urandom(200_000).hex().encode())
    path = tmp_path / f"cut{SUFFIX[kind]}"
    path.write_bytes(data[: len(data) - 7])
    with pytest.raises(CorruptFileError, match="truncated"):
        with open_binary(path) as fh:
            while fh.read(1 << 16):
                pass


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_damaged_file_is_an_error(tmp_path, kind):
    data = bytearray(COMPRESSORS[kind](os.urandom(50_000).hex().encode()))
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0x5A
    path = tmp_path / f"bad{SUFFIX[kind]}"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError):
        with open_binary(path) as fh:
            while fh.read(1 << 16):
                pass


def test_bounded_output_for_a_highly_compressible_file(tmp_path):
    path = tmp_path / "zeros.zst"
    path.write_bytes(zstandard.ZstdCompressor(level=19).compress(b"\0" * (64 << 20)))
    with open_binary(path) as fh:
        first = fh.read(1000)
        assert first == b"\0" * 1000
        total = len(first) + sum(len(c) for c in iter(lambda: fh.read(1 << 20), b""))
    assert total == 64 << 20


def test_plain_and_empty_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert compression_of(empty) is None
    with open_text(empty) as fh:
        assert fh.read() == ""
    empty_gz = tmp_path / "empty.txt.gz"
    empty_gz.write_bytes(gzip.compress(b""))
    with open_text(empty_gz) as fh:
        assert fh.read() == ""


def test_list_data_files_finds_compressed_and_skips_hidden(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / ".cache").mkdir()
    names = ["a.jsonl", "b.jsonl.gz", "sub/c.txt.zst", "sub/d.TXT.xz", "e.parquet", "f.bin", "g.jsonl.bz2", ".h.jsonl", ".cache/i.jsonl"]
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in list_data_files(tmp_path, {".jsonl", ".txt", ".parquet"})]
    assert found == ["a.jsonl", "b.jsonl.gz", "e.parquet", "g.jsonl.bz2", "sub/c.txt.zst", "sub/d.TXT.xz"]
    assert data_suffix("x/a.JSONL.Gz") == ".jsonl" and data_suffix("b.txt") == ".txt" and data_suffix("c.gz") == ""
