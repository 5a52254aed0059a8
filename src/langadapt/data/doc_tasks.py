"""Question-answer data in Taiwan Mandarin from the structure of the fetched documentation pages.

    from langadapt.data import doc_tasks
    doc_tasks.build_tasks(limit=500)     # SFT records (Alpaca) from the `sft` pages (builtin: zh-tw-doc-qa)
    doc_tasks.qa_task(limit=100)         # eval items from the `eval` pages (eval task zh-tw-doc-qa)
    doc_tasks.page_half("zh-tw-man", "man1/ls.1")   # "sft" or "eval"
    doc_tasks.split_pages(records)       # (sft pages, eval pages): keep eval pages out of a CPT corpus too
    doc_tasks.write_page_split("zh-tw-man", "data/")   # zh-tw-man.train.jsonl / zh-tw-man.heldout.jsonl

Two kinds of item, both written by the pages' own authors rather than made up by a model:
- `doc-qa-help` (zh-tw-help): a help page's heading -> the first paragraph under it;
- `doc-qa-man` (zh-tw-man): a man page's NAME line ("ls - 列出目錄內容") -> its DESCRIPTION paragraph.
Answers are the first one or two sentences, at most 120 characters, so prompt and answer fit a
256-token sequence. A page's side is fixed by a hash of its source and page id (not of the text,
not of the seed), so every part and heading of one page lands on the same side and no item of an
evaluation page is ever used for fine-tuning, whatever the seed or limit.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from langadapt.atomic import write_text
from langadapt.corpus.filters.script import ScriptFilter
from langadapt.data.fetch import fetch
from langadapt.data.sources._doc_pages import short_answer
from langadapt.errors import UserError

SALT = "langadapt-doc-qa-v1"
EVAL_SHARE = 0.2  # share of pages whose items are kept for evaluation
MAX_ANSWER_CHARS = 120
MIN_ANSWER_CHARS = 8
SOURCES = ("zh-tw-help", "zh-tw-man")
HELP_INSTRUCTION = "請用一兩句話說明 LibreOffice 中的這個項目。"
MAN_INSTRUCTION = "以下是一個 Linux 命令的名稱與簡介，請用一兩句話說明它的用途。"
TASK_TYPES = ("doc-qa-help", "doc-qa-man")

Half = Literal["sft", "eval"]
_HAN = ScriptFilter("Han", 0.5)


def _unit(*parts: str) -> float:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
    return int(digest[:15], 16) / float(1 << 60)


def page_half(source: str, page: str) -> Half:
    """Which side a page is on: its items train (`sft`) or evaluate (`eval`), never both."""
    return "eval" if _unit(SALT, source, page) < EVAL_SHARE else "sft"


def _source_of(record: dict[str, Any]) -> str:
    return "zh-tw-man" if "description" in record or "name" in record else "zh-tw-help"


def split_pages(records: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(records of `sft` pages, records of `eval` pages) of zh-tw-help / zh-tw-man records."""
    sft, ev = [], []
    for rec in records:
        (ev if page_half(_source_of(rec), rec["page"]) == "eval" else sft).append(rec)
    return sft, ev


def _answer(text: str | None, question: str) -> str | None:
    answer = short_answer(text or "", MAX_ANSWER_CHARS)
    if not answer or len(answer) < MIN_ANSWER_CHARS or _HAN(answer) is not True:
        return None
    if answer.rstrip("。") in question:
        return None  # the answer only repeats the question
    return answer


def help_items(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Heading -> first paragraph of each section of zh-tw-help records (the page title names the page)."""
    items, seen = [], set()
    for rec in records:
        title = rec.get("title")
        for n, pair in enumerate(rec.get("sections") or []):
            heading = pair["heading"]
            question = heading if not title or heading == title else f"{title}：{heading}"
            answer = _answer(pair["text"], question)
            if answer is None or (question, answer) in seen:
                continue
            seen.add((question, answer))
            items.append({"id": f"doc-qa-help-{rec['id']}-{n}", "page": rec["page"], "source": "zh-tw-help",
                          "task_type": "doc-qa-help", "language": "zh-Hant", "instruction": HELP_INSTRUCTION,
                          "input": question, "output": answer, "reference": answer})
    return items


def man_items(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """NAME line -> DESCRIPTION paragraph, once per man page (its first part)."""
    items, pages = [], set()
    for rec in records:
        name = rec.get("name")
        if not name or rec["page"] in pages:
            continue
        pages.add(rec["page"])
        answer = _answer(rec.get("description"), name)
        if answer is None:
            continue
        items.append({"id": f"doc-qa-man-{rec['page']}", "page": rec["page"], "source": "zh-tw-man",
                      "task_type": "doc-qa-man", "language": "zh-Hant", "instruction": MAN_INSTRUCTION,
                      "input": name, "output": answer, "reference": answer})
    return items


def load_pages(source: str) -> list[dict[str, Any]]:
    """Records of a fetched documentation source; fetches it on first use."""
    if source not in SOURCES:
        raise UserError(f"unknown documentation source {source!r} (known: {', '.join(SOURCES)})")
    return read_pages(fetch(source) / f"{source}.jsonl")


def read_pages(path: Path) -> list[dict[str, Any]]:
    """The records of a documentation source's JSONL file."""
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def all_items(records: dict[str, Sequence[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """Items of both sources, help and man interleaved, each in hash order so any prefix is a fair sample.

    `records` maps source name -> its records (default: the fetched sources)."""
    records = records if records is not None else {s: load_pages(s) for s in SOURCES}
    lists = [help_items(records.get("zh-tw-help") or []), man_items(records.get("zh-tw-man") or [])]
    lists = [sorted(x, key=lambda it: _unit(SALT + ":order", it["id"])) for x in lists]
    out = []
    for i in range(max((len(x) for x in lists), default=0)):
        out.extend(x[i] for x in lists if i < len(x))
    return out


def _half(items: list[dict[str, Any]], half: Half) -> list[dict[str, Any]]:
    return [it for it in items if page_half(it["source"], it["page"]) == half]


def build_tasks(records: dict[str, Sequence[dict[str, Any]]] | None = None, limit: int | None = None,
                tasks: Sequence[str] = TASK_TYPES) -> list[dict[str, Any]]:
    """SFT records (Alpaca: instruction, input, output, task_type, id) from the `sft` pages."""
    unknown = sorted(set(tasks) - set(TASK_TYPES))
    if unknown or not tasks:
        raise UserError(f"unknown documentation task {unknown or tasks} (known: {', '.join(TASK_TYPES)})")
    items = [it for it in _half(all_items(records), "sft") if it["task_type"] in tasks]
    return [{k: it[k] for k in ("instruction", "input", "output", "task_type", "id")} for it in items[:limit]]


def qa_task(limit: int | None = None, records: dict[str, Sequence[dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """Evaluation items (instruction, input, reference, task_type, id) from the `eval` pages."""
    return _half(all_items(records), "eval")[:limit]


def write_page_split(source: str, out_dir: str | Path,
                     records: Sequence[dict[str, Any]] | None = None) -> dict[str, dict[str, int]]:
    """`<source>.train.jsonl` (pages on the `sft` side) and `<source>.heldout.jsonl` (`eval` side) as
    {text, language, source, page} corpus records: train CPT on the first and score bits per character
    on the second, and no page that the doc-qa evaluation asks about was ever trained on."""
    records = load_pages(source) if records is None else records
    out = Path(out_dir)
    counts = {}
    for side, rows in zip(("train", "heldout"), split_pages(records)):
        name = f"{source}.{side}.jsonl"
        write_text(out / name, "".join(json.dumps({"text": r["text"], "language": "zh-Hant", "source": source,
                                                   "page": r["page"]}, ensure_ascii=False) + "\n" for r in rows))
        counts[name] = {"records": len(rows), "chars": sum(len(r["text"]) for r in rows)}
    return counts


def write_doc_tasks(out_dir: str | Path, records: dict[str, Sequence[dict[str, Any]]] | None = None) -> dict[str, int]:
    """sft.jsonl (Alpaca) and eval.jsonl (generation items) into `out_dir`; returns the counts."""
    out = Path(out_dir)
    items = all_items(records)
    counts = {}
    for name, rows in (("sft.jsonl", build_tasks(records)), ("eval.jsonl", _half(items, "eval"))):
        write_text(out / name, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        counts[name] = len(rows)
    return counts
