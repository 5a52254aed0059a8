"""The compact parts of the dedup index: a sorted-runs multimap of 64-bit keys, and a record file on disk.

    runs = SortedRuns(); runs.add(keys_u64, numbers_u32); query, numbers = runs.lookup(keys_u64)
    store = RecordStore(stride=32 + 512, folder=None); store.append(records_bytes, ids); store.read(n)

Why sorted runs rather than a dict or a hash table: a dict entry with its key and value objects
costs ~100-200 bytes, a numpy hash table wastes half its slots to stay fast; a sorted array costs
exactly 12 bytes per entry (uint64 key + uint32 document number) and a batch of look-ups is one
`np.searchsorted` per run. New entries arrive a chunk at a time as a small sorted run; runs of equal
size are merged (a binary counter), so there are about log2(N / chunk) runs and each entry is
merged that many times, in O(n) linear merges that never sort again. The largest transient is one
merge: the merged run plus an int64 position per entry of the smaller side.

Why a record file: what the index needs only to confirm a hit (the full 128-bit text digest, the
MinHash signature, the document id for the reject detail) is read back for the few documents a
look-up returns, so it is kept on disk, one fixed-size record per indexed document, written with
one `os.write` per chunk and read with `os.pread`. The files are unlinked at creation: nothing is
left behind, even when the process is killed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


class SortedRuns:
    """An append-only multimap from uint64 keys to uint32 values, kept as a few sorted numpy runs."""

    def __init__(self) -> None:
        self._keys: list[np.ndarray] = []
        self._vals: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(k) for k in self._keys)

    @property
    def nbytes(self) -> int:
        return sum(k.nbytes + v.nbytes for k, v in zip(self._keys, self._vals))

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        self._keys.append(np.ascontiguousarray(keys[order], dtype=np.uint64))
        self._vals.append(np.ascontiguousarray(values[order], dtype=np.uint32))
        while len(self._keys) > 1 and len(self._keys[-2]) <= len(self._keys[-1]):
            bk, bv = self._keys.pop(), self._vals.pop()
            ak, av = self._keys.pop(), self._vals.pop()
            k, v = _merge(ak, av, bk, bv)
            del ak, av, bk, bv
            self._keys.append(k)
            self._vals.append(v)

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (query position, value) whose key equals the query's, as two arrays."""
        found_q, found_v = [], []
        for run_k, run_v in zip(self._keys, self._vals):
            lo = np.searchsorted(run_k, keys, side="left")
            hit = lo < len(run_k)
            hit[hit] = run_k[lo[hit]] == keys[hit]
            if not hit.any():
                continue
            q = np.flatnonzero(hit)
            hi = np.searchsorted(run_k, keys[q], side="right")
            counts = hi - lo[q]
            # positions lo..hi-1 of each hit query, flattened
            starts = np.repeat(lo[q] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
            found_q.append(np.repeat(q, counts))
            found_v.append(run_v[starts])
        if not found_q:
            return np.empty(0, np.int64), np.empty(0, np.uint32)
        return np.concatenate(found_q), np.concatenate(found_v)


def _merge(ak: np.ndarray, av: np.ndarray, bk: np.ndarray, bv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge two sorted runs in linear time: b's final positions by binary search, a fills the rest."""
    pos = np.searchsorted(ak, bk, side="right")
    pos += np.arange(len(bk))
    n = len(ak) + len(bk)
    keys, vals = np.empty(n, np.uint64), np.empty(n, np.uint32)
    rest = np.ones(n, dtype=bool)
    rest[pos] = False
    keys[pos], vals[pos] = bk, bv
    keys[rest], vals[rest] = ak, av
    return keys, vals


class RecordStore:
    """Fixed-size binary records plus one variable-length id per record, in two unlinked temporary files."""

    def __init__(self, stride: int, folder: str | Path | None = None):
        self.stride = stride
        self.count = 0
        self._id_end = 0
        self._records = tempfile.TemporaryFile(dir=folder, prefix=".dedup-records-")
        self._ids = tempfile.TemporaryFile(dir=folder, prefix=".dedup-ids-")

    def append(self, records: bytes, ids: list[str]) -> int:
        """Write len(ids) records (`records` holds them back to back, each `stride - 16` bytes long: the id's
        place is added here); returns the number of the first."""
        first = self.count
        encoded = [i.encode("utf-8", "surrogatepass") for i in ids]
        offsets = np.cumsum([0] + [len(e) for e in encoded], dtype=np.uint64) + np.uint64(self._id_end)
        where = np.stack([offsets[:-1], offsets[1:]], axis=1)  # (start, end) of each id in the id file
        body = np.frombuffer(records, dtype=np.uint8).reshape(len(ids), self.stride - 16)
        rows = np.concatenate([where.view(np.uint8).reshape(len(ids), 16), body], axis=1)
        _write_all(self._records.fileno(), rows.tobytes())
        _write_all(self._ids.fileno(), b"".join(encoded))
        self._id_end = int(offsets[-1])
        self.count += len(ids)
        return first

    def read(self, number: int) -> bytes:
        """Record `number` without its id place."""
        data = os.pread(self._records.fileno(), self.stride, number * self.stride)
        return data[16:]

    def id(self, number: int) -> str:
        start, end = np.frombuffer(os.pread(self._records.fileno(), 16, number * self.stride), dtype=np.uint64)
        return os.pread(self._ids.fileno(), int(end - start), int(start)).decode("utf-8", "surrogatepass")

    def close(self) -> None:
        self._records.close()
        self._ids.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
