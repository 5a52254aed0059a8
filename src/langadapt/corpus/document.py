"""The units that flow through the cleaning stream: raw records, documents and rejects.

Use: readers yield `RawRecord`s; `pipeline.process_chunk` turns each into a `Document` or a `Reject`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawRecord:
    """Bytes exactly as read, plus where they came from; parsing happens in the workers."""

    ordinal: int
    """Position in the whole input stream: the order every output keeps."""
    corpus: int
    """Index of the corpus spec this record belongs to."""
    origin: str
    """`path:line` (or `path#row`) of the record, for the ledger."""
    data: bytes | dict | None
    """Raw bytes (text/JSONL), an already parsed row (Parquet, datasets), or None for a record rejected on read."""
    size: int = 0
    kind: str = "text"
    """`text` or `json`: how the worker reads bytes."""
    reject: tuple[str, str] | None = None
    """(reason, detail) when the reader already knows the record is unusable, e.g. too large."""
    head: bytes = b""
    sha256: str = ""


@dataclass
class Document:
    text: str
    id: str
    source: str
    language: str
    role: str
    meta: dict[str, Any] = field(default_factory=dict)
    ordinal: int = 0
    origin: str = ""
    digest: bytes = b""
    """Hash of the normalised text: exact dedup and the held-out split."""
    raw: Any = None
    """The original record (str or dict), kept until the document is written, for the rejects ledger."""
    chars_in: int = 0
    tokens: int | None = None
    minhash: Any = None

    def output(self) -> dict[str, Any]:
        return {"text": self.text, "id": self.id, "source": self.source, "language": self.language,
                "role": self.role, "meta": self.meta}


@dataclass
class Reject:
    ordinal: int
    source: str
    origin: str
    step: str
    reason: str
    detail: str = ""
    record: Any = None
    record_bytes: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def ledger(self) -> dict[str, Any]:
        """One line of rejects.jsonl: the original record survives, as base64 when it was not UTF-8."""
        entry: dict[str, Any] = {"ordinal": self.ordinal, "source": self.source, "origin": self.origin,
                                 "step": self.step, "reason": self.reason, "detail": self.detail}
        if self.record_bytes is not None:
            entry["record_base64"] = base64.b64encode(self.record_bytes).decode("ascii")
        else:
            entry["record"] = self.record
        entry.update(self.extra)
        return entry


def record_text(raw: Any) -> Any:
    """The original record in a JSON-safe form for the ledger (bytes become text when they decode)."""
    if isinstance(raw, bytes):
        return raw.decode("utf-8")
    return raw
