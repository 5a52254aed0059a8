"""What `langadapt clean merge` checks before it reads a document: the shard set is whole and consistent.

    check_shards([Path("part0"), Path("part1")], [stats0, stats1])   # raises UserError naming the problem

Why before merging: a merge of shards 0, 1 and 3 of 4, of shard 2 twice, or of shards cleaned with
different filters looks like a finished corpus and is not one (a quarter of the input silently
gone, duplicates that cross-shard dedup then hides, documents cleaned by two different rules).
Each shard's stats.json records its `--shard i/N` and the settings it was made with, so the set is
checked against those: indices 0..N-1 each exactly once, one N, one config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from langadapt.errors import UserError

# The settings that decide what a shard keeps; `workers` and timings may differ between jobs.
SAME_KEYS = ("config", "tokenizer", "presets", "steps")


def _parse(folder: Path, shard: Any) -> tuple[int, int] | None:
    if shard is None:
        return None
    try:
        i, n = (int(x) for x in str(shard).split("/"))
    except ValueError:
        raise UserError(f"clean merge: {folder}/stats.json has shard {shard!r}, expected i/N") from None
    return i, n


def check_shards(shard_dirs: Sequence[Path], all_stats: Sequence[dict[str, Any]]) -> None:
    """Raise UserError unless the folders are distinct shards 0..N-1 of one job made with one config."""
    if not shard_dirs:
        raise UserError("clean merge: no shard folders given")
    seen: dict[Path, Path] = {}
    for folder in shard_dirs:
        real = Path(folder).resolve()
        if real in seen:
            raise UserError(f"clean merge: {folder} is given twice (as {seen[real]})")
        seen[real] = Path(folder)
    shards = [_parse(Path(d), s.get("shard")) for d, s in zip(shard_dirs, all_stats)]
    unsharded = [str(d) for d, s in zip(shard_dirs, shards) if s is None]
    if unsharded and len(unsharded) < len(shard_dirs):
        raise UserError(f"clean merge: {', '.join(unsharded)} not made with --shard i/N, the others were: "
                        "merge the shards of one job")
    if not unsharded:
        counts = {n for _, n in shards}
        if len(counts) > 1:
            listing = ", ".join(f"{d} ({i}/{n})" for d, (i, n) in zip(shard_dirs, shards))
            raise UserError(f"clean merge: shards of different splits ({listing}): merge the shards of one job")
        n = counts.pop()
        by_index: dict[int, Path] = {}
        for folder, (i, _) in zip(shard_dirs, shards):
            if i in by_index:
                raise UserError(f"clean merge: shard {i}/{n} given twice ({by_index[i]} and {folder})")
            by_index[i] = Path(folder)
        missing = [f"{i}/{n}" for i in range(n) if i not in by_index]
        if missing:
            raise UserError(f"clean merge: shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing "
                            f"(given {', '.join(f'{i}/{n}' for i in sorted(by_index))}): pass every shard's folder")
    first = all_stats[0]
    for folder, stats in zip(shard_dirs[1:], all_stats[1:]):
        differ = [k for k in SAME_KEYS if stats.get(k) != first.get(k)]
        if differ:
            detail = _first_difference(first.get(differ[0]), stats.get(differ[0]), differ[0])
            raise UserError(f"clean merge: {folder} was made with other settings than {shard_dirs[0]} "
                            f"({', '.join(differ)} differ; {detail}): re-run those shards with one config")


def _first_difference(a: Any, b: Any, path: str) -> str:
    """The first differing setting, as `path: a -> b`."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return _first_difference(a.get(key), b.get(key), f"{path}.{key}")
    return f"{path}: {a!r} -> {b!r}"
