"""Number and table formatting shared by the model card sections (one rule, so tests can rely on it)."""

from __future__ import annotations

from typing import Any, Sequence


def num(value: Any) -> str:
    """Integers with thousands separators; floats to 4 significant digits (2 decimals from 100 up)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e18:
            return f"{int(value):,}"
        if abs(value) >= 100:
            return f"{value:,.2f}"
        return f"{value:.4g}"
    return str(value)


def duration(seconds: float) -> str:
    """`8d 1h 46m 24s`, `30m 19s`, `12.3s`, as the seed cards write durations."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    total = int(round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    while parts and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{v}{u}" for v, u in parts)


def size(nbytes: int) -> str:
    value = float(nbytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{nbytes} B"


def cell(value: Any) -> str:
    text = value if isinstance(value, str) else num(value)
    return text.replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def bullets(items: Sequence[tuple[str, Any]]) -> list[str]:
    return [f"- **{k}:** {v if isinstance(v, str) else num(v)}" for k, v in items if v is not None and v != ""]
