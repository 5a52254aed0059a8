"""Tang and Song poems (npm package `chinese-poetry`, MIT) as Traditional Chinese JSONL.

Run: `langadapt data fetch chinese-poetry`. Writes tang.jsonl, song.jsonl (shi poems) and songci.jsonl
(ci lyrics), records {id, author, title, paragraphs, collection, ...other fields as shipped}.

The shi collections ship in Traditional script with a few simplified or variant forms mixed in (mostly
in the Song set: 黄, 带, 遥...); the ci collection ships in Simplified. Taiwan's Traditional character
set is the one Big5 encodes, so a character outside Big5 whose Traditional form is inside it is
replaced; characters Big5 already holds are left alone, which keeps classical usages such as 云 ("to
say") and 里 that a blind simplified-to-traditional pass would rewrite.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from tqdm import tqdm

from langadapt.data.sources._tools import JsonlWriter, npm_pack

PACKAGE = "chinese-poetry"
LICENSE = "MIT"

# collection name -> (folder under dist/, file pattern, ships simplified?)
COLLECTIONS = {
    "tang": ("quantangshi", "poet.tang.*.json", False),
    "song": ("quantangshi", "poet.song.*.json", False),
    "songci": ("songci", "ci.song.*.json", True),
}


def _file_order(path: Path) -> tuple[int, str]:
    # poet.tang.1000.json must follow poet.tang.0.json, not poet.tang.10000.json
    m = re.search(r"\.(\d+)\.json$", path.name)
    return (int(m.group(1)) if m else 1 << 30, path.name)


def _in_big5(ch: str) -> bool:
    try:
        ch.encode("big5")
        return True
    except UnicodeEncodeError:
        return False


class Traditionalizer:
    """Big5-guided conversion to Traditional characters (see the module docstring)."""

    def __init__(self) -> None:
        import opencc

        self._s2t = opencc.OpenCC("s2t")
        self.replaced = 0

    @lru_cache(maxsize=None)
    def _char(self, ch: str) -> str:
        if ch.isascii() or _in_big5(ch):
            return ch
        new = self._s2t.convert(ch)
        return new if new != ch and all(_in_big5(c) for c in new) else ch

    def fix(self, text: str, simplified: bool) -> str:
        if simplified:
            # phrase-level conversion picks the right form of one-to-many characters from context
            text = self._s2t.convert(text)
        out = "".join(self._char(c) for c in text)
        self.replaced += sum(a != b for a, b in zip(text, out))
        return out


def _poem_id(collection: str, rec: dict[str, Any]) -> str:
    key = json.dumps([rec.get("author"), rec.get("rhythmic"), rec.get("title"), rec.get("paragraphs")],
                     ensure_ascii=False)
    return f"{collection}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:16]}"


def build(out: Path, work: Path, name: str = PACKAGE) -> dict[str, Any]:
    root = npm_pack(PACKAGE, work)
    meta = json.loads((root / "package.json").read_text(encoding="utf-8"))
    trad = Traditionalizer()
    files: dict[str, dict[str, int]] = {}
    for collection, (folder, pattern, simplified) in COLLECTIONS.items():
        paths = sorted((root / "dist" / folder).glob(pattern), key=_file_order)
        with JsonlWriter(out / f"{collection}.jsonl", text_fields=("paragraphs",)) as w:
            for path in tqdm(paths, desc=f"chinese-poetry {collection}", unit="file", leave=False, disable=None):
                for rec in json.loads(path.read_text(encoding="utf-8")):
                    paragraphs = [trad.fix(p, simplified) for p in rec.get("paragraphs") or [] if p.strip()]
                    if not paragraphs:
                        continue
                    title = rec.get("title") or rec.get("rhythmic") or ""
                    record = dict(rec)
                    record.update(
                        id=str(rec.get("id") or _poem_id(collection, rec)),
                        author=trad.fix(rec.get("author") or "", simplified),
                        title=trad.fix(title, simplified),
                        paragraphs=paragraphs,
                        collection=collection,
                    )
                    if "rhythmic" in record:
                        record["rhythmic"] = trad.fix(record["rhythmic"], simplified)
                    if isinstance(record.get("tags"), list):
                        # tags are Simplified in every collection
                        record["tags"] = [trad.fix(str(t), True) for t in record["tags"]]
                    w.write(record)
            files[f"{collection}.jsonl"] = w.stats()
    return {
        "package": PACKAGE,
        "version": meta.get("version"),
        "license": meta.get("license") or LICENSE,
        "script": "Traditional Chinese (Big5 character set)",
        # characters outside Big5 replaced by their Traditional form (after OpenCC s2t where it ran)
        "non_big5_characters_replaced": trad.replaced,
        "converted_from_simplified": [c for c, (_, _, simp) in COLLECTIONS.items() if simp] + ["tags"],
        "files": files,
    }
