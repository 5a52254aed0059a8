"""Prose in a target script from Debian documentation packages, as {text, source} JSONL.

Run: `langadapt data fetch zh-tw-prose` (debian-reference-zh-tw, GPL-2+: the Debian Reference in
Taiwan Traditional Chinese, written out as zh-tw-prose.jsonl, one record per section) or
`langadapt data fetch dz-text` (libreoffice-help-dz, MPL-2.0: the LibreOffice help, partly translated
to Dzongkha, written out as dz.jsonl, one record per help page holding its Tibetan-script paragraphs).

Only paragraphs written mainly in the target script are kept: table cells, code, command lines and
the untranslated English left in the Dzongkha help are dropped. A paragraph that already appeared
(help pages share boilerplate) is kept only the first time.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from langadapt.data.sources._html_text import html_blocks, is_prose
from langadapt.data.sources._tools import JsonlWriter, need_tool, run_tool
from langadapt.errors import UserError


@dataclass(frozen=True)
class DebText:
    package: str
    out_file: str
    doc_glob: str  # HTML files inside the unpacked package
    script: str  # "han", "tibetan" or "latin"
    min_share: float  # share of non-space characters in the script for a paragraph to count
    min_script_chars: int
    per_page: bool  # one record per page (else per heading-delimited section)
    root_id: str | None = None
    language: str = ""


CONFIGS = {
    "zh-tw-prose": DebText("debian-reference-zh-tw", "zh-tw-prose.jsonl", "usr/share/debian-reference/*.html",
                           "han", 0.3, 8, per_page=False, language="zh-TW"),
    # English prose for replay against forgetting; same book as zh-tw-prose, so replay and target
    # differ in language, not in domain.
    "en-prose": DebText("debian-reference-en", "en-prose.jsonl", "usr/share/debian-reference/*.en.html",
                        "latin", 0.6, 40, per_page=False, language="en"),
    "dz-text": DebText("libreoffice-help-dz", "dz.jsonl", "usr/share/libreoffice/help/dz/**/*.html",
                       "tibetan", 0.5, 6, per_page=True, root_id="DisplayArea", language="dz"),
}
SKIP_CLASSES = frozenset({"toc", "navheader", "navfooter", "list-of-tables", "list-of-figures",
                          "list-of-examples", "relatedtopics", "howtoget"})
PROSE_TAGS = {"p", "li", "dd", "dt", "blockquote", "caption"}


def apt_download(package: str, workdir: Path) -> Path:
    """`apt-get download PACKAGE` into workdir (one `apt-get update` first if the index lacks it)."""
    apt = need_tool("apt-get", f"Fetching the Debian package {package}", "this source needs a Debian/Ubuntu system")
    proc = subprocess.run([apt, "download", package], cwd=workdir, capture_output=True, text=True)
    if proc.returncode != 0 and re.search(r"unable to locate|no candidate|has no installation", proc.stderr, re.I):
        run_tool([apt, "update"], workdir, "apt-get update (to find the package list)")
        proc = subprocess.run([apt, "download", package], cwd=workdir, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-2:])
        raise UserError(f"apt-get download {package} failed: {tail}")
    debs = sorted(workdir.glob(f"{package}_*.deb"))
    if not debs:
        raise UserError(f"apt-get download {package} left no .deb file in {workdir}")
    return debs[-1]


def _license(copyright_file: Path) -> str | None:
    """The License of the `Files: *` paragraph of a machine-readable debian/copyright."""
    if not copyright_file.is_file():
        return None
    for para in copyright_file.read_text(encoding="utf-8", errors="replace").split("\n\n"):
        if re.search(r"^Files:\s*\*\s*$", para, re.M):
            m = re.search(r"^License:\s*(\S+)", para, re.M)
            if m:
                return m.group(1)
    return None


def _records(doc: Path, rel: str, cfg: DebText, seen: set[str]) -> list[dict[str, str]]:
    blocks = html_blocks(doc.read_text(encoding="utf-8", errors="replace"), cfg.root_id, SKIP_CLASSES)
    records: list[dict[str, str]] = []
    heading: str | None = None
    anchor: str | None = None
    paras: list[str] = []

    def flush() -> None:
        if paras:
            lines = paras[:]
            if heading and heading not in seen:
                seen.add(heading)
                lines.insert(0, heading)
            source = f"{cfg.package}:{rel}" + (f"#{anchor}" if anchor else "")
            records.append({"text": "\n".join(lines), "source": source})
        paras.clear()

    for block in blocks:
        if block.is_heading:
            ok = is_prose(block, cfg.script, cfg.min_share, 2)
            if not cfg.per_page:
                flush()
                heading, anchor = (block.text if ok else None), block.anchor
            elif heading is None and not paras:
                heading = block.text if ok else None
            elif ok and block.text not in seen:
                seen.add(block.text)
                paras.append(block.text)
        elif block.tag in PROSE_TAGS and is_prose(block, cfg.script, cfg.min_share, cfg.min_script_chars):
            if block.text not in seen:
                seen.add(block.text)
                paras.append(block.text)
    flush()
    return records


def build(out: Path, work: Path, name: str) -> dict[str, Any]:
    cfg = CONFIGS[name]
    dpkg_deb = need_tool("dpkg-deb", f"Unpacking the Debian package {cfg.package}", "install dpkg")
    deb = apt_download(cfg.package, work)
    fields = run_tool([dpkg_deb, "-f", str(deb), "Package", "Version"], work, "dpkg-deb -f")
    info = dict(line.split(": ", 1) for line in fields.strip().splitlines() if ": " in line)
    root = work / "root"
    run_tool([dpkg_deb, "-x", str(deb), str(root)], work, f"dpkg-deb -x {deb.name}")
    license_ = _license(root / "usr/share/doc" / cfg.package / "copyright")
    docs = sorted(root.glob(cfg.doc_glob))
    if not docs:
        raise UserError(f"{cfg.package} holds no files matching {cfg.doc_glob}; its layout may have changed")
    seen: set[str] = set()
    with JsonlWriter(out / cfg.out_file) as w:
        for doc in tqdm(docs, desc=name, unit="file", leave=False, disable=None):
            rel = str(doc.relative_to(root))
            for record in _records(doc, rel, cfg, seen):
                w.write(record)
    return {
        "package": cfg.package,
        "version": info.get("Version"),
        "license": license_,
        "language": cfg.language,
        "script": cfg.script,
        "documents_read": len(docs),
        "files": {cfg.out_file: w.stats()},
    }
