"""Shared plumbing for the page-structured Debian documentation sources (`zh-tw-help`, `zh-tw-man`).

Run one: `langadapt data fetch zh-tw-help` (or `zh-tw-man`); the pages land in `<name>.jsonl` and
everything the converter leaves out lands in `rejects.jsonl` beside it, one line per dropped block
with a reason, in the layout of the clean stage's ledger (`ordinal, source, origin, step, reason,
detail, record`), so a reader audits both ledgers the same way.

Blocks are sorted with the clean stage's own script measure (`corpus.filters.script`, Han at the
zh-Hant preset's 0.5): what the converter keeps would pass `langadapt clean --preset zh-Hant` as a
document of its own, and untranslated English never rides into the corpus inside a Chinese page,
where a document-level filter could no longer see it.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langadapt import languages
from langadapt.corpus.filters.script import ScriptFilter
from langadapt.data.sources._tools import JsonlWriter, need_tool, run_tool
from langadapt.data.sources.debian_text import _license, apt_download

HAN = re.compile(f"[{languages.HAN.char_class}]")  # the registry's Han, which the clean stage checks
# The zh-Hant preset's min_script_share: a page kept here also passes the clean stage's script filter.
HAN_SHARE = languages.get("zh-Hant").preset.min_script_share  # type: ignore[union-attr]
MAX_PART_CHARS = 2000  # a longer page is cut at headings: ~3k base tokens, under clean's max_tokens 4096
# older translations end sentences with ASCII marks right after a Chinese character ("的組.檔案"),
# unless a name goes on ("的.psf 格式")
SENTENCE_END = re.compile(r"(?<=[。！？])|(?<=[\u4e00-\u9fff][.!?])(?![A-Za-z0-9_])")


def han_count(text: str) -> int:
    return len(HAN.findall(text))


@dataclass
class Unpacked:
    root: Path
    package: str
    version: str | None
    license: str | None


def unpack_deb(package: str, work: Path) -> Unpacked:
    """`apt-get download` + `dpkg-deb -x` into work/root; version and license from the package itself."""
    dpkg_deb = need_tool("dpkg-deb", f"Unpacking the Debian package {package}", "install dpkg")
    deb = apt_download(package, work)
    fields = run_tool([dpkg_deb, "-f", str(deb), "Version"], work, "dpkg-deb -f")
    root = work / "root"
    run_tool([dpkg_deb, "-x", str(deb), str(root)], work, f"dpkg-deb -x {deb.name}")
    return Unpacked(root, package, fields.strip() or None, _license(root / "usr/share/doc" / package / "copyright"))


@dataclass
class BlockSorter:
    """Keeps a block when it is Han prose seen for the first time in this source; says why otherwise."""

    seen: set[str] = field(default_factory=set)
    _script: ScriptFilter = field(default_factory=lambda: ScriptFilter("Han", HAN_SHARE))

    def script_verdict(self, text: str) -> tuple[str, str] | None:
        """(reason, detail) when `text` is not mainly Han, else None."""
        verdict = self._script(text)
        return None if verdict is True else (verdict[1], verdict[2])

    def why_not(self, text: str) -> tuple[str, str] | None:
        verdict = self.script_verdict(text)
        if verdict:
            return verdict
        if text in self.seen:
            # help pages and man pages repeat notes word for word; one copy teaches as much
            return "duplicate_block", "the same block appeared earlier in this source"
        self.seen.add(text)
        return None


class RejectLedger:
    """rejects.jsonl of a source, counted by reason (records, characters, Han characters)."""

    def __init__(self, path: Path, source: str):
        self._writer = JsonlWriter(path)
        self.source = source
        self.by_reason: dict[str, Counter] = {}

    def add(self, origin: str, reason: str, detail: str, text: str) -> None:
        self._writer.write({"ordinal": self._writer.records, "source": self.source, "origin": origin,
                            "step": "convert", "reason": reason, "detail": detail, "record": {"text": text}})
        c = self.by_reason.setdefault(reason, Counter())
        c["records"] += 1
        c["chars"] += len(text)
        c["han_chars"] += han_count(text)

    def close(self) -> None:
        self._writer.close()

    def summary(self) -> dict[str, Any]:
        reasons = {k: dict(v) for k, v in sorted(self.by_reason.items())}
        return {"file": self._writer.path.name, "records": self._writer.records,
                "chars": sum(v["chars"] for v in reasons.values()),
                "han_chars": sum(v["han_chars"] for v in reasons.values()), "by_reason": reasons}


def split_parts(sections: list[list[str]], max_chars: int = MAX_PART_CHARS) -> list[list[str]]:
    """Lines of a page in parts of at most `max_chars` (a single longer line stays whole), cut between
    sections (heading + its lines) or, inside a section too long for one part, between lines."""
    parts: list[list[str]] = [[]]
    for section in sections:
        size = sum(len(x) + 1 for x in parts[-1])
        # a section that does not fit starts a new part, unless the current one is still small
        # (a NAME line alone would be a useless document)
        if parts[-1] and size + sum(len(x) + 1 for x in section) > max_chars and size >= max_chars // 2:
            parts.append([])
        for line in section:
            if parts[-1] and sum(len(x) + 1 for x in parts[-1]) + len(line) > max_chars:
                parts.append([])
            parts[-1].append(line)
    return [p for p in parts if p]


def short_answer(text: str, max_chars: int = 120) -> str | None:
    """The first one or two sentences of `text` within `max_chars`; a first sentence that is longer
    is cut at its last clause mark (，；) that fits. None when nothing fits."""
    sentences = [s.strip() for s in SENTENCE_END.split(text) if s.strip()]
    # "其格式如下：" announces a list that is not part of the answer
    while sentences and sentences[-1].endswith((":", "：")):
        sentences.pop()
    if not sentences:
        return None
    out = ""
    for s in sentences[:2]:
        if len(out) + len(s) > max_chars:
            break
        out += s
    if out:
        return out
    head = sentences[0][:max_chars]
    cut = max(head.rfind("，"), head.rfind("；"))
    return head[:cut] + "。" if cut >= 8 else None


def render_man(path: Path, groff: str) -> str:
    """A man page (gzip'd troff) as plain UTF-8 text; one output line per paragraph (no wrapping)."""
    import gzip

    source = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    # -Kutf8: the pages are UTF-8 (groff would read Latin-1); LL=4000n: no line wrapping, so one
    # paragraph is one line; HY=0: no hyphens inside words; -P-cbou: no overstrike or colour codes
    proc = subprocess.run([groff, "-Kutf8", "-Tutf8", "-mandoc", "-P-cbou", "-rLL=4000n", "-rHY=0", "-rcR=1"],
                          input=source, capture_output=True)
    return proc.stdout.decode("utf-8", errors="replace")
