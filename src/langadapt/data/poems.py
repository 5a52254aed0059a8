"""Poem tasks in Traditional Chinese from the chinese-poetry corpus: write the next line, name the author.

    from langadapt.data import poems
    train, heldout = poems.split_poems(poems.load_poems("tang"), heldout_fraction=0.02)
    poems.write_poem_tasks(heldout, "out/poem-tasks")      # next-line.jsonl, author-mc.jsonl, sft.jsonl
    poems.build_tasks("runs/x/clean/heldout.jsonl")         # SFT records (Alpaca) from held-out poems
    poems.next_line_task(limit=100)                         # eval items (held-out Tang poems by default)
    poems.next_line_choice_task(limit=200)                  # the same, as 4-way multiple choice

A poem's place is decided by a hash of its opening line, never by file order, so splits are the same
on every machine and a poem printed twice (even in two editions) lands on the same side. Held-out
poems are cut once more in two halves: SFT tasks come only from the `sft` half and evaluation tasks
only from the `eval` half, so a model is never scored on a poem it was fine-tuned on.
"""

from __future__ import annotations

import hashlib
import json
import random
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from langadapt.atomic import write_text
from langadapt.data.fetch import fetch
from langadapt.errors import UserError

DEFAULT_SALT = "langadapt-poems-v1"
DEFAULT_HELDOUT_FRACTION = 0.02
EVAL_SHARE = 0.5  # share of held-out poems whose tasks are kept for evaluation
NEXT_LINE_INSTRUCTION = "請寫出這首詩的下一句。"
AUTHOR_INSTRUCTION = "這首詩的作者是誰？"
# "anonymous" and "unknown": not an author a reader could name
UNKNOWN_AUTHORS = frozenset({"", "無名氏", "佚名", "不詳", "失名", "闕名", "無名", "未詳"})
MAX_LINE_CHARS = 48  # longer "lines" are prose-like ci paragraphs, poor next-line targets
MAX_AUTHOR_CHARS = 12
MAX_CONTEXT_LINES = 4  # next-line prompts give at most this many opening lines (CPU generation is slow)
MAX_QUESTION_LINES = 8  # author questions quote at most this many lines of a long poem

Half = Literal["sft", "eval", "all"]


def poem_lines(record: dict[str, Any]) -> list[str]:
    """The poem's lines (the corpus's `paragraphs`, usually one couplet each), blanks dropped."""
    return [p.strip() for p in record.get("paragraphs") or [] if p and p.strip()]


def poem_text(record: dict[str, Any]) -> str:
    """`{title}\\n{author}\\n{lines}`: the layout the corpus is trained on."""
    return "\n".join([record.get("title") or "", record.get("author") or "", *poem_lines(record)])


def parse_poem_text(text: str) -> dict[str, Any]:
    """Inverse of poem_text (title, author, then one line per paragraph)."""
    parts = [p.strip() for p in text.strip("\n").split("\n")]
    if len(parts) < 3:
        raise UserError(f"not a poem in `title/author/lines` layout: {text[:60]!r}")
    record = {"title": parts[0], "author": parts[1], "paragraphs": [p for p in parts[2:] if p]}
    record["id"] = "poem-" + poem_key_hash(record)[:16]
    return record


def looks_like_poem(text: str) -> bool:
    """Held-out files mix corpora: a poem_text has a short title and author line, then short lines."""
    parts = [p.strip() for p in text.strip("\n").split("\n")]
    return (len(parts) >= 3 and 0 < len(parts[1]) <= MAX_AUTHOR_CHARS and len(parts[0]) <= 64
            and all(len(p) <= MAX_LINE_CHARS for p in parts[2:]))


def _key(record: dict[str, Any]) -> str:
    """The poem's opening, as the split and de-duplication see it.

    Only the opening: the corpus holds the same poem in several editions that differ by a variant
    character or an extra couplet further on (長安道 / 長安路), under other titles or authors' styles.
    A short opening (ci lines can be four characters) takes the next line too."""
    lines = ["".join(c for c in unicodedata.normalize("NFC", line) if c.isalnum()) for line in poem_lines(record)]
    key = lines[0] if lines else ""
    if len(key) < 10 and len(lines) > 1:
        key += lines[1]
    return key


def poem_key_hash(record: dict[str, Any], salt: str = "") -> str:
    return hashlib.sha256(f"{salt}\x00{_key(record)}".encode("utf-8")).hexdigest()


def _unit(record: dict[str, Any], salt: str) -> float:
    """A number in [0, 1) fixed by the poem's opening and the salt."""
    return int(poem_key_hash(record, salt)[:15], 16) / float(1 << 60)


def poem_id(record: dict[str, Any]) -> str:
    return str(record.get("id") or "poem-" + poem_key_hash(record)[:16])


def split_poems(records: Iterable[dict[str, Any]], heldout_fraction: float = DEFAULT_HELDOUT_FRACTION,
                salt: str = DEFAULT_SALT) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(train, heldout): a poem is held out when the hash of its opening falls below `heldout_fraction`."""
    if not 0 <= heldout_fraction <= 1:
        raise UserError(f"heldout_fraction must be within [0, 1], got {heldout_fraction}")
    train, heldout = [], []
    for rec in records:
        (heldout if _unit(rec, salt) < heldout_fraction else train).append(rec)
    return train, heldout


def task_half(record: dict[str, Any], salt: str = DEFAULT_SALT) -> Literal["sft", "eval"]:
    """Which tasks a held-out poem feeds: fine-tuning (`sft`) or evaluation (`eval`)."""
    return "eval" if _unit(record, salt + ":tasks") < EVAL_SHARE else "sft"


def select_half(records: Iterable[dict[str, Any]], half: Half, salt: str = DEFAULT_SALT) -> list[dict[str, Any]]:
    return [r for r in records if half == "all" or task_half(r, salt) == half]


def _ordered(records: Iterable[dict[str, Any]], salt: str) -> list[dict[str, Any]]:
    """One record per distinct poem (the corpus repeats some under other titles), in hash order:
    the corpus is sorted by author, so a hash order makes any prefix (a `limit`) a fair sample."""
    records = list(records)
    keyed = sorted((poem_key_hash(r, salt + ":order"), poem_id(r), i) for i, r in enumerate(records))
    out, last = [], None
    for key, _, i in keyed:
        if key != last:
            out.append(records[i])
        last = key
    return out


def next_line_items(records: Iterable[dict[str, Any]], salt: str = DEFAULT_SALT) -> list[dict[str, Any]]:
    """One next-line task per poem of 2+ lines: title, author and the first k lines in, line k+1 out
    (k <= MAX_CONTEXT_LINES, picked by the poem's hash)."""
    items = []
    for rec in _ordered(records, salt):
        lines = poem_lines(rec)
        if len(lines) < 2 or any(len(line) > MAX_LINE_CHARS for line in lines):
            continue
        rng = random.Random(poem_key_hash(rec, salt + ":next-line"))
        k = rng.randrange(1, min(len(lines) - 1, MAX_CONTEXT_LINES) + 1)
        prompt = "\n".join([rec.get("title") or "", rec.get("author") or "", *lines[:k]])
        items.append({
            "id": f"next-line-{poem_id(rec)}-{k}", "poem_id": poem_id(rec), "task_type": "next-line",
            "language": "zh-Hant", "instruction": NEXT_LINE_INSTRUCTION, "input": prompt,
            "output": lines[k], "reference": lines[k],
        })
    return items


def author_mc_items(records: Iterable[dict[str, Any]], salt: str = DEFAULT_SALT, n_choices: int = 4,
                    author_pool: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Name-the-author questions: the true author plus distractors drawn (by the poem's hash) from the
    authors of the other poems (or `author_pool`); poems by unknown authors are skipped."""
    records = list(records)
    pool = sorted({a for a in (author_pool if author_pool is not None else (r.get("author") for r in records))
                   if a and a not in UNKNOWN_AUTHORS})
    if len(pool) < n_choices:
        return []
    items = []
    for rec in _ordered(records, salt):
        author = rec.get("author") or ""
        lines = poem_lines(rec)
        if author in UNKNOWN_AUTHORS or not lines:
            continue
        rng = random.Random(poem_key_hash(rec, salt + ":author-mc"))
        others = [a for a in pool if a != author]
        choices = rng.sample(others, n_choices - 1) + [author]
        rng.shuffle(choices)
        body = "\n".join([rec.get("title") or "", *lines[:MAX_QUESTION_LINES]])
        items.append({
            "id": f"author-mc-{poem_id(rec)}", "poem_id": poem_id(rec), "task_type": "author-mc",
            "language": "zh-Hant", "question": f"{AUTHOR_INSTRUCTION}\n{body}", "choices": choices,
            "answer": choices.index(author), "instruction": AUTHOR_INSTRUCTION, "input": body, "output": author,
        })
    return items


def next_line_mc_items(records: Iterable[dict[str, Any]], salt: str = DEFAULT_SALT, n_choices: int = 4,
                       line_pool: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Pick-the-next-line questions: the next-line prompt, the true line and distractor lines of exactly
    the same length from other poems (`line_pool`, default: the lines of `records`), so neither length nor
    the shape of the punctuation gives the answer away; only knowing how such poems go does."""
    records = list(records)
    pool_lines = line_pool if line_pool is not None else (line for r in records for line in poem_lines(r))
    by_length: dict[int, list[str]] = {}
    for line in sorted(set(pool_lines)):
        by_length.setdefault(len(line), []).append(line)
    by_id = {poem_id(r): r for r in records}
    items = []
    for item in next_line_items(records, salt):
        answer = item["reference"]
        own = set(poem_lines(by_id[item["poem_id"]]))
        others = [line for line in by_length.get(len(answer), []) if line not in own]
        if len(others) < n_choices - 1:
            continue
        rng = random.Random(poem_key_hash({"paragraphs": [item["input"]]}, salt + ":next-line-mc"))
        choices = rng.sample(others, n_choices - 1) + [answer]
        rng.shuffle(choices)
        items.append({
            "id": item["id"].replace("next-line-", "next-line-mc-", 1), "poem_id": item["poem_id"],
            "task_type": "next-line-mc", "language": "zh-Hant",
            "question": f"{NEXT_LINE_INSTRUCTION}\n{item['input']}", "choices": choices,
            "answer": choices.index(answer),
        })
    return items


def to_alpaca(item: dict[str, Any]) -> dict[str, Any]:
    """The SFT view of a task item: {instruction, input, output, task_type}."""
    return {k: item[k] for k in ("instruction", "input", "output", "task_type", "id")}


def _interleave(*lists: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i in range(max((len(x) for x in lists), default=0)):
        out.extend(x[i] for x in lists if i < len(x))
    return out


def load_poems(collection: str = "tang", limit: int | None = None) -> list[dict[str, Any]]:
    """Records of one fetched collection (tang, song, songci); fetches chinese-poetry on first use."""
    path = fetch("chinese-poetry") / f"{collection}.jsonl"
    if not path.is_file():
        raise UserError(f"chinese-poetry has no collection {collection!r} (looked for {path.name})")
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if limit is not None and len(out) >= limit:
                break
            if line.strip():
                out.append(json.loads(line))
    return out


def read_poems(path: str | Path) -> list[dict[str, Any]]:
    """Poems from a JSONL file of corpus records (`paragraphs`) or of documents whose `text` is a poem_text."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"poem file not found: {path}")
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            if "paragraphs" in rec:
                out.append(rec)
            elif isinstance(rec.get("text"), str) and looks_like_poem(rec["text"]):
                out.append(parse_poem_text(rec["text"]))
    if not out:
        raise UserError(f"{path} holds no poems (records need `paragraphs`, or `text` as title/author/lines)")
    return out


@lru_cache(maxsize=1)
def default_heldout() -> tuple[dict[str, Any], ...]:
    """Held-out poems of the fetched Tang collection (the default split), read once per process."""
    return tuple(split_poems(load_poems("tang"), DEFAULT_HELDOUT_FRACTION)[1])


def _heldout_poems(heldout: str | Path | Sequence[dict[str, Any]] | None) -> list[dict[str, Any]]:
    if heldout is None:
        return list(default_heldout())
    if isinstance(heldout, (str, Path)):
        return read_poems(heldout)
    return list(heldout)


TASK_TYPES = ("next-line", "author-mc")


def build_tasks(heldout: str | Path | Sequence[dict[str, Any]], seed: int = 0, limit: int | None = None,
                tasks: Sequence[str] = TASK_TYPES) -> list[dict[str, Any]]:
    """SFT records (Alpaca) from the `sft` half of held-out poems: next-line and author questions, interleaved
    (`tasks` keeps only some of them)."""
    unknown = sorted(set(tasks) - set(TASK_TYPES))
    if unknown or not tasks:
        raise UserError(f"unknown poem task {unknown or tasks} (known: {', '.join(TASK_TYPES)})")
    poems = _heldout_poems(heldout)
    salt = f"{DEFAULT_SALT}:{seed}"
    half = select_half(poems, "sft")
    authors = [p.get("author") or "" for p in poems]
    items = _interleave(next_line_items(half, salt) if "next-line" in tasks else [],
                        author_mc_items(half, salt, author_pool=authors) if "author-mc" in tasks else [])
    return [to_alpaca(it) for it in items[:limit]]


def next_line_task(limit: int | None = None, heldout: str | Path | Sequence[dict[str, Any]] | None = None,
                   seed: int = 0) -> list[dict[str, Any]]:
    """Evaluation items (instruction, input, reference) from the `eval` half of held-out poems
    (held-out Tang poems of the fetched corpus when `heldout` is not given)."""
    poems = select_half(_heldout_poems(heldout), "eval")
    return next_line_items(poems, f"{DEFAULT_SALT}:{seed}")[:limit]


def author_choice_task(limit: int | None = None, heldout: str | Path | Sequence[dict[str, Any]] | None = None,
                       seed: int = 0, n_choices: int = 4) -> list[dict[str, Any]]:
    """Evaluation items (question, choices, answer index) from the `eval` half of held-out poems."""
    poems = _heldout_poems(heldout)
    authors = [p.get("author") or "" for p in poems]
    return author_mc_items(select_half(poems, "eval"), f"{DEFAULT_SALT}:{seed}", n_choices, authors)[:limit]


def next_line_choice_task(limit: int | None = None, heldout: str | Path | Sequence[dict[str, Any]] | None = None,
                          seed: int = 0, n_choices: int = 4) -> list[dict[str, Any]]:
    """Pick-the-next-line items from the `eval` half of held-out poems; distractors from all held-out poems."""
    poems = _heldout_poems(heldout)
    pool = [line for p in poems for line in poem_lines(p)]
    return next_line_mc_items(select_half(poems, "eval"), f"{DEFAULT_SALT}:{seed}", n_choices, pool)[:limit]


def _write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    rows = list(rows)
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return len(rows)


def write_poem_tasks(records: Iterable[dict[str, Any]], out_dir: str | Path, half: Half = "all",
                     seed: int = 0, limit: int | None = None, n_choices: int = 4) -> dict[str, Any]:
    """Write next-line.jsonl and author-mc.jsonl (eval items) and sft.jsonl (Alpaca) for `records`.

    `half` keeps only the poems of that half of the held-out split ("all" keeps every poem given);
    `limit` caps each task. Returns {file name: count}.
    """
    out = Path(out_dir)
    records = list(records)
    salt = f"{DEFAULT_SALT}:{seed}"
    chosen = select_half(records, half)
    authors = [r.get("author") or "" for r in records]
    nl = next_line_items(chosen, salt)[:limit]
    mc = author_mc_items(chosen, salt, n_choices, authors)[:limit]
    counts = {
        "next-line.jsonl": _write_jsonl(out / "next-line.jsonl", nl),
        "author-mc.jsonl": _write_jsonl(out / "author-mc.jsonl", mc),
        "sft.jsonl": _write_jsonl(out / "sft.jsonl", (to_alpaca(it) for it in _interleave(nl, mc))),
    }
    return {"out_dir": str(out), "poems": len(chosen), "files": counts}
