"""The compact dedup index gives the same verdicts, with the same details, as a plain dict index.

The reference below is the straightforward form (dicts of band bytes, one signature per document):
every document is judged in input order against every earlier accepted one. The compact index must
agree with it whatever the batch size, including duplicates inside one batch.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from langadapt.config.clean import DedupConfig
from langadapt.corpus.dedup import Deduper
from langadapt.corpus.dedupstore import SortedRuns
from langadapt.corpus.document import Document
from langadapt.corpus.minhash import MinHasher
from langadapt.corpus.pipeline import digest_text


class Reference:
    def __init__(self, cfg: DedupConfig):
        from datasketch import MinHashLSH

        lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
        self.cfg, self.ranges = cfg, [(i * lsh.r, (i + 1) * lsh.r) for i in range(lsh.b)]
        self.exact: dict[bytes, str] = {}
        self.bands: list[dict[bytes, list[int]]] = [{} for _ in self.ranges]
        self.ids: list[str] = []
        self.sigs: list[np.ndarray] = []

    def check(self, doc: Document):
        if self.cfg.exact and doc.digest in self.exact:
            return "exact_duplicate", f"same text as {self.exact[doc.digest]}"
        if self.cfg.near and doc.minhash is not None:
            sig = np.asarray(doc.minhash, dtype=np.uint32)
            keys = [sig[a:b].tobytes() for a, b in self.ranges]
            candidates = {n for band, key in zip(self.bands, keys) for n in band.get(key, [])}
            for n in sorted(candidates):
                sim = float(np.mean(self.sigs[n] == sig))
                if sim >= self.cfg.threshold:
                    return "near_duplicate", f"estimated Jaccard {sim:.2f} >= {self.cfg.threshold} with {self.ids[n]}"
            for band, key in zip(self.bands, keys):
                band.setdefault(key, []).append(len(self.ids))
            self.ids.append(doc.id)
            self.sigs.append(sig)
        if self.cfg.exact:
            self.exact[doc.digest] = doc.id
        return None


def corpus(n: int, seed: int, num_perm: int) -> list[Document]:
    """Short random texts over a small alphabet, with exact copies, near copies and chains of near copies."""
    rng = random.Random(seed)
    alphabet = "春眠不覺曉處聞啼鳥夜來風雨聲花落知多少床前明月光"
    texts: list[str] = []
    for _ in range(n):
        roll = rng.random()
        if texts and roll < 0.15:
            texts.append(rng.choice(texts))
        elif texts and roll < 0.45:
            base = list(rng.choice(texts))
            for _ in range(rng.randint(1, 4)):
                base[rng.randrange(len(base))] = rng.choice(alphabet)
            texts.append("".join(base))
        else:
            texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))))
    sigs = MinHasher(num_perm=num_perm, ngram=3).signatures(texts)
    docs = []
    for i, (text, sig) in enumerate(zip(texts, sigs)):
        # a lone surrogate in an id (a file name that is not UTF-8) must come back exactly
        odd = "\udcff" if i % 7 == 0 else ""
        doc = Document(text, f"c:{odd}f.txt:{i}", "c", "zh-Hant", "target")
        doc.digest = digest_text(text)
        doc.minhash = None if i % 11 == 5 else sig
        docs.append(doc)
    return docs


@pytest.mark.parametrize("settings", [dict(), dict(threshold=0.5, num_perm=64), dict(near=False), dict(exact=False)])
@pytest.mark.parametrize("batch", [1, 7, 256, 5000])
def test_same_verdicts_as_plain_dicts(settings, batch, tmp_path):
    cfg = DedupConfig(**settings)
    docs = corpus(1500, seed=batch, num_perm=cfg.num_perm)
    ref = Reference(cfg)
    want = [ref.check(d) for d in docs]
    dedup = Deduper(cfg, scratch=tmp_path)
    got = [v for i in range(0, len(docs), batch) for v in dedup.check_many(docs[i:i + batch])]
    dedup.close()
    assert got == want
    reasons = {v[0] for v in want if v}
    assert ("exact_duplicate" in reasons) == cfg.exact and ("near_duplicate" in reasons) == cfg.near
    assert not list(tmp_path.iterdir())  # the scratch files were unlinked from the start


def test_sorted_runs_find_every_value_of_a_key():
    rng = np.random.default_rng(0)
    runs, ref = SortedRuns(), {}
    number = 0
    for _ in range(200):  # many small batches: runs merge as a binary counter
        keys = rng.integers(0, 300, size=int(rng.integers(0, 40)), dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        vals = np.arange(number, number + len(keys), dtype=np.uint32)
        number += len(keys)
        runs.add(keys, vals)
        for k, v in zip(keys.tolist(), vals.tolist()):
            ref.setdefault(k, []).append(v)
    assert len(runs) == number and len(runs._keys) <= 12
    queries = np.array(list(ref)[:150] + [1, 2, 2**64 - 1], dtype=np.uint64)
    q, v = runs.lookup(queries)
    found: dict[int, list[int]] = {}
    for i, value in zip(q.tolist(), v.tolist()):
        found.setdefault(int(queries[i]), []).append(value)
    assert {k: sorted(vs) for k, vs in found.items()} == {int(k): sorted(ref[int(k)]) for k in queries if int(k) in ref}
