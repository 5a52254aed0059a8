"""MinHash signatures of character n-grams, vectorised with numpy over a whole chunk of documents.

Use: `MinHasher(num_perm=128, ngram=5).signatures(texts)` -> one `uint32[num_perm]` per text.

Each n-gram is hashed once to 64 bits (a polynomial over its code points, then the splitmix64
finaliser), with no Python call per n-gram; the `num_perm` hash functions are multiply-add-shift
maps `(a * x + b) mod 2**64 >> 32` applied as one (num_perm x n-grams) array, and the minimum per
document is one `np.minimum.reduceat`. The parameters come from BLAKE2b of the seed, so signatures
are the same on every machine, numpy version and process. Memory stays bounded on very long
documents: n-grams go through in blocks of `block` columns.
"""

from __future__ import annotations

import hashlib
from typing import Iterator, Sequence

import numpy as np

_P = np.uint64(0x100000001B3)  # FNV-64 prime: the polynomial's base
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _params(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    def draw(tag: str, i: int) -> int:
        return int.from_bytes(hashlib.blake2b(f"{seed}:{tag}:{i}".encode(), digest_size=8).digest(), "little")

    a = np.array([draw("a", i) | 1 for i in range(num_perm)], dtype=np.uint64)  # odd multipliers
    b = np.array([draw("b", i) for i in range(num_perm)], dtype=np.uint64)
    return a[:, None], b[:, None]


class MinHasher:
    def __init__(self, num_perm: int = 128, ngram: int = 5, seed: int = 1, block: int = 4096, group_chars: int = 1 << 20):
        self.num_perm, self.ngram, self.block, self.group_chars = num_perm, ngram, block, group_chars
        self._a, self._b = _params(num_perm, seed)

    def signatures(self, texts: Sequence[str]) -> list[np.ndarray]:
        """One signature per text; texts go through in groups of about `group_chars` characters."""
        out: list[np.ndarray] = []
        group: list[str] = []
        size = 0
        for text in texts:
            group.append(text)
            size += len(text)
            if size >= self.group_chars:
                out.extend(self._group(group))
                group, size = [], 0
        if group:
            out.extend(self._group(group))
        return out

    def _group(self, texts: list[str]) -> list[np.ndarray]:
        n = self.ngram
        # A text shorter than n is one shingle, itself: padding with a non-character makes it exactly one n-gram.
        texts = [t if len(t) >= n else t + "\uffff" * (n - len(t)) for t in texts]
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        cp = np.frombuffer("".join(texts).encode("utf-32-le"), dtype="<u4").astype(np.uint64)
        count = len(cp) - n + 1
        x = np.zeros(count, dtype=np.uint64)
        for k in range(n):  # polynomial hash of every window of n code points, all texts at once
            x *= _P
            x += cp[k:k + count]
        x ^= x >> np.uint64(30)
        x *= _MIX1
        x ^= x >> np.uint64(27)
        x *= _MIX2
        x ^= x >> np.uint64(31)
        # Drop the windows that straddle two texts: the last n-1 starting positions before each next text.
        ends = np.cumsum(lengths)
        if len(texts) > 1 and n > 1:
            keep = np.ones(count, dtype=bool)
            keep[((ends[:-1] - n + 1)[:, None] + np.arange(n - 1)).ravel()] = False
            x = x[keep]
        per_text = lengths - n + 1
        seg_end = np.cumsum(per_text)
        seg_start = seg_end - per_text
        mins = np.full((len(texts), self.num_perm), np.iinfo(np.uint64).max, dtype=np.uint64)
        for s in range(0, len(x), self.block):  # bounded memory: num_perm x block values at a time
            e = min(s + self.block, len(x))
            i0 = int(np.searchsorted(seg_end, s, side="right"))
            i1 = int(np.searchsorted(seg_start, e, side="left"))
            h = self._a * x[s:e][None, :]
            h += self._b
            h >>= np.uint64(32)
            part = np.minimum.reduceat(h, np.maximum(seg_start[i0:i1], s) - s, axis=1)
            np.minimum(mins[i0:i1], part.T, out=mins[i0:i1])
        return list(mins.astype(np.uint32))
