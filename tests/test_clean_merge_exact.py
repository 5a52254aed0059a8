"""`langadapt clean --shard i/N` then `clean merge` keeps exactly what one unsharded run keeps.

The corpus plants duplicates across shards where the shard order and the input order disagree: an
exact copy whose later occurrence lands in a lower-numbered shard, and a near-duplicate chain A, B, C
(B near A, C near B, C not near A) with B in another shard than A and C. An unsharded run keeps A and
C (C is compared with A only, since B was dropped); deduplicating within shards and then in shard
order would keep B alone.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from langadapt.config.clean import CleanConfig, DedupConfig
from langadapt.config.corpus import CorpusSpec
from langadapt.corpus.dedup import Deduper
from langadapt.corpus.document import Document
from langadapt.corpus.merge import merge
from langadapt.corpus.minhash import MinHasher
from langadapt.corpus.pipeline import digest_text
from langadapt.corpus.stage import clean_files
from langadapt.errors import UserError

CHARS = [chr(c) for c in range(0x4E00, 0x4E00 + 400)]


def _near(a: str, b: str) -> bool:
    """Whether the real deduper drops b after a."""
    docs = []
    for i, (text, sig) in enumerate(zip((a, b), MinHasher(num_perm=128, ngram=5, seed=1).signatures([a, b]))):
        doc = Document(text, str(i), "s", "zh-Hant", "target")
        doc.digest, doc.minhash = digest_text(text), sig
        docs.append(doc)
    return Deduper(DedupConfig()).check_many(docs)[1] is not None


def _edit(rng: random.Random, text: str, k: int) -> str:
    chars = list(text)
    for i in rng.sample(range(len(chars)), k):
        chars[i] = rng.choice(CHARS)
    return "".join(chars)


def _chain(rng: random.Random) -> tuple[str, str, str]:
    while True:
        a = "".join(rng.choice(CHARS) for _ in range(90))
        b = _edit(rng, a, 2)
        c = _edit(rng, b, 2)
        if _near(a, b) and _near(b, c) and not _near(a, c):
            return a, b, c


def corpus(path: Path, n: int = 240) -> dict[str, int]:
    rng = random.Random(3)
    texts = ["".join(rng.choice(CHARS) for _ in range(rng.randint(20, 120))) for _ in range(n)]
    a, b, c = _chain(rng)
    texts[1], texts[3], texts[4] = a, b, c  # 3 shards: A and C in shard 1, B in shard 0
    texts[9] = texts[7]  # exact copy: first at ordinal 7 (shard 1), again at 9 (shard 0)
    for i in range(20, n, 11):  # more exact and near copies at every distance and shard
        j = rng.choice([j for j in range(i) if len(texts[j]) >= 80])
        texts[i] = texts[j] if i % 2 else _edit(rng, texts[j], 1)
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts), encoding="utf-8")
    return {"a": 1, "b": 3, "c": 4}


def _config(**kw) -> CleanConfig:
    return CleanConfig(preset="generic", max_tokens=None, heldout_fraction=0.2, shard_size=40, chunk_size=16, **kw)


def _out(folder: Path) -> dict:
    ledger = [json.loads(line) for line in (folder / "rejects.jsonl").open(encoding="utf-8")]
    stats = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
    return {
        "corpus": {p.name: p.read_text(encoding="utf-8") for p in sorted((folder / "corpus").iterdir())},
        "heldout": (folder / "heldout.jsonl").read_text(encoding="utf-8"),
        "rejects": [(r["ordinal"], r["step"].replace("merge_dedup", "dedup"), r["reason"], r["detail"]) for r in ledger],
        "stats": {k: stats[k] for k in ("documents_in", "documents_kept", "documents_rejected", "heldout_documents",
                                         "chars_out", "rejects_by_reason", "length_histogram", "invariant_ok")},
    }


@pytest.mark.parametrize("shards", [2, 3])
def test_merged_shards_equal_an_unsharded_run(tmp_path, shards):
    where = corpus(tmp_path / "in.jsonl")
    spec = CorpusSpec(name="in", path=str(tmp_path / "in.jsonl"))
    clean_files([spec], _config(), tmp_path / "whole", tokenizer=None, progress=False)
    parts = []
    for i in range(shards):
        stats = clean_files([spec], _config(), tmp_path / f"p{i}", tokenizer=None, shard=(i, shards), progress=False)
        assert stats["invariant_ok"] and stats["dedup_deferred"]
        parts.append(tmp_path / f"p{i}")
    merge(parts[::-1], tmp_path / "merged", progress=False)  # the order the folders are given in does not matter
    whole, merged = _out(tmp_path / "whole"), _out(tmp_path / "merged")
    assert merged == whole

    reasons = {r[0]: (r[2], r[3]) for r in whole["rejects"]}
    assert reasons[where["b"]][0] == "near_duplicate" and reasons[where["b"]][1].endswith("in.jsonl:2")
    assert where["a"] not in reasons and where["c"] not in reasons  # C is kept: B, its near twin, was dropped
    assert reasons[9] == ("exact_duplicate", "same text as in:in.jsonl:8")
    counts = whole["stats"]["rejects_by_reason"]
    assert counts["exact_duplicate"] >= 5 and counts["near_duplicate"] >= 5
    assert json.loads(whole["heldout"].splitlines()[0]).keys() == {"text", "id", "source", "language", "role", "meta"}


def test_shards_that_deduplicated_themselves_are_refused(tmp_path):
    corpus(tmp_path / "in.jsonl", n=30)
    spec = CorpusSpec(name="in", path=str(tmp_path / "in.jsonl"))
    parts = [tmp_path / f"p{i}" for i in range(2)]
    for i, part in enumerate(parts):
        clean_files([spec], _config(), part, tokenizer=None, shard=(i, 2), progress=False)
    stats = json.loads((parts[1] / "stats.json").read_text(encoding="utf-8"))
    del stats["dedup_deferred"]  # as an older langadapt wrote it
    (parts[1] / "stats.json").write_text(json.dumps(stats), encoding="utf-8")
    with pytest.raises(UserError, match="re-run those shards"):
        merge(parts, tmp_path / "merged", progress=False)
    assert not (tmp_path / "merged").exists() or not any((tmp_path / "merged").iterdir())
