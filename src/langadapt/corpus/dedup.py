"""Deduplication in the main process: exact (hash of the normalised text) and near (MinHash LSH).

Use: `d = Deduper(cfg.dedup, scratch=folder)`; `d.check_many(docs)` -> one verdict per document, None
(new) or (reason, detail), in order; `d.check(doc)` for one; `d.close()` at the end. The first
occurrence in input order wins, so the result does not depend on the number of workers or chunk
size. Candidates from LSH are confirmed with the estimated Jaccard similarity, so a band collision
alone never drops a document, and they are tried oldest first, so the detail names the same earlier
document on every run.

The LSH index is banded the way datasketch's `MinHashLSH` chooses for the threshold and `num_perm`
(its bands `b` and rows `r`; 9 x 13 for 0.8 and 128).

Why it is built so: a corpus of short documents has millions of them (1 GB of poem-length text is ~4.4M), and the
index is the only part of cleaning that grows with the corpus. Kept as Python dicts of bytes keys
plus one numpy signature and one id string per document, it cost ~2.8 GB per million documents
(`bench/bench_clean_scale.py`, before this layout), so 1 GB of poems would have needed ~13 GB. Now:

- In memory, only 64-bit keys with 32-bit document numbers, in sorted runs (dedupstore.SortedRuns):
  the first 8 bytes of the digest for exact dedup, and each LSH band's 13 minimum hashes mixed into
  one 64-bit key. 12 bytes per key, 10 keys per document with near dedup on: 120 bytes per document.
- On disk (unlinked temporary files in the output's scratch folder), one record per indexed document:
  the full 128-bit digest, the 128 x uint32 signature and the document id. They are read back only to
  confirm a key hit, so they never need to be in memory: 32 + 4 x num_perm bytes plus the id per
  document (~0.6 GB of scratch disk per million documents at num_perm 128, 32 bytes without near).

A 64-bit key match is only a candidate: exact duplicates are confirmed on the full digest, near
ones on the estimated Jaccard of the full signatures (as before), so a key collision, at odds of
~N^2 / 2^64, can at most add a candidate that the confirmation then judges as before.
Measured with bench/bench_clean_scale.py (README, "Scaling past one machine"): peak RSS 153 MB per
extra million documents (was 2,833), and 0.86 GB for a 1 GB corpus of 4.4M documents.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np

from langadapt.config.clean import DedupConfig
from langadapt.corpus.dedupstore import RecordStore, SortedRuns
from langadapt.corpus.document import Document

_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64: each band's `rows` values folded into 64 bits by steps that are each one-to-one."""
    s = sigs[:, :bands * rows].reshape(len(sigs), bands, rows).astype(np.uint64)
    h = np.broadcast_to(np.arange(1, bands + 1, dtype=np.uint64) * _MIX2, (len(sigs), bands)).copy()
    for j in range(rows):
        h ^= s[:, :, j]
        h *= _MIX1
        h ^= h >> np.uint64(31)
    h *= _MIX2
    h ^= h >> np.uint64(29)
    return h


def _digest16(digest: bytes) -> bytes:
    return digest if len(digest) == 16 else hashlib.blake2b(digest, digest_size=16).digest()


class Deduper:
    def __init__(self, cfg: DedupConfig, scratch: str | Path | None = None):
        self.cfg = cfg
        self.bands = self.rows = 0
        if cfg.near:
            from datasketch import MinHashLSH

            lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
            self.bands, self.rows = lsh.b, lsh.r
        self._exact = SortedRuns()
        self._band = [SortedRuns() for _ in range(self.bands)]
        self._sig_bytes = 4 * cfg.num_perm if cfg.near else 0
        # record: [id start, id end (RecordStore's place)] [digest 16] [signature, zeros when unsigned]
        self._store = RecordStore(16 + 16 + self._sig_bytes, scratch)

    @property
    def index_bytes(self) -> int:
        return self._exact.nbytes + sum(b.nbytes for b in self._band)

    def close(self) -> None:
        self._store.close()

    def check(self, doc: Document) -> tuple[str, str] | None:
        return self.check_many([doc])[0]

    def check_many(self, docs: Sequence[Document]) -> list[tuple[str, str] | None]:
        """Verdicts in order; each document is judged against every earlier accepted one, this batch's included."""
        n = len(docs)
        if not n or not (self.cfg.exact or self.bands):
            return [None] * n
        digests = [_digest16(d.digest) for d in docs]
        exact_old: dict[int, list[int]] = {}
        if self.cfg.exact:
            ekeys = np.frombuffer(b"".join(d[:8] for d in digests), dtype="<u8").astype(np.uint64)
            q, v = self._exact.lookup(ekeys)
            for i, number in zip(q.tolist(), v.tolist()):
                exact_old.setdefault(i, []).append(number)
        signed = [i for i, d in enumerate(docs) if self.bands and d.minhash is not None]
        sigs = np.zeros((n, self.cfg.num_perm if self.bands else 0), dtype=np.uint32)
        near_old: dict[int, set[int]] = {}
        keys = np.zeros((n, self.bands), dtype=np.uint64)
        if signed:
            sigs[signed] = np.stack([np.asarray(docs[i].minhash, dtype=np.uint32) for i in signed])
            keys[signed] = _band_keys(sigs[signed], self.bands, self.rows)
            for band, runs in enumerate(self._band):
                q, v = runs.lookup(keys[signed, band])
                for i, number in zip(q.tolist(), v.tolist()):
                    near_old.setdefault(signed[i], set()).add(number)
        has_sig = np.zeros(n, dtype=bool)
        has_sig[signed] = True

        verdicts: list[tuple[str, str] | None] = []
        first = self._store.count
        accepted: list[int] = []  # positions in this batch, in order; document number = first + index
        new_exact: dict[bytes, int] = {}
        new_bands: list[dict[int, list[int]]] = [{} for _ in range(self.bands)]
        batch_keys = keys.tolist()
        for i, doc in enumerate(docs):
            verdict = None
            if self.cfg.exact:
                numbers = sorted(exact_old.get(i, ()))
                hit = next((m for m in numbers if self._digest_of(m) == digests[i]), None)
                if hit is None and digests[i] in new_exact:
                    hit = new_exact[digests[i]]
                if hit is not None:
                    verdict = ("exact_duplicate", f"same text as {self._id(hit, first, accepted, docs)}")
            if verdict is None and has_sig[i]:
                candidates = set(near_old.get(i, ()))
                for band, key in enumerate(batch_keys[i]):
                    candidates.update(new_bands[band].get(key, ()))
                for number in sorted(candidates):
                    other = sigs[accepted[number - first]] if number >= first else self._signature(number)
                    similarity = float(np.mean(other == sigs[i]))
                    if similarity >= self.cfg.threshold:
                        verdict = ("near_duplicate", f"estimated Jaccard {similarity:.2f} >= {self.cfg.threshold} with "
                                                     f"{self._id(number, first, accepted, docs)}")
                        break
            verdicts.append(verdict)
            if verdict is not None:
                continue
            number = first + len(accepted)
            accepted.append(i)
            if self.cfg.exact:
                new_exact.setdefault(digests[i], number)
            if has_sig[i]:
                for band, key in enumerate(batch_keys[i]):
                    new_bands[band].setdefault(key, []).append(number)
        if accepted:
            self._add(accepted, docs, digests, sigs, has_sig, keys, first)
        return verdicts

    def _add(self, accepted: list[int], docs, digests, sigs, has_sig, keys, first: int) -> None:
        idx = np.asarray(accepted)
        numbers = np.arange(first, first + len(idx), dtype=np.uint32)
        parts = [np.frombuffer(b"".join(digests[i] for i in accepted), dtype=np.uint8).reshape(len(idx), 16)]
        if self._sig_bytes:
            parts.append(sigs[idx].view(np.uint8).reshape(len(idx), self._sig_bytes))
        self._store.append(np.concatenate(parts, axis=1).tobytes(), [docs[i].id for i in accepted])
        if self.cfg.exact:
            self._exact.add(np.frombuffer(b"".join(digests[i][:8] for i in accepted), dtype="<u8").astype(np.uint64), numbers)
        signed = has_sig[idx]
        for band, runs in enumerate(self._band):
            runs.add(keys[idx[signed], band], numbers[signed])

    def _digest_of(self, number: int) -> bytes:
        return self._store.read(number)[:16]

    def _signature(self, number: int) -> np.ndarray:
        return np.frombuffer(self._store.read(number)[16:], dtype=np.uint32)

    def _id(self, number: int, first: int, accepted: list[int], docs: Sequence[Document]) -> str:
        return docs[accepted[number - first]].id if number >= first else self._store.id(number)
