"""The Taiwan Mandarin man pages of Debian's manpages-zh, one record per page, rendered by groff.

Run: `langadapt data fetch zh-tw-man` -> `<cache>/data/zh-tw-man/zh-tw-man.jsonl` with records
{id, page, part, title, name, description, text, source}: `name` is the NAME line ("ls - 列出目錄內容"),
`description` the first paragraph of DESCRIPTION, `text` the page's Han prose (NAME line first, then
headings and paragraphs one per line). Only `usr/share/man/zh_TW` is read; the zh_CN pages of the
same package are Simplified.

Why groff and not a macro stripper of our own: man pages use man, mdoc and tbl macros, escapes
(`\\fB`, `\\-`, `\\(em`), conditionals and string registers; groff (Debian's groff-base, on almost
every Debian system, `apt-get install groff-base` otherwise) implements all of them, while a
stripper would leave debris on every construct it does not know. groff renders with a line length
of 4,000 ens, so one output line is one paragraph, and a block is a line at one indent plus the
deeper lines under it (an option tag and its description).

Left out, each into `rejects.jsonl` with a reason: SYNOPSIS (command syntax, `synopsis`), author,
translator, copyright, bug-report and SEE ALSO sections (`credits_or_links`), the running header and
footer (`page_chrome`), English or symbol-only blocks (`wrong_script`, `no_letters`), blocks
repeated from an earlier page (`duplicate_block`) and headings left with nothing under them.
Pages that only include another (`.so`) and symbolic links are not pages of their own.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

from tqdm import tqdm

from langadapt.data.sources._doc_pages import (MAX_PART_CHARS, BlockSorter, RejectLedger, Unpacked, han_count,
                                               render_man, split_parts, unpack_deb)
from langadapt.data.sources._tools import JsonlWriter, need_tool
from langadapt.data.doc_tasks import read_pages, write_page_split
from langadapt.errors import UserError

PACKAGE = "manpages-zh"
MAN_DIR = "usr/share/man/zh_TW"
OUT_FILE = "zh-tw-man.jsonl"
# groff joins the source's line breaks with a space, which Chinese does not put between characters
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")
NAME_WORDS = ("name", "名稱", "名字")
SYNOPSIS_WORDS = ("synopsis", "總覽", "概述", "大綱", "語法", "用法", "概要")
DESCRIPTION_WORDS = ("description", "描述", "說明")
CREDIT_WORDS = ("跋", "維護人", "最新更新", "翻譯計劃", "翻譯計畫", "譯者", "校對", "作者", "author", "版權",
                "copyright", "報告錯誤", "報告缺陷", "reporting bugs", "參見", "另見", "參考", "see also",
                "關鍵字", "keywords", "colophon")


def _has(heading: str, word: str) -> bool:
    # English words whole ("NAME", not the "name" in "PATHNAME RESOLUTION"); Chinese ones anywhere
    return bool(re.search(rf"\b{word}\b", heading)) if word.isascii() else word in heading


def _section_kind(heading: str) -> str:
    h = heading.lower()
    for kind, words in (("name", NAME_WORDS), ("synopsis", SYNOPSIS_WORDS), ("description", DESCRIPTION_WORDS),
                        ("credits", CREDIT_WORDS)):
        # "名稱" opens the NAME heading but also ends others ("檔案名稱")
        if any(h.startswith(w) if kind == "name" and not w.isascii() else _has(h, w) for w in words):
            return kind
    return "body"


def man_blocks(rendered: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(page chrome lines, [(heading, blocks)]) of groff's plain-text output."""
    lines = rendered.splitlines()
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if not nonblank:
        return [], []
    # the running header ("LS(1) 使用者命令 LS(1)") and footer ("GNU coreutils 9.1 2022年9月 LS(1)")
    chrome = {nonblank[0], nonblank[-1]} if len(nonblank) > 1 else set()
    sections: list[tuple[str, list[str]]] = []
    block: list[str] = []
    indent = 0

    def close() -> None:
        if block and sections:
            sections[-1][1].append(_CJK_GAP.sub("", " ".join(" ".join(block).split())))
        block.clear()

    for i, line in enumerate(lines):
        if i in chrome or not line.strip():
            close()
            continue
        depth = len(line) - len(line.lstrip())
        if depth == 0:
            close()
            sections.append((" ".join(line.split()), []))
        elif block and depth > indent:
            block.append(line.strip())  # the body under an option tag
        else:
            close()
            block.append(line.strip())
            indent = depth
    close()
    return [" ".join(lines[i].split()) for i in sorted(chrome)], sections


def page_record(rendered: str, page_id: str, origin: str, sorter: BlockSorter,
                rejects: RejectLedger) -> list[dict[str, Any]]:
    chrome, sections = man_blocks(rendered)
    for line in chrome:
        rejects.add(origin, "page_chrome", "running header or footer", line)
    name: str | None = None
    description: str | None = None
    raw_name: str | None = None
    kept: list[list[str]] = []
    for heading, blocks in sections:
        kind = _section_kind(heading)
        if kind in ("synopsis", "credits"):
            detail = "command syntax" if kind == "synopsis" else "authors, translators, copyright or cross-references"
            for text in [heading, *blocks]:
                rejects.add(origin, "synopsis" if kind == "synopsis" else "credits_or_links", detail, text)
            continue
        if kind == "name" and blocks and raw_name is None:
            raw_name = blocks[0]  # names the command even when its description was left in English
        paras = []
        for text in blocks:
            why = sorter.why_not(text)
            if why:
                rejects.add(origin, why[0], why[1], text)
                continue
            paras.append(text)
            if kind == "name" and name is None:
                name = text
            elif kind == "description" and description is None:
                description = text
        head_why = sorter.script_verdict(heading)
        if kind == "name" or head_why:
            # the NAME heading says nothing; an English heading ("OPTIONS") is not Han text
            rejects.add(origin, head_why[0] if head_why else "page_chrome",
                        head_why[1] if head_why else "NAME heading", heading)
            if paras:
                kept.append(paras)
        elif paras:
            kept.append([heading, *paras])
        else:
            rejects.add(origin, "empty_section", "no Han paragraph under this heading", heading)
    if not kept:
        return []
    title = (re.split(r"\s+[-\u2010-\u2015]\s+", raw_name, maxsplit=1)[0].strip() if raw_name
             else page_id.split("/")[-1].rsplit(".", 1)[0])
    # later parts repeat the name line, so it comes off their budget
    parts = split_parts(kept, MAX_PART_CHARS - len(name or "") - 1)
    records = []
    for n, lines in enumerate(parts):
        if name and lines[0] != name:
            lines = [name, *lines]  # every part says which page it is from
        records.append({"id": page_id if len(parts) == 1 else f"{page_id}#{n + 1}", "page": page_id,
                        "part": n + 1, "title": title, "name": name, "description": description,
                        "text": "\n".join(lines), "source": origin})
    return records


def _is_alias(path: Path) -> bool:
    """A symbolic link or a page that only sources another (`.so man1/other.1`)."""
    if path.is_symlink():
        return True
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    lines = [ln for ln in raw[:2000].decode("utf-8", errors="replace").splitlines()
             if ln.strip() and not ln.startswith(('.\\"', "'\\\""))]
    return bool(lines) and lines[0].startswith(".so ")


def build(out: Path, work: Path, name: str) -> dict[str, Any]:
    need_tool("groff", "Rendering the man pages of manpages-zh", "install groff-base (`apt-get install groff-base`)")
    info = convert(unpack_deb(PACKAGE, work), out, name)
    # The same page split as the doc-qa task: CPT on `.train.jsonl` never sees a page it is asked about.
    # The split files repeat the main file's records, so the totals count the main file only.
    info.update(records=info["files"][OUT_FILE]["records"], chars=info["files"][OUT_FILE]["chars"])
    info["files"].update(write_page_split(name, out, read_pages(out / OUT_FILE)))
    return info


def man_pages(pkg: Unpacked) -> tuple[list[Path], int]:
    """(pages to read, number of aliases left out)."""
    paths = sorted(p for p in (pkg.root / MAN_DIR).glob("man*/*") if p.is_file() or p.is_symlink())
    if not paths:
        raise UserError(f"{PACKAGE} holds no man pages under {MAN_DIR}; its layout may have changed")
    pages = [p for p in paths if not _is_alias(p)]
    return pages, len(paths) - len(pages)


def convert(pkg: Unpacked, out: Path, name: str, pages: list[Path] | None = None) -> dict[str, Any]:
    """zh-tw-man.jsonl and rejects.jsonl in `out` from the unpacked package (`pages`: a subset)."""
    groff = need_tool("groff", "Rendering the man pages of manpages-zh", "install groff-base (`apt-get install groff-base`)")
    base = pkg.root / MAN_DIR
    aliases = None
    if pages is None:
        pages, aliases = man_pages(pkg)
    sorter = BlockSorter()
    rejects = RejectLedger(out / "rejects.jsonl", name)
    han = 0
    with JsonlWriter(out / OUT_FILE) as w:
        for path in tqdm(pages, desc=name, unit="page", leave=False, disable=None):
            rel = path.relative_to(base).as_posix().removesuffix(".gz")
            rendered = render_man(path, groff)
            for rec in page_record(rendered, rel, f"{PACKAGE}:{path.relative_to(pkg.root)}", sorter, rejects):
                han += han_count(rec["text"])
                w.write(rec)
    rejects.close()
    return {"package": PACKAGE, "version": pkg.version, "license": pkg.license, "language": "zh-TW",
            "script": "han", "documents_read": len(pages), "aliases_skipped": aliases, "han_chars": han,
            "files": {OUT_FILE: w.stats()}, "rejects": rejects.summary()}
