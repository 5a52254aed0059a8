"""The cleaning stream end to end: a corrupted input comes out with every record accounted for."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from langadapt.config.clean import CleanConfig
from langadapt.config.corpus import CorpusSpec
from langadapt.corpus.stage import clean_files

POEM = "床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。\n" * 3


def _jsonl(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def corrupted_file(path: Path) -> dict[int, str | None]:
    """Write the test input; returns the expected fate of each record by line: a reject reason or None (kept)."""
    lines: list[tuple[bytes, str | None]] = [
        (_jsonl({"text": "你好嗎Jack這是我們的10c.c", "id": 1}), None),
        (b'{"text": "\xff\xfe not utf-8"}', "invalid_utf8"),
        (b'{"text": "broken json"', "invalid_json"),
        (b'["a", "list"]', "not_an_object"),
        (_jsonl({"title": "no text field"}), "missing_field"),
        (_jsonl({"text": "   "}), "empty"),
        (_jsonl({"text": 42}), "bad_field_type"),
        (_jsonl({"text": "你好嗎Jack這是我們的10c.c"}), "exact_duplicate"),
        (_jsonl({"text": POEM + "春眠不覺曉，處處聞啼鳥。"}), None),
        (_jsonl({"text": POEM + "春眠不覺曉，處處聞啼鳥！"}), "near_duplicate"),
        (_jsonl({"text": "我们这是简体中文的句子，不应该出现在繁体语料里。"}), "simplified_chinese"),
        (_jsonl({"text": "這是一段很長的文字，" * 40}), "too_many_tokens"),
        (_jsonl({"text": "長" * 5000}), "record_too_large"),
        (_jsonl({"text": "This line is English and not Chinese at all."}), "wrong_script"),
        (_jsonl({"text": "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。"}), None),
    ]
    # A blank line separates nothing and is no record.
    path.write_bytes(b"\n".join(line for line, _ in lines[:5]) + b"\n\n" + b"\n".join(line for line, _ in lines[5:]) + b"\n")
    return {i: fate for i, (_, fate) in enumerate(lines)}


def _config(**kw) -> CleanConfig:
    base = dict(max_record_bytes=4096, max_tokens=300, heldout_fraction=0.0, repetition_min_chars=1000)
    base.update(kw)
    return CleanConfig(**base)


def _read_out(out: Path) -> tuple[list[dict], list[dict], list[dict], dict]:
    kept = [json.loads(line) for p in sorted((out / "corpus").glob("*.jsonl")) for line in p.open(encoding="utf-8")]
    held = [json.loads(line) for line in (out / "heldout.jsonl").open(encoding="utf-8")]
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").open(encoding="utf-8")]
    return kept, held, rejects, json.loads((out / "stats.json").read_text(encoding="utf-8"))


def test_corrupted_input_loses_nothing(tmp_path, tiny_model_dir):
    fates = corrupted_file(tmp_path / "bad.jsonl")
    spec = CorpusSpec(name="bad", path=str(tmp_path / "bad.jsonl"))
    stats = clean_files([spec], _config(), tmp_path / "out", languages=["zh-Hant"], tokenizer=str(tiny_model_dir), progress=False)
    kept, held, rejects, saved = _read_out(tmp_path / "out")

    assert saved == stats
    assert stats["documents_in"] == len(fates) == stats["documents_kept"] + stats["documents_rejected"]
    assert stats["invariant_ok"] and "(ok)" in stats["invariant"]
    assert len(kept) + len(held) == stats["documents_kept"] == sum(f is None for f in fates.values())
    assert len(rejects) == stats["documents_rejected"]
    by_ordinal = {r["ordinal"]: r for r in rejects}
    for ordinal, fate in fates.items():
        if fate is not None:
            assert by_ordinal[ordinal]["reason"] == fate, by_ordinal[ordinal]
    assert stats["rejects_by_reason"] == {f: list(fates.values()).count(f) for f in set(fates.values()) if f}

    # the bad bytes survive exactly, as base64
    bad = by_ordinal[1]
    assert base64.b64decode(bad["record_base64"]) == b'{"text": "\xff\xfe not utf-8"}'
    # the oversized record is located and fingerprinted, not copied
    big = by_ordinal[12]
    assert big["bytes"] > 4096 and len(big["sha256"]) == 64 and big["origin"].endswith(":14")
    assert by_ordinal[2]["record"] == '{"text": "broken json"'
    assert "tokens > max_tokens=300" in by_ordinal[11]["detail"]

    first = kept[0]
    assert first["text"] == "你好嗎 Jack 這是我們的 10 c.c"
    assert first["meta"] == {"id": 1} and first["source"] == "bad" and first["language"] == "zh-Hant"
    assert first["role"] == "target" and first["id"] == "bad:bad.jsonl:1"
    assert stats["tokens_out"] > 0 and stats["chars_out"] == sum(len(d["text"]) for d in kept + held)
    assert (tmp_path / "out" / "length_histogram.png").stat().st_size > 1000
    assert "kept" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_workers_and_restart_give_same_output(tmp_path, tiny_model_dir):
    corrupted_file(tmp_path / "bad.jsonl")
    spec = CorpusSpec(name="bad", path=str(tmp_path / "bad.jsonl"))
    outs = []
    for name, workers in (("one", 1), ("two", 2), ("one", 1)):
        clean_files([spec], _config(workers=workers, chunk_size=3, heldout_fraction=0.3), tmp_path / name,
                    languages=["zh-Hant"], tokenizer=str(tiny_model_dir), progress=False)
        outs.append({p.relative_to(tmp_path / name).as_posix(): p.read_bytes()
                     for p in (tmp_path / name).rglob("*") if p.is_file() and p.suffix in (".jsonl",)})
    assert outs[0] == outs[1] == outs[2]
    assert not [p for p in (tmp_path / "one").iterdir() if p.name.startswith(".")]  # no temp folders left


def test_shards_and_merge_account_for_everything(tmp_path, tiny_model_dir):
    from langadapt.corpus.merge import merge

    fates = corrupted_file(tmp_path / "bad.jsonl")
    spec = CorpusSpec(name="bad", path=str(tmp_path / "bad.jsonl"))
    parts = []
    for i in range(2):
        stats = clean_files([spec], _config(), tmp_path / f"part{i}", languages=["zh-Hant"], tokenizer=str(tiny_model_dir),
                            shard=(i, 2), progress=False)
        assert stats["invariant_ok"]
        parts.append(tmp_path / f"part{i}")
    merged = merge(parts, tmp_path / "merged", progress=False)
    kept, held, rejects, _ = _read_out(tmp_path / "merged")
    assert merged["documents_in"] == len(fates)
    assert merged["invariant_ok"] and len(rejects) == merged["documents_rejected"]
    assert len(kept) + len(held) == merged["documents_kept"] == sum(f is None for f in fates.values())
    assert merged["rejects_by_step"].get("merge_dedup", 0) >= 1  # the duplicate pair straddles the shards


@pytest.mark.parametrize("mode, content, expected", [
    ("line", "第一行\n\n第二行\n", ["第一行", "第二行"]),
    ("block", "第一段\n還是第一段\n\n\n第二段\n", ["第一段\n還是第一段", "第二段"]),
    ("file", "整個檔案\n\n是一篇\n", ["整個檔案\n\n是一篇"]),
])
def test_text_modes(tmp_path, mode, content, expected):
    (tmp_path / "a.txt").write_text(content, encoding="utf-8")
    spec = CorpusSpec(name="t", path="a.txt", text_mode=mode)
    cfg = _config(max_tokens=None, dedup={"near": False})
    clean_files([spec], cfg, tmp_path / "out", base_dir=tmp_path, languages=["zh-Hant"], tokenizer=None, progress=False)
    kept, held, _, _ = _read_out(tmp_path / "out")
    assert [d["text"] for d in kept + held] == expected


def test_json_template_parquet_and_dataset(tmp_path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    poems = [{"id": "p1", "author": "李白", "title": "靜夜思", "paragraphs": ["床前明月光，疑是地上霜。", "舉頭望明月，低頭思故鄉。"]},
             {"id": "p2", "author": "王之渙", "title": "登鸛雀樓", "paragraphs": ["白日依山盡，黃河入海流。", "欲窮千里目，更上一層樓。"]},
             {"id": "p3", "author": "無名", "paragraphs": ["沒有題目的詩。"]}]
    (tmp_path / "poems.json").write_text(json.dumps(poems, ensure_ascii=False), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist([{"text": "公園裡有很多人在散步。"}, {"text": None}]), tmp_path / "rows.parquet")
    datasets.Dataset.from_dict({"text": ["今天天氣很好，我們去爬山。"]}).save_to_disk(str(tmp_path / "ds"))
    specs = [CorpusSpec(name="poems", path="poems.json", template="{title}\n{paragraphs}"),
             CorpusSpec(name="rows", path="rows.parquet"),
             CorpusSpec(name="hf", hf_dataset=str(tmp_path / "ds"))]
    stats = clean_files(specs, _config(max_tokens=None), tmp_path / "out", base_dir=tmp_path, languages=["zh-Hant"],
                        tokenizer=None, progress=False)
    kept, held, rejects, _ = _read_out(tmp_path / "out")
    docs = {d["id"]: d for d in kept + held}
    assert docs["poems:poems.json#0"]["text"] == "靜夜思\n床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。"
    assert docs["poems:poems.json#0"]["meta"] == {"id": "p1", "author": "李白", "title": "靜夜思"}
    assert [r["reason"] for r in rejects] == ["missing_field", "missing_field"]  # p3 has no title; a null text
    assert stats["corpora"]["hf"]["documents_kept"] == 1 and stats["invariant_ok"]


def test_parquet_output(tmp_path):
    from langadapt.corpus.writers import read_shards

    (tmp_path / "a.txt").write_text("第一行\n第二行\n第三行\n", encoding="utf-8")
    clean_files([CorpusSpec(name="t", path=str(tmp_path / "a.txt"))], _config(max_tokens=None, output_format="parquet", shard_size=2),
                tmp_path / "out", languages=["zh-Hant"], tokenizer=None, progress=False)
    files = sorted((tmp_path / "out" / "corpus").iterdir())
    assert [f.name for f in files] == ["part-00000.parquet", "part-00001.parquet"]
    assert [d["text"] for d in read_shards(tmp_path / "out" / "corpus")] == ["第一行", "第二行", "第三行"]
