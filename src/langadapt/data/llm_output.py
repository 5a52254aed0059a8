"""What `data translate` and `data synth` leave behind: SFT records, a rejects ledger, and provenance.

    out = DataOutputs(out_dir, source="alpaca.jsonl", step="translate")
    out.keep(record); out.reject(ordinal, origin, reason, detail, record)
    out.finish(provenance)   # train.jsonl, rejects.jsonl, provenance.json (each written whole, atomically)

Every input record ends in exactly one of train.jsonl and rejects.jsonl; provenance.json records the
endpoint, the prompt template (name, hash and text), the settings and the counts, for the model card.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from langadapt.atomic import write_json, write_text
from langadapt.corpus.document import Reject


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def template_info(path: str | Path) -> dict[str, str]:
    text = Path(path).read_text(encoding="utf-8")
    return {"name": Path(path).name, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "text": text}


class DataOutputs:
    def __init__(self, out_dir: str | Path, source: str, step: str) -> None:
        self.out_dir = Path(out_dir)
        self.source, self.step = source, step
        self.kept: list[dict[str, Any]] = []
        self.rejects: list[dict[str, Any]] = []
        self.reasons: Counter = Counter()

    def keep(self, record: dict[str, Any]) -> None:
        self.kept.append(record)

    def reject(self, ordinal: int, origin: str, reason: str, detail: str, record: Any) -> None:
        self.rejects.append(Reject(ordinal, self.source, origin, self.step, reason, detail, record).ledger())
        self.reasons[reason] += 1

    def finish(self, provenance: dict[str, Any]) -> dict[str, Any]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        dump = lambda rows: "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)  # noqa: E731
        write_text(self.out_dir / "train.jsonl", dump(self.kept))
        write_text(self.out_dir / "rejects.jsonl", dump(self.rejects))
        counts = {"records_in": len(self.kept) + len(self.rejects), "records_kept": len(self.kept),
                  "records_rejected": len(self.rejects), "rejects_by_reason": dict(sorted(self.reasons.items()))}
        provenance = {**provenance, "counts": counts, "finished": now(),
                      "outputs": {"data": "train.jsonl", "rejects": "rejects.jsonl"}}
        write_json(self.out_dir / "provenance.json", provenance)
        return {"counts": counts, "outputs": {"data": str(self.out_dir / "train.jsonl"),
                                              "rejects": str(self.out_dir / "rejects.jsonl"),
                                              "provenance": str(self.out_dir / "provenance.json")}}
