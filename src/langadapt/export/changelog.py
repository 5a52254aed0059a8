"""The dated change log of an exported model: one entry per export, versions as YYYY.MM.DD tags.

    entries = record(load(path), version=None, changes="Continual pretraining on ...")
    save(path, entries)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from langadapt.atomic import write_json

FILENAME = "changelog.json"


def today_version(today: dt.date | None = None) -> str:
    day = today or dt.date.today()
    return f"{day.year}.{day.month:02d}.{day.day:02d}"


def load(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return []
    return [e for e in data if isinstance(e, dict) and "version" in e] if isinstance(data, list) else []


def record(entries: list[dict], version: str | None, changes: str, today: dt.date | None = None) -> list[dict]:
    """Entries with this export added on top; exporting the same version again replaces its entry."""
    day = today or dt.date.today()
    version = version or today_version(day)
    kept = [e for e in entries if e.get("version") != version]
    return [{"date": day.isoformat(), "version": version, "changes": changes}] + kept


def save(path: str | Path, entries: list[dict]) -> None:
    write_json(path, entries)
