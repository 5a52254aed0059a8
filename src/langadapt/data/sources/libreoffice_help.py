"""The LibreOffice help in Taiwan Mandarin, one record per help page, from Debian's libreoffice-help-zh-tw.

Run: `langadapt data fetch zh-tw-help` -> `<cache>/data/zh-tw-help/zh-tw-help.jsonl` (MPL-2.0) with
records {id, page, part, title, text, sections, source}: `text` is the page's Han prose, title first,
headings and paragraphs one per line; `sections` pairs each heading with the first paragraph under it
(the instruction data in `langadapt.data.doc_tasks` is built from these pairs).

The help is partly translated: about half its paragraphs are still English, and every page carries
navigation ("若要使用此指令..." with menu paths, "相關主題" with links to other pages; the text/*/00/
pages hold nothing but those menu paths). Those blocks
go to `rejects.jsonl` with a reason (`wrong_script`, `no_letters`, `navigation`, `duplicate_block`,
`fragment` for table cells and icon labels, `empty_section` for a heading left with nothing under it)
instead of the corpus. Code samples (<pre>) and the hidden macOS variants of key names are not text
of the page and are not read at all. A page longer than ~2,000 characters is cut at headings into
parts that share its `page` id.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm import tqdm

from langadapt.data.sources._doc_pages import (MAX_PART_CHARS, BlockSorter, RejectLedger, Unpacked, han_count,
                                               split_parts, unpack_deb)
from langadapt.data.sources._html_text import Block, html_blocks
from langadapt.data.sources._tools import JsonlWriter
from langadapt.data.doc_tasks import read_pages, write_page_split
from langadapt.errors import UserError

PACKAGE = "libreoffice-help-zh-tw"
HELP_DIR = "usr/share/libreoffice/help/zh-TW"
OUT_FILE = "zh-tw-help.jsonl"
# macOS key names sit hidden beside the default ones ("Command" next to "Ctrl"): the default is kept
HIDDEN = frozenset({"MAC"})
# table cells and icon labels ("試算表", "圖示") are words out of a grid, not text
MIN_PARAGRAPH_HAN = 5
CLAUSE_MARK = re.compile("[。，；：？！]")
NAVIGATION = frozenset({"howtoget", "relatedtopics", "related", "relatedbody", "debug", "noteicon"})


def _navigation(html: str) -> tuple[list[Block], list[Block]]:
    """(blocks of the page, navigation blocks it holds)."""
    everything = html_blocks(html, "DisplayArea", HIDDEN)
    page = html_blocks(html, "DisplayArea", HIDDEN | NAVIGATION)
    left = Counter(b.text for b in page)
    nav = []
    for b in everything:
        if left[b.text] > 0:
            left[b.text] -= 1
        else:
            nav.append(b)
    return page, nav


def page_records(path: Path, page_id: str, origin: str, sorter: BlockSorter,
                 rejects: RejectLedger) -> list[dict[str, Any]]:
    """The records of one help page (several when it is long); its dropped blocks go to `rejects`."""
    blocks, nav = _navigation(path.read_text(encoding="utf-8", errors="replace"))
    if "00" in page_id.split("/"):
        # text/<module>/00/ pages are the menu paths that fill the pages' how-to-get boxes
        for b in nav + blocks:
            rejects.add(origin, "navigation", "menu-path page (text/*/00/), the source of how-to-get boxes", b.text)
        return []
    for b in nav:
        rejects.add(origin, "navigation", "how-to-get menu path, related topics or page chrome", b.text)
    title: str | None = None
    sections: list[tuple[str | None, list[str]]] = [(None, [])]  # (heading, its paragraphs)
    pairs: list[dict[str, str]] = []
    for b in blocks:
        if b.code_chars > 0.5 * len(b.text.replace(" ", "")):
            rejects.add(origin, "code", f"{b.code_chars} of {len(b.text)} characters are code", b.text)
            continue
        # headings repeat across pages ("語法：") and still belong to each page, so only their script counts
        why = sorter.script_verdict(b.text)
        if not why and not b.is_heading and han_count(b.text) < MIN_PARAGRAPH_HAN and not CLAUSE_MARK.search(b.text):
            why = "fragment", f"table cell or label: under {MIN_PARAGRAPH_HAN} Han characters, no sentence"
        if not why and not b.is_heading:
            why = sorter.why_not(b.text)
        if b.is_heading:
            if len(sections) == 1 and b.tag == "h1" and not why:
                title = b.text  # the page's own h1, when translated
            # an English heading still opens a section: what follows belongs to it, not the one before
            sections.append((None if why else b.text, []))
        elif not why:
            heading, paras = sections[-1]
            if heading is not None and not paras:
                pairs.append({"heading": heading, "text": b.text})
            paras.append(b.text)
        if why:
            rejects.add(origin, why[0], why[1], b.text)
    if not any(paras for _, paras in sections):
        # an untranslated page keeps at most a heading or two: nothing to learn from
        for heading, _ in sections:
            if heading is not None:
                rejects.add(origin, "no_prose", "the page keeps no Han paragraph", heading)
        return []
    kept: list[list[str]] = []
    for heading, paras in sections:
        if heading is not None and not paras and heading != title:
            # its paragraphs were English or code: the heading alone would be debris in the text
            rejects.add(origin, "empty_section", "no Han paragraph under this heading", heading)
        elif heading is not None or paras:
            kept.append(([heading] if heading is not None else []) + paras)
    records = []
    # later parts repeat the title line, so it comes off their budget
    parts = split_parts(kept, MAX_PART_CHARS - len(title or "") - 1)
    for n, lines in enumerate(parts):
        if title and lines[0] != title:
            lines = [title, *lines]  # every part says which page it is from
        in_part = set(lines)
        records.append({"id": page_id if len(parts) == 1 else f"{page_id}#{n + 1}", "page": page_id,
                        "part": n + 1, "title": title, "text": "\n".join(lines),
                        "sections": [p for p in pairs if p["heading"] in in_part and p["text"] in in_part],
                        "source": origin})
    return records


def build(out: Path, work: Path, name: str) -> dict[str, Any]:
    info = convert(unpack_deb(PACKAGE, work), out, name)
    # The same page split as the doc-qa task: CPT on `.train.jsonl` never sees a page it is asked about.
    # The split files repeat the main file's records, so the totals count the main file only.
    info.update(records=info["files"][OUT_FILE]["records"], chars=info["files"][OUT_FILE]["chars"])
    info["files"].update(write_page_split(name, out, read_pages(out / OUT_FILE)))
    return info


def help_pages(pkg: Unpacked) -> list[Path]:
    pages = sorted((pkg.root / HELP_DIR / "text").glob("**/*.html"))
    if not pages:
        raise UserError(f"{PACKAGE} holds no help pages under {HELP_DIR}/text; its layout may have changed")
    return pages


def convert(pkg: Unpacked, out: Path, name: str, pages: list[Path] | None = None) -> dict[str, Any]:
    """zh-tw-help.jsonl and rejects.jsonl in `out` from the unpacked package (`pages`: a subset)."""
    base = pkg.root / HELP_DIR
    pages = help_pages(pkg) if pages is None else pages
    sorter = BlockSorter()
    rejects = RejectLedger(out / "rejects.jsonl", name)
    han = 0
    with JsonlWriter(out / OUT_FILE) as w:
        for path in tqdm(pages, desc=name, unit="page", leave=False, disable=None):
            rel = path.relative_to(base).with_suffix("").as_posix()
            for rec in page_records(path, rel, f"{PACKAGE}:{path.relative_to(pkg.root)}", sorter, rejects):
                han += han_count(rec["text"])
                w.write(rec)
    rejects.close()
    return {"package": PACKAGE, "version": pkg.version, "license": pkg.license, "language": "zh-TW",
            "script": "han", "documents_read": len(pages), "han_chars": han,
            "files": {OUT_FILE: w.stats()}, "rejects": rejects.summary()}
