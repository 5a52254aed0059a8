"""Hypothesis corpus of hostile records through `clean`: every input record is kept or rejected, exactly once.

Records mix valid JSON, broken bytes, lone surrogates, huge integers, deep nesting, NaN and odd field
types, in plain or compressed files. A run must never raise, and the ledger must account for every
non-blank line: kept (train or held out) + rejected = input, each line under its own origin.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import tempfile
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langadapt.config.clean import CleanConfig
from langadapt.config.corpus import CorpusSpec
from langadapt.corpus.stage import clean_files

pytestmark = pytest.mark.fault

CODECS = {
    "": lambda b: b,
    ".gz": gzip.compress,
    ".zst": lambda b: zstandard.ZstdCompressor().compress(b),
    ".bz2": bz2.compress,
    ".xz": lambda b: lzma.compress(b, preset=0),
}

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
_json_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8)
_texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=80) | st.sampled_from(
    ["床前明月光，疑是地上霜。", "  ", "", "ab" * 200, "\u200b\ufeff", "\x00\x07", "𝓽𝓮𝔁𝓽 😀"])


def _escaped_json_line(draw) -> bytes:
    """A JSON line written by hand, where lone surrogates and other escapes the encoder never makes can sit."""
    piece = draw(st.sampled_from(["\\ud800", "\\udfff", "\\ud83d", "ok", "\\u0000", "\\\\", "\\\""]))
    return ('{"text": "x' + piece + 'y"}').encode()


@st.composite
def hostile_line(draw) -> bytes:
    kind = draw(st.sampled_from(["good", "value", "bytes", "surrogate", "bigint", "deep", "meta", "not_object"]))
    if kind == "good":
        return json.dumps({"text": draw(_texts), "id": draw(st.integers())}, ensure_ascii=draw(st.booleans())).encode()
    if kind == "value":
        return json.dumps({"text": draw(_json_values)}).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=60)).replace(b"\n", b" ")
    if kind == "surrogate":
        return _escaped_json_line(draw)
    if kind == "bigint":
        return b'{"text": "n", "n": ' + b"9" * draw(st.integers(4200, 6000)) + b"}"
    if kind == "deep":
        depth = draw(st.sampled_from([900, 5000, 50_000]))
        return b'{"text": "d", "m": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == "meta":
        return json.dumps({"text": draw(_texts), "meta": draw(_json_values)}).encode()
    return json.dumps(draw(_json_values)).encode()


# 30 runs of the whole stream: about 30 s on 2 busy cores (near-dedup's set-up is half of a run, so half use it)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lines=st.lists(hostile_line(), min_size=1, max_size=25), codec=st.sampled_from(sorted(CODECS)),
       blank_every=st.integers(0, 4), near=st.booleans())
def test_hostile_corpus_kept_plus_rejected_is_input(lines, codec, blank_every, near):
    if blank_every:  # blank lines separate records and are not records themselves
        lines = [x for i, line in enumerate(lines) for x in ([line, b""] if i % blank_every == 0 else [line])]
    expected = {n for n, line in enumerate(lines, start=1) if line.strip()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"in.jsonl{codec}"
        path.write_bytes(CODECS[codec](b"\n".join(lines) + b"\n"))
        cfg = CleanConfig(preset="zh-Hant", heldout_fraction=0.2, max_record_bytes=1 << 20, max_tokens=None,
                          dedup={"near": near})
        stats = clean_files([CorpusSpec(name="in", path=str(path))], cfg, Path(tmp) / "out", progress=False)
        out = Path(tmp) / "out"
        kept = [json.loads(line) for p in sorted((out / "corpus").glob("*.jsonl")) for line in p.open(encoding="utf-8")]
        kept += [json.loads(line) for line in (out / "heldout.jsonl").open(encoding="utf-8")]
        rejects = [json.loads(line) for line in (out / "rejects.jsonl").open(encoding="utf-8")]
    assert stats["invariant_ok"]
    assert stats["documents_in"] == len(expected) == len(kept) + len(rejects)
    origins = [d["id"].removeprefix("in:") for d in kept] + [r["origin"] for r in rejects]
    assert sorted(origins) == sorted(f"in.jsonl{codec}:{n}" for n in expected)
    for doc in kept:  # what is kept is real text
        assert isinstance(doc["text"], str) and doc["text"].strip()
