"""Tokenize once, to disk: a corpus becomes a memory-mapped token store that every process, every restart
and every later stage with the same tokenizer reuses.

    store = token_store(tokenizer, "runs/x/clean/corpus")    # builds it on first use, then opens it
    store.tokens[store.offsets[i]:store.offsets[i + 1]]        # document i's ids (BOS/EOS included)

A store is a folder in the cache (`$LANGADAPT_CACHE/tokens/<key>`) named by a hash of the tokenizer
(its full serialised form plus BOS/EOS) and of the data files (path, size, modification time):
a changed tokenizer or corpus gets a new store, an unchanged one is opened in milliseconds.

Why flat arrays and not Arrow rows through `datasets`: packing needs the corpus as one long token
stream cut at fixed offsets. With `tokens.bin` (uint16 when the vocabulary fits, else uint32) and
int64 document offsets, a packed sequence is a binary search and a slice of an `np.memmap`, with no
Python object per document, no copy, and pages shared by every process on the machine through the
page cache. The per-document arrays (offsets, characters, source) cost 20 bytes a document.

Tokenization runs the fast tokenizer's batch encoder, which spreads each batch over the CPU cores
(set TOKENIZERS_PARALLELISM=false to keep it on one); it releases the GIL, so the next batch of text is
read and parsed while the current one is encoded. The store is written beside its final name and
renamed into place, so a killed build leaves nothing that looks complete; under `accelerate launch`
the caller builds it on the main process first and the others open the finished store.
"""

from __future__ import annotations

import hashlib
import json
import os
from array import array
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from langadapt.atomic import atomic_dir
from langadapt.paths import cache_dir
from langadapt.train.docstream import Doc, data_files, iter_documents

VERSION = 1
BATCH_DOCS = 1024


@dataclass
class TokenStore:
    """Documents as token ids on disk; the arrays are memory maps (or plain arrays for an in-memory store)."""

    tokens: np.ndarray
    offsets: np.ndarray      # int64, documents + 1
    chars: np.ndarray        # int64, characters per document (the mixing weights' unit)
    source: np.ndarray       # int32 index into `sources`
    sources: list[str]
    roles: dict[str, str | None] = field(default_factory=dict)
    path: Path | None = None

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def doc(self, i: int) -> np.ndarray:
        return self.tokens[self.offsets[i]:self.offsets[i + 1]]


def tokenizer_fingerprint(tokenizer) -> str:
    h = hashlib.sha256()
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        h.update(backend.to_str().encode())
    else:
        h.update(type(tokenizer).__name__.encode())
        h.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    h.update(json.dumps([tokenizer.bos_token_id, tokenizer.eos_token_id]).encode())
    return h.hexdigest()


def data_fingerprint(files: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(json.dumps([str(f.resolve()), st.st_size, st.st_mtime_ns]).encode())
    return h.hexdigest()


def _affixes(tokenizer) -> tuple[list[int], list[int]]:
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    return ([bos] if bos is not None and bos != eos else []), ([eos] if eos is not None else [])


def _encoder(tokenizer):
    """texts -> list of id lists, without special tokens (BOS/EOS are added per document by the caller)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return lambda texts: [e.ids for e in backend.encode_batch(texts, add_special_tokens=False)]
    return lambda texts: tokenizer(texts, add_special_tokens=False)["input_ids"]


def _batches(docs: Iterator[Doc], size: int) -> Iterator[list[Doc]]:
    while batch := list(islice(docs, size)):
        yield batch


def write_store(tokenizer, docs: Iterable[Doc], folder: Path, meta: dict | None = None) -> None:
    """Tokenize `docs` into `folder` (which must exist and be empty), keeping one batch in memory."""
    prefix, suffix = _affixes(tokenizer)
    dtype = np.uint16 if len(tokenizer) <= 65535 else np.uint32
    encode = _encoder(tokenizer)
    offsets, chars, source = array("q", [0]), array("q"), array("i")
    names: dict[str, int] = {}
    roles: dict[str, str | None] = {}
    total = 0
    with (folder / "tokens.bin").open("wb") as out, ThreadPoolExecutor(1) as pool:
        def flush(batch: list[Doc], future) -> None:
            nonlocal total
            encoded = future.result()
            lens = [len(prefix) + len(ids) + len(suffix) for ids in encoded]
            flat = np.fromiter(chain.from_iterable(chain(prefix, ids, suffix) for ids in encoded), dtype=dtype, count=sum(lens))
            out.write(flat.tobytes())
            for d, n in zip(batch, lens):
                total += n
                offsets.append(total)
                chars.append(len(d.text))
                if d.source not in names:
                    names[d.source] = len(names)
                    roles[d.source] = d.role
                source.append(names[d.source])

        pending = None
        for batch in _batches(iter(docs), BATCH_DOCS):
            future = pool.submit(encode, [d.text for d in batch])
            if pending:
                flush(*pending)
            pending = (batch, future)
        if pending:
            flush(*pending)
    np.save(folder / "offsets.npy", np.frombuffer(offsets, dtype=np.int64))
    np.save(folder / "chars.npy", np.frombuffer(chars, dtype=np.int64))
    np.save(folder / "source.npy", np.frombuffer(source, dtype=np.int32))
    info = {"version": VERSION, "dtype": np.dtype(dtype).name, "documents": len(chars), "tokens": total,
            "sources": list(names), "roles": roles, **(meta or {})}
    # meta.json last: its presence marks a complete store.
    (folder / "meta.json").write_text(json.dumps(info, ensure_ascii=False, indent=1), encoding="utf-8")


def open_store(folder: Path) -> TokenStore:
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    n_tok = int(meta["tokens"])
    tokens = (np.memmap(folder / "tokens.bin", dtype=meta["dtype"], mode="r", shape=(n_tok,)) if n_tok
              else np.zeros(0, dtype=meta["dtype"]))
    return TokenStore(tokens, np.load(folder / "offsets.npy", mmap_mode="r"), np.load(folder / "chars.npy", mmap_mode="r"),
                      np.load(folder / "source.npy", mmap_mode="r"), list(meta["sources"]), dict(meta["roles"]), folder)


def memory_store(tokenizer, docs: Iterable[Doc]) -> TokenStore:
    """A store without a cache folder (small lists of documents, tests)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_store(tokenizer, docs, Path(tmp))
        s = open_store(Path(tmp))
        return TokenStore(np.array(s.tokens), np.array(s.offsets), np.array(s.chars), np.array(s.source), s.sources, s.roles)


def store_from_ids(docs: list[list[int]]) -> TokenStore:
    """A store of already tokenized documents (one source)."""
    lengths = np.array([len(d) for d in docs], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    tokens = np.array([t for d in docs for t in d], dtype=np.int64)
    return TokenStore(tokens, offsets, lengths.copy(), np.zeros(len(docs), dtype=np.int32), ["corpus"])


def store_key(tokenizer, files: list[Path]) -> str:
    h = hashlib.sha256(f"v{VERSION}".encode())
    h.update(tokenizer_fingerprint(tokenizer).encode())
    h.update(data_fingerprint(files).encode())
    return h.hexdigest()[:20]


def token_store(tokenizer, data: str | Path, cache: Path | None = None) -> TokenStore:
    """The token store of `data` for `tokenizer`: opened when cached, else built (atomically) and opened."""
    files = data_files(data)
    root = Path(cache) if cache is not None else cache_dir("tokens")
    folder = root / store_key(tokenizer, files)
    if not (folder / "meta.json").is_file():
        with atomic_dir(folder) as tmp:
            write_store(tokenizer, iter_documents(data), tmp,
                        {"data": str(Path(data).resolve()), "files": len(files), "pid": os.getpid()})
        _drop_orphans(root)
    return open_store(folder)


def _drop_orphans(root: Path) -> None:
    """Remove stores whose corpus is gone (temporary corpora would otherwise pile up in the cache)."""
    import shutil

    for meta in root.glob("*/meta.json"):
        try:
            data = json.loads(meta.read_text(encoding="utf-8")).get("data")
        except (OSError, ValueError):
            continue
        if data and not Path(data).exists():
            shutil.rmtree(meta.parent, ignore_errors=True)
