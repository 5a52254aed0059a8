"""Deduplication in the main process: exact (hash of the normalised text) and near (MinHash LSH).

Use: `d = Deduper(cfg.dedup); verdict = d.check(doc)` -> None (new) or (reason, detail). The first
occurrence in input order wins, so the result does not depend on the number of workers. Candidates
from LSH are confirmed with the estimated Jaccard similarity, so a band collision alone never drops
a document, and they are tried oldest first, so the detail names the same earlier document on every run.

The LSH index is banded the way datasketch's `MinHashLSH` chooses for the threshold and `num_perm`
(its bands `b` and rows `r`); the bands themselves are plain dicts from a band's bytes to document
numbers, which costs a few dictionary look-ups per document instead of building a MinHash object.
"""

from __future__ import annotations

import numpy as np

from langadapt.config.clean import DedupConfig
from langadapt.corpus.document import Document


class Deduper:
    def __init__(self, cfg: DedupConfig):
        self.cfg = cfg
        self._exact: dict[bytes, str] = {}
        self._bands: list[dict[bytes, list[int]]] = []
        self._ranges: list[tuple[int, int]] = []
        self._ids: list[str] = []
        self._signatures: list[np.ndarray] = []
        if cfg.near:
            from datasketch import MinHashLSH

            lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
            self._ranges = [(i * lsh.r, (i + 1) * lsh.r) for i in range(lsh.b)]
            self._bands = [{} for _ in self._ranges]

    def check(self, doc: Document) -> tuple[str, str] | None:
        if self.cfg.exact:
            first = self._exact.get(doc.digest)
            if first is not None:
                return "exact_duplicate", f"same text as {first}"
        if self._bands and doc.minhash is not None:
            sig = np.ascontiguousarray(doc.minhash, dtype=np.uint32)
            keys = [sig[start:end].tobytes() for start, end in self._ranges]
            candidates: set[int] = set()
            for band, key in zip(self._bands, keys):
                hit = band.get(key)
                if hit:
                    candidates.update(hit)
            for number in sorted(candidates):
                similarity = float(np.mean(self._signatures[number] == sig))
                if similarity >= self.cfg.threshold:
                    return "near_duplicate", f"estimated Jaccard {similarity:.2f} >= {self.cfg.threshold} with {self._ids[number]}"
            number = len(self._ids)
            for band, key in zip(self._bands, keys):
                band.setdefault(key, []).append(number)
            self._ids.append(doc.id)
            self._signatures.append(sig)
        if self.cfg.exact:
            self._exact[doc.digest] = doc.id
        return None
