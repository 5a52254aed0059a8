"""Training data from disk: every input format streams, the token store is built once and reused, and
packing, mixing and validation on the memory map match the plain in-memory definitions."""

from __future__ import annotations

import bz2
import gzip
import json
import random

import numpy as np
import pytest

from langadapt.errors import UserError
from langadapt.train import data_cpt
from langadapt.train.docstream import data_files, iter_documents
from langadapt.train.shards import open_store, store_from_ids, token_store


@pytest.fixture(scope="module")
def tok(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def _reference_pack(docs, max_len):
    """Packing as defined: documents end to end, cut every max_len; each piece starts unpredicted at position 0."""
    seqs, cur = [], {"input_ids": [], "labels": [], "position_ids": []}
    for ids in docs:
        while ids:
            piece, ids = ids[:max_len - len(cur["input_ids"])], ids[max_len - len(cur["input_ids"]):]
            cur["input_ids"] += piece
            cur["labels"] += [-100] + piece[1:]
            cur["position_ids"] += list(range(len(piece)))
            if len(cur["input_ids"]) == max_len:
                seqs.append(cur)
                cur = {"input_ids": [], "labels": [], "position_ids": []}
    return seqs + ([cur] if cur["input_ids"] else [])


@pytest.mark.parametrize("seed", range(5))
def test_packed_and_chunked_views_match_the_definition(seed):
    rng = random.Random(seed)
    docs = [[rng.randrange(1, 999) for _ in range(rng.randint(0 if i % 7 == 3 else 1, 40))] for i in range(60)]
    max_len = rng.choice([1, 2, 5, 16, 64])
    store = store_from_ids(docs)
    order = np.array(rng.sample(range(len(docs)), len(docs)))
    view = data_cpt.PackedSequences(store, order, max_len)
    expected = _reference_pack([docs[i] for i in order], max_len)
    assert len(view) == len(expected) and view.total_tokens == sum(map(len, docs))
    assert [view[k] for k in range(len(view))] == expected
    assert view[-1] == expected[-1] and view[1:3] == expected[1:3]
    with pytest.raises(IndexError):
        view[len(view)]
    chunks = data_cpt.ChunkedSequences(store, order, max_len)
    want = [docs[i][s:s + max_len] for i in order for s in range(0, len(docs[i]), max_len) if len(docs[i][s:s + max_len]) >= 2]
    assert [c["input_ids"] for c in chunks] == want
    assert all(c["labels"][0] == -100 and c["position_ids"][0] == 0 for c in chunks)


def test_formats_stream_the_same_documents(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    texts = ["床前明月光", "疑是地上霜\n舉頭望明月", "低頭思故鄉"]
    rows = [{"text": t, "source": "poems"} for t in texts]
    jsonl = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    (tmp_path / "a.jsonl").write_text(jsonl, encoding="utf-8")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(jsonl)
    with bz2.open(tmp_path / "c.jsonl.bz2", "wt", encoding="utf-8") as fh:
        fh.write(jsonl)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    for name in ("a.jsonl", "b.jsonl.gz", "c.jsonl.bz2", "d.parquet"):
        assert [(d.text, d.source) for d in iter_documents(tmp_path / name)] == [(t, "poems") for t in texts], name
    assert [p.name for p in data_files(tmp_path)] == ["a.jsonl", "b.jsonl.gz", "c.jsonl.bz2", "d.parquet"]
    assert len(list(iter_documents(tmp_path))) == 12


def test_plain_text_rules(tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("床前明月光\n疑是地上霜\n\n", encoding="utf-8")  # a trailing blank line separates nothing
    assert [d.text for d in iter_documents(lines)] == ["床前明月光", "疑是地上霜"]
    blocks = tmp_path / "blocks.txt.gz"
    with gzip.open(blocks, "wt", encoding="utf-8") as fh:
        fh.write("\n床前明月光\n疑是地上霜\n\n\n舉頭望明月\n低頭思故鄉\n")
    assert [d.text for d in iter_documents(blocks)] == ["床前明月光\n疑是地上霜", "舉頭望明月\n低頭思故鄉"]
    assert {d.source for d in iter_documents(blocks)} == {"corpus"}


def test_zstd_when_available(tmp_path):
    zstandard = pytest.importorskip("zstandard")
    (tmp_path / "x.txt.zst").write_bytes(zstandard.ZstdCompressor().compress("甲\n乙\n".encode()))
    assert [d.text for d in iter_documents(tmp_path / "x.txt.zst")] == ["甲", "乙"]


def test_bad_input_is_named(tmp_path):
    bad = tmp_path / "corpus.jsonl"
    bad.write_text('{"text": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(UserError, match=r"corpus.jsonl:2: not valid JSON"):
        list(iter_documents(bad))
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(gzip.compress(("".join(json.dumps({"text": f"第{i}行"}) + "\n" for i in range(2000))).encode())[:-40])
    with pytest.raises(UserError, match="cut.jsonl.gz.*truncated"):
        list(iter_documents(cut))
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(UserError, match="unknown data format .csv"):
        data_files(tmp_path / "x.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no data files"):
        data_files(tmp_path / "empty")


def test_token_store_is_built_once_and_keyed_by_tokenizer_and_data(tmp_path, tok):
    corpus = tmp_path / "corpus.jsonl"
    texts = [f"第{i}首：" + "春花秋月何時了" * (i % 5 + 1) for i in range(50)]
    corpus.write_text("".join(json.dumps({"text": t, "source": "p" if i % 4 else "en", "role": None if i % 4 else "replay"},
                                         ensure_ascii=False) + "\n" for i, t in enumerate(texts)), encoding="utf-8")
    cache = tmp_path / "cache"
    store = token_store(tok, corpus, cache)
    assert len(store) == 50 and store.tokens.dtype == np.uint16 and isinstance(store.tokens, np.memmap)
    assert [store.doc(i).tolist() for i in range(50)] == data_cpt.tokenize(tok, texts)
    assert store.roles == {"en": "replay", "p": None} and int(store.chars[3]) == len(texts[3])
    built = (store.path / "meta.json").stat().st_mtime_ns
    again = token_store(tok, corpus, cache)
    assert again.path == store.path and (store.path / "meta.json").stat().st_mtime_ns == built  # reused, not rebuilt

    tok2 = type(tok).from_pretrained(tok.name_or_path)
    tok2.add_tokens(["春花秋月"])
    other = token_store(tok2, corpus, cache)
    assert other.path != store.path and len(other.tokens) < len(store.tokens)
    corpus.write_text(corpus.read_text(encoding="utf-8") + json.dumps({"text": "新的一首"}, ensure_ascii=False) + "\n", encoding="utf-8")
    grown = token_store(tok, corpus, cache)
    assert grown.path not in (store.path, other.path) and len(grown) == 51
    assert open_store(grown.path).sources == ["en", "p", "corpus"]


def test_store_sequences_keep_mix_and_validation_exact(tmp_path, tok):
    corpus = tmp_path / "c"
    corpus.mkdir()
    zh = [{"text": "春" * 100, "source": "zh"} for _ in range(50)]
    en = [{"text": "y" * 100, "source": "en", "role": "replay"} for _ in range(50)]
    (corpus / "part-0.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in zh + en), encoding="utf-8")
    store = token_store(tok, corpus, tmp_path / "cache")
    train, val, info = data_cpt.cpt_sequences(store, 64, True, 0.1, seed=3, weights={"zh": 2.0}, replay_share=0.2)
    assert info["validation_documents"] == 10 and info["mix"]["en"]["replay"]
    n_zh_train = sum(1 for i in range(100) if store.sources[store.source[i]] == "zh") - sum(
        1 for i in data_cpt.split_indices(100, 0.1, 3)[1] if store.sources[store.source[i]] == "zh")
    assert info["mix"]["zh"]["documents"] == 2 * n_zh_train
    assert abs(info["mix"]["en"]["share"] - 0.2) < 0.01
    assert info["train_tokens"] == sum(len(s["input_ids"]) for s in train)
    again = data_cpt.cpt_sequences(store, 64, True, 0.1, seed=3, weights={"zh": 2.0}, replay_share=0.2)[0]
    assert [train[k] for k in (0, 5, len(train) - 1)] == [again[k] for k in (0, 5, len(train) - 1)]
    only = data_cpt.cpt_sequences(store, 64, False, 0.0, seed=3, names=["zh"])[2]
    assert only["documents"] == 50 and set(only["mix"]) == {"zh"}
    with pytest.raises(UserError, match="no documents from corpora"):
        data_cpt.cpt_sequences(store, 64, True, 0.0, seed=3, names=["fr"])


def _chat_rows():
    rows = [{"instruction": "續寫", "input": "春花秋月何時了", "output": "往事知多少"},
            {"conversations": [{"from": "human", "value": "小樓昨夜又東風"}, {"from": "gpt", "value": "故國不堪回首月明中"}]},
            {"messages": [{"role": "user", "content": "雕欄玉砌"}, {"role": "assistant", "content": "應猶在"},
                          {"role": "user", "content": "再來"}, {"role": "assistant", "content": "只是朱顏改"}]}]
    too_long = {"instruction": "長" * 200, "output": "短"}  # nothing to learn within max_seq_length: dropped
    return [dict(r, id=i) for i, r in enumerate(rows * 7 + [too_long])]


@pytest.mark.parametrize("packing", [True, False])
def test_sft_store_matches_in_memory_encoding(tmp_path, tok, packing):
    from langadapt.config.train import SftConfig
    from langadapt.data import sft_records
    from langadapt.train import data_sft
    from langadapt.train.sft_store import sft_sequences

    chat = tmp_path / "chat.jsonl.gz"
    with gzip.open(chat, "wt", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _chat_rows()))
    cfg = SftConfig(datasets=[{"path": str(chat)}, {"path": str(chat), "weight": 0.5, "max_examples": 6}],
                    max_seq_length=128, packing=packing, validation_fraction=0.2, system_prompt="你是詩人。")
    template = data_sft.resolve_template(tok, None)
    train, val, info = sft_sequences(cfg, tok, template, cache=tmp_path / "cache")
    # the plain list path: encode every conversation, drop those with nothing to learn within 128 tokens
    convs = sft_records.load_conversations(chat, system_prompt="你是詩人。")
    encoded = [data_sft.encode(tok, c, template, 128) for c in convs]
    kept, kept_head = [e for e in encoded if e], [e for e in encoded[:6] if e]
    assert len(kept) == len(convs) - 1 == 21
    assert info["conversations"] == 22 + 6
    assert info["train_examples"] + info["validation_examples"] == len(kept) + round(0.5 * len(kept_head))
    assert info["validation_examples"] == round(0.2 * (len(kept) + round(0.5 * len(kept_head))))

    def pieces(seq):  # a sequence cut back into its examples at each position restart
        starts = [i for i, p in enumerate(seq["position_ids"]) if p == 0] + [len(seq["input_ids"])]
        return [{k: seq[k][a:b] for k in seq} for a, b in zip(starts, starts[1:])]

    got = [ex for view in (train, val) for seq in view for ex in pieces(seq)]
    assert len(got) == info["train_examples"] + info["validation_examples"]
    assert all(ex in kept for ex in got)
    assert all(len(s["input_ids"]) <= 128 for s in train) and (len(train) < info["train_examples"]) == packing
    assert info["assistant_tokens"] == sum(sum(1 for x in s["labels"] if x != -100) for s in train)
    again = sft_sequences(cfg, tok, template, cache=tmp_path / "cache")
    assert again[2]["token_store"] == info["token_store"] and [again[0][k] for k in range(len(train))] == list(train)
    other = sft_sequences(cfg, tok, data_sft.NAMED_TEMPLATES["alpaca"], cache=tmp_path / "cache")[2]
    assert other["token_store"] != info["token_store"]


def test_token_store_build_streams(tmp_path, tok):
    """Building the store holds a batch of documents, not the corpus: its Python peak is a fraction of a list-based pass."""
    import tracemalloc

    rng = random.Random(0)
    chars = "春花秋月何時了往事知多少小樓昨夜又東風故國不堪回首月明中"
    corpus = tmp_path / "c.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for _ in range(30000):
            fh.write(json.dumps({"text": "".join(rng.choice(chars) for _ in range(24)), "source": "p"}, ensure_ascii=False) + "\n")
    tracemalloc.start()
    store = token_store(tok, corpus, tmp_path / "cache")
    streamed = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    listed = data_cpt.tokenize(tok, [d["text"] for d in data_cpt.read_documents(corpus)])
    in_memory = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(store) == len(listed) == 30000 and store.doc(29999).tolist() == listed[-1]
    assert streamed < in_memory / 4, (streamed, in_memory)
