"""The Taiwan Mandarin documentation sources (zh-tw-help, zh-tw-man) on a slice of the real Debian packages,
and the question-answer data built from their pages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from langadapt.corpus.filters.script import ScriptFilter
from langadapt.data import doc_tasks
from langadapt.data.sources import libreoffice_help, manpages
from langadapt.data.sources._doc_pages import Unpacked, short_answer, split_parts, unpack_deb

HAN_FILTER = ScriptFilter("Han", 0.5)
HELP_PAGES = ["shared/01/01010000", "shared/find_toolbar", "swriter/guide/finding", "shared/guide/insert_specialchar",
              "shared/01/02100000", "scalc/01/04060101", "shared/guide/autocorr_url", "swriter/guide/text_frame",
              "simpress/guide/animated_slidechange", "sbasic/shared/03010300", "shared/01/01020000",
              "schart/00/00000004"]
MAN_PAGES = ["man1/ls.1.gz", "man1/tar.1.gz", "man1/bash.1.gz", "man1/base64.1.gz", "man1/cat.1.gz", "man5/motd.5.gz",
             "man8/iptables-restore.8.gz", "man1/ab.1.gz", "man1/cp.1.gz", "man1/mv.1.gz", "man1/rm.1.gz",
             "man1/chmod.1.gz", "man1/grep.1.gz", "man1/mkdir.1.gz", "man1/du.1.gz", "man1/df.1.gz"]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> dict[str, Unpacked]:
    """Both packages, downloaded with apt-get and unpacked once for the module."""
    out = {}
    for name, package in (("help", libreoffice_help.PACKAGE), ("man", manpages.PACKAGE)):
        work = tmp_path_factory.mktemp(name)
        out[name] = unpack_deb(package, work)
    return out


@pytest.fixture(scope="module")
def help_slice(packages, tmp_path_factory) -> tuple[dict, list[dict], list[dict]]:
    out = tmp_path_factory.mktemp("help-out")
    base = packages["help"].root / libreoffice_help.HELP_DIR / "text"
    meta = libreoffice_help.convert(packages["help"], out, "zh-tw-help", [base / f"{p}.html" for p in HELP_PAGES])
    return meta, read_jsonl(out / libreoffice_help.OUT_FILE), read_jsonl(out / "rejects.jsonl")


@pytest.fixture(scope="module")
def man_slice(packages, tmp_path_factory) -> tuple[dict, list[dict], list[dict]]:
    out = tmp_path_factory.mktemp("man-out")
    base = packages["man"].root / manpages.MAN_DIR
    meta = manpages.convert(packages["man"], out, "zh-tw-man", [base / p for p in MAN_PAGES])
    return meta, read_jsonl(out / manpages.OUT_FILE), read_jsonl(out / "rejects.jsonl")


def check_ledgers(meta: dict, records: list[dict], rejects: list[dict], out_file: str) -> None:
    """The counts of source.json are those of the files; nothing rejected is in the text."""
    assert meta["files"][out_file] == {"records": len(records), "chars": sum(len(r["text"]) for r in records)}
    assert meta["rejects"]["records"] == len(rejects)
    assert sum(v["records"] for v in meta["rejects"]["by_reason"].values()) == len(rejects)
    assert all(r["reason"] and r["detail"] and r["step"] == "convert" and r["record"]["text"] for r in rejects)
    lines = {line for r in records for line in r["text"].split("\n")}
    for rej in rejects:
        if rej["reason"] in ("wrong_script", "no_letters", "navigation", "synopsis", "page_chrome", "fragment"):
            assert rej["record"]["text"] not in lines or rej["reason"] == "navigation", rej
    # every line kept would pass the clean stage's zh-Hant script filter as a document of its own
    assert all(HAN_FILTER(line) is True for line in lines)
    assert len({r["id"] for r in records}) == len(records)


def test_help_pages_keep_taiwan_prose_and_reject_english_and_navigation(help_slice, packages):
    meta, records, rejects = help_slice
    check_ledgers(meta, records, rejects, "zh-tw-help.jsonl")
    assert meta["license"] == "MPL-2.0" and meta["package"] == "libreoffice-help-zh-tw" and meta["version"]
    by_page = {r["page"]: r for r in records}
    new = by_page["text/shared/01/01010000"]
    assert new["title"] == "新增" and new["text"].startswith("新增\n建立新的 LibreOffice 文件。")
    assert {"heading": "新增", "text": "建立新的 LibreOffice 文件。"} in new["sections"]
    # the untranslated Find toolbar page is all rejects, none of it in the corpus
    assert "text/shared/find_toolbar" not in by_page
    english = [r for r in rejects if r["origin"].endswith("find_toolbar.html")]
    assert {r["reason"] for r in english} <= {"wrong_script", "no_letters"}
    assert any(r["record"]["text"] == "Moves the cursor and selects the previous match of the search text."
               for r in english)
    navigation = {r["record"]["text"] for r in rejects if r["reason"] == "navigation"}
    assert {"若要使用此指令...", "相關主題"} <= navigation
    text = "\n".join(r["text"] for r in records)
    assert "若要使用此指令" not in text and "相關主題" not in text and "Choose File - New" not in text
    # a menu-path page is navigation as a whole
    assert "text/schart/00/00000004" not in by_page
    assert any(r["origin"].endswith("00000004.html") and r["record"]["text"] == "選擇 [格式] - [圖例] - [位置]標籤 (圖表)"
               and r["reason"] == "navigation" for r in rejects)
    assert "圖示" not in text.split("\n")  # a table cell on its own is a fragment
    assert meta["han_chars"] == sum(len(re.findall(r"[\u4e00-\u9fff]", r["text"])) for r in records)


def test_man_pages_render_name_and_description(man_slice):
    meta, records, rejects = man_slice
    check_ledgers(meta, records, rejects, "zh-tw-man.jsonl")
    assert meta["package"] == "manpages-zh" and meta["license"] == "GFDL-1.2+"
    ls = next(r for r in records if r["page"] == "man1/ls.1")
    assert ls["title"] == "ls" and ls["name"] == "ls - 列出目錄內容"
    assert ls["description"].startswith("列出指定“檔案”（預設為當前目錄）的資訊。")
    assert ls["text"].startswith("ls - 列出目錄內容\n")
    assert "-a, --all 不要忽略以點號（“.”）起始的條目" in ls["text"].split("\n")
    synopsis = [r["record"]["text"] for r in rejects if r["reason"] == "synopsis" and "/ls.1" in r["origin"]]
    assert "ls [選項]... [檔案列表]..." in synopsis
    chrome = [r["record"]["text"] for r in rejects if r["reason"] == "page_chrome" and "/ls.1" in r["origin"]]
    assert any(c.startswith("LS(1)") for c in chrome) and any("GNU coreutils" in c for c in chrome)
    credits = [r["record"]["text"] for r in rejects if r["reason"] == "credits_or_links"]
    assert any("中文 man 手冊頁計劃" in c for c in credits)
    text = "\n".join(r["text"] for r in records)
    assert "中文 man 手冊頁計劃" not in text and "Copyright" not in text
    # groff's joins of the source's line breaks leave no space between two Chinese characters
    assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", text)
    # a page whose NAME line stayed English still knows its command
    ipt = [r for r in records if r["page"] == "man8/iptables-restore.8"]
    assert ipt and ipt[0]["title"] == "iptables-restore" and ipt[0]["name"] is None
    # bash is long: cut into parts of one page, each within the size clean keeps
    bash = [r for r in records if r["page"] == "man1/bash.1"]
    assert len(bash) > 5
    for r in bash:  # at most 2,000 characters, unless one paragraph alone is longer
        longest = max(len(line) for line in r["text"].split("\n"))
        assert len(r["text"]) <= 2000 or longest > 2000 - len(r["name"]) - 40
    assert [r["part"] for r in bash] == list(range(1, len(bash) + 1))
    assert all(r["text"].startswith(bash[0]["name"] + "\n") for r in bash)


def test_aliases_are_not_pages(packages):
    pages, aliases = manpages.man_pages(packages["man"])
    assert aliases > 10 and not any(p.is_symlink() for p in pages)


def test_split_parts_and_short_answers():
    sections = [["標題", "甲" * 900], ["乙節", "乙" * 900, "丙" * 900]]
    parts = split_parts(sections, 2000)
    assert [line for p in parts for line in p] == [line for s in sections for line in s]
    assert all(sum(len(x) + 1 for x in p) <= 2000 for p in parts) and len(parts) == 2
    # a short first section is not a part of its own
    parts = split_parts([["名稱"], ["描述", *["乙" * 500] * 6]], 2000)
    assert parts[0][:2] == ["名稱", "描述"] and len(parts) == 2
    assert short_answer("第一句。第二句！第三句。") == "第一句。第二句！"
    long = "這是一個很長的句子，" + "字" * 150 + "。"
    assert short_answer(long) == "這是一個很長的句子。"
    assert short_answer("字" * 200) is None
    assert short_answer("/etc/group 是一個檔案,它定義了使用者所屬的組.每行一條記錄,其格式如下:") == \
        "/etc/group 是一個檔案,它定義了使用者所屬的組."
    assert short_answer("其格式如下：") is None
    assert short_answer("讀取一個.psf格式的字型並寫入。然後結束。") == "讀取一個.psf格式的字型並寫入。然後結束。"


def test_doc_qa_items_split_by_page(help_slice, man_slice, tmp_path):
    records = {"zh-tw-help": help_slice[1], "zh-tw-man": man_slice[1]}
    items = doc_tasks.all_items(records)
    assert {it["task_type"] for it in items} == {"doc-qa-help", "doc-qa-man"}
    for it in items:
        assert doc_tasks.MIN_ANSWER_CHARS <= len(it["output"]) <= doc_tasks.MAX_ANSWER_CHARS
        assert HAN_FILTER(it["output"]) is True and it["input"] and it["instruction"]
        assert it["output"] == it["reference"]
    ls = next(it for it in items if it["page"] == "man1/ls.1")
    assert ls["input"] == "ls - 列出目錄內容" and ls["output"].startswith("列出指定“檔案”")
    sft = doc_tasks.build_tasks(records)
    ev = doc_tasks.qa_task(records=records)
    assert sft and ev
    page_of = {it["id"]: (it["source"], it["page"]) for it in items}
    sft_pages = {page_of[r["id"]] for r in sft}
    eval_pages = {(it["source"], it["page"]) for it in ev}
    assert not sft_pages & eval_pages
    assert len(sft) + len(ev) == len(items)
    # a page's side comes from its id alone: every record of a long page is on one side
    sides = {doc_tasks.page_half("zh-tw-man", r["page"]) for r in man_slice[1] if r["page"] == "man1/bash.1"}
    assert len(sides) == 1
    train_recs, eval_recs = doc_tasks.split_pages(records["zh-tw-man"])
    assert {r["page"] for r in train_recs}.isdisjoint({r["page"] for r in eval_recs})
    assert doc_tasks.build_tasks(records, limit=3) == sft[:3]
    counts = doc_tasks.write_page_split("zh-tw-man", tmp_path, records["zh-tw-man"])
    train = read_jsonl(tmp_path / "zh-tw-man.train.jsonl")
    held = read_jsonl(tmp_path / "zh-tw-man.heldout.jsonl")
    assert len(train) + len(held) == len(records["zh-tw-man"]) and held and train
    assert counts["zh-tw-man.heldout.jsonl"]["records"] == len(held)
    assert {r["page"] for r in held} == {r["page"] for r in eval_recs}
    assert {r["page"] for r in held} >= {it["page"] for it in ev if it["source"] == "zh-tw-man"}
    with pytest.raises(Exception, match="unknown documentation task"):
        doc_tasks.build_tasks(records, tasks=["nope"])


def test_doc_qa_scores_as_a_generation_task(help_slice, man_slice, tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from langadapt.config.evaluation import EvalConfig
    from langadapt.eval.runner import evaluate_model
    from langadapt.eval.tasks import Task, normalise_item

    records = {"zh-tw-help": help_slice[1], "zh-tw-man": man_slice[1]}
    items = [normalise_item(r, "generation") for r in doc_tasks.qa_task(limit=3, records=records)]
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    cfg = EvalConfig(generation={"temperature": 0.0, "max_new_tokens": 8})
    result = evaluate_model(model, tokenizer, [Task("zh-tw-doc-qa", "generation", items=items)], cfg)
    scores = result["zh-tw-doc-qa"]["scores"]
    assert scores
    flat = json.dumps(scores)
    assert "chrf" in flat.lower() and "rouge" in flat.lower() and "answer_bpc" in flat.lower(), flat
