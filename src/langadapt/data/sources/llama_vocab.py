"""Vocabulary-only GGUF files of Llama-2 (SentencePiece) and Llama-3 (byte-level BPE), from the source
distribution of the PyPI package llama-cpp-python, which vendors llama.cpp and its test vocabularies.

Run: `langadapt data fetch llama-vocab`. Writes ggml-vocab-llama-spm.gguf, ggml-vocab-llama-bpe.gguf and
the other small ggml-vocab-*.gguf files the sdist carries; tokenizer work uses them to measure and
extend the real Llama vocabularies without downloading model weights.
"""

from __future__ import annotations

import re
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

from langadapt.data.sources._tools import run_tool
from langadapt.errors import UserError

PACKAGE = "llama-cpp-python"
REQUIRED = ("ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-bpe.gguf")
MAX_BYTES = 16 * 1024 * 1024  # vocab-only files are a few MB; anything bigger is not a vocabulary file
VOCAB_RE = re.compile(r"^[^/]+/vendor/llama\.cpp/models/(ggml-vocab-[\w.-]+\.gguf)$")


def _pkg_license(pkg_info: str) -> str | None:
    """License-Expression, else License, else the OSI classifier of a core-metadata file."""
    for key in ("License-Expression", "License"):
        m = re.search(rf"^{key}: *(\S.*)$", pkg_info, re.M)
        if m and len(m.group(1)) < 40:
            return m.group(1).strip()
    m = re.search(r"^Classifier: License :: OSI Approved :: (.+?) License$", pkg_info, re.M)
    return m.group(1) if m else None


def build(out: Path, work: Path, name: str = "llama-vocab") -> dict[str, Any]:
    # the sdist only: the wheels hold no vocabularies, and nothing is built or installed
    run_tool([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
              "--disable-pip-version-check", "--dest", str(work), PACKAGE], work, f"pip download {PACKAGE}")
    sdists = sorted(work.glob("llama_cpp_python-*.tar.gz")) or sorted(work.glob("*.tar.gz"))
    if not sdists:
        raise UserError(f"pip download {PACKAGE} left no source archive in {work}")
    sdist = sdists[-1]
    version = re.sub(r"^llama_cpp_python-|\.tar\.gz$", "", sdist.name)
    files: dict[str, dict[str, int]] = {}
    license_ = None
    with tarfile.open(sdist) as tar:
        for member in tar:
            if member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                meta = tar.extractfile(member)
                license_ = _pkg_license(meta.read().decode("utf-8", "replace")) if meta else None
            m = VOCAB_RE.match(member.name)
            if not m or not member.isfile() or member.size > MAX_BYTES:
                continue
            src = tar.extractfile(member)
            if src is None:
                continue
            with src, open(out / m.group(1), "wb") as dst:
                shutil.copyfileobj(src, dst)
            files[m.group(1)] = {"bytes": member.size}
    missing = [f for f in REQUIRED if f not in files]
    if missing:
        raise UserError(f"{sdist.name} lacks {', '.join(missing)}; the llama.cpp layout may have changed")
    return {
        "package": PACKAGE,
        "version": version,
        "license": license_ or "MIT",
        "files": dict(sorted(files.items())),
        "records": len(files),
        "chars": 0,
    }
