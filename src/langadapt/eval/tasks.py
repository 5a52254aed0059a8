"""Evaluation tasks as data: built-in tasks from fetched corpora, and task files (YAML or JSONL).

    from langadapt.eval.tasks import load_task, TaskOptions
    task = load_task("udhr-bpc", TaskOptions(languages=["en", "zh-Hant", "bo"]))
    task = load_task("my-tasks.jsonl", TaskOptions())

A task is data: texts or records and the name of its kind. How a kind is scored and reported is
the kind's own (`langadapt.eval.kinds`); the shipped kinds read these records:
- `bpc`: texts per language, scored in bits per character.
- `generation`: records {instruction, input, reference, task_type[, language]}; ROUGE-L and chrF.
- `multiple_choice`: records {question, choices, answer} (answer: index, letter or the choice's
  text); the `{question, A, B, C, D, answer: "B"}` layout of common exam benchmarks works as is.
A task file's kind is read from its records' fields; a YAML file may also be a mapping
`{name, kind, task_type, items: [...]}`.

Named tasks are a registry (`names()`, `register_task`): the built-ins below, and the tasks a kind
registered with `kinds.register` brings. The eval config accepts these names and task files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from langadapt import languages
from langadapt.errors import UserError

# The name of a registered task kind (`langadapt.eval.kinds`): bpc, generation, multiple_choice, ...
Kind = str


@dataclass
class TaskOptions:
    languages: list[str] | None = None
    """Languages for UDHR tasks (default: the registry's, `languages.udhr_defaults()`); `en` is the translation source."""
    heldout: str | None = None
    """JSONL of held-out documents {text, language} (the clean stage's `heldout` artifact)."""
    max_chars: int = 20_000
    max_examples: int = 100
    skip_missing_languages: bool = False
    """Leave out languages the UDHR lacks instead of failing (the pipeline's default languages)."""


@dataclass
class Task:
    name: str
    kind: Kind
    texts: dict[str, list[str]] = field(default_factory=dict)
    """bpc: language -> documents."""
    items: list[dict[str, Any]] = field(default_factory=list)
    """generation / multiple_choice records, normalised."""
    source: str = ""
    groups: dict[str, str] = field(default_factory=dict)
    """bpc tasks whose `texts` are keyed by source corpus (heldout-bpc): source -> its language."""


def language_name(tag: str) -> str:
    return languages.name_of(tag)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _cap_chars(texts: list[str], max_chars: int) -> list[str]:
    out, used = [], 0
    for text in texts:
        if used >= max_chars:
            break
        out.append(text[: max_chars - used])
        used += len(out[-1])
    return out


def _udhr_path(lang: str) -> Path:
    # deferred: the eval config reads this registry's names, so the data code stays off every recipe read
    from langadapt.data.fetch import fetch

    return fetch("udhr") / f"{languages.udhr_file(lang)}.jsonl"


def _udhr_articles(lang: str) -> list[dict[str, Any]]:
    path = _udhr_path(lang)
    if not path.is_file():
        raise UserError(f"no UDHR translation for language {lang!r} (looked for {path})")
    return sorted(_read_jsonl(path), key=lambda r: r["article"])


def _udhr_languages(opts: TaskOptions) -> list[str]:
    langs = opts.languages or languages.udhr_defaults()
    if opts.skip_missing_languages:
        langs = [lang for lang in langs if _udhr_path(lang).is_file()]
    return langs


def udhr_bpc(opts: TaskOptions) -> Task:
    """The same UDHR articles in every language, so bits per character compare like with like.

    Articles 1..30 in order, then the long preamble, for as long as no language passes `max_chars`.
    """
    langs = _udhr_languages(opts)
    by_lang = {lang: {r["article"]: r["text"] for r in _udhr_articles(lang)} for lang in langs}
    common = sorted(set.intersection(*(set(a) for a in by_lang.values())) if by_lang else set(),
                    key=lambda a: (a == 0, a))
    chosen, used = [], dict.fromkeys(langs, 0)
    for article in common:
        if chosen and any(used[lang] + len(by_lang[lang][article]) > opts.max_chars for lang in langs):
            break
        chosen.append(article)
        for lang in langs:
            used[lang] += len(by_lang[lang][article])
    texts = {lang: _cap_chars([by_lang[lang][a] for a in chosen], opts.max_chars) for lang in langs}
    return Task("udhr-bpc", "bpc", texts=texts, source=f"udhr ({len(chosen)} articles, the same in every language)")


def udhr_translate(opts: TaskOptions) -> Task:
    targets = [lang for lang in _udhr_languages(opts) if lang != "en"]
    english = {r["article"]: r["text"] for r in _udhr_articles("en")}
    items = []
    for lang in targets:
        # Articles 1..30 first: they are short; the long preamble would dominate generation time.
        pairs = [(r["article"], r["text"]) for r in _udhr_articles(lang) if r["article"] in english]
        pairs.sort(key=lambda p: (p[0] == 0, p[0]))
        per_lang = max(1, opts.max_examples // max(1, len(targets)))
        for article, text in pairs[:per_lang]:
            items.append({
                "instruction": f"Translate the following text from English to {language_name(lang)}.",
                "input": english[article], "reference": text, "task_type": f"translate en-{lang}",
                "language": lang, "id": f"udhr-{lang}-{article}",
            })
    return Task("udhr-translate", "generation", items=items, source="udhr")


# Pieces shorter than this carry too little context to score fairly; many short records are
# sampled instead of cutting every one of them to a sliver.
MIN_SAMPLE_CHARS = 400


def _spread_order(n: int) -> list[int]:
    """Indices 0..n-1 in van der Corput order: every prefix is spread evenly over the range."""
    order, seen, j = [], set(), 0
    while len(order) < n:
        x, denom, k = 0.0, 1.0, j
        while k:
            denom *= 2
            x += (k & 1) / denom
            k >>= 1
        idx = int(x * n)
        if idx not in seen:
            seen.add(idx)
            order.append(idx)
        j += 1
        if j > 4 * n + 64:  # float collisions on huge n: fill the rest in order
            order += [i for i in range(n) if i not in seen]
    return order


def sample_evenly(texts: list[str], max_chars: int, min_chars: int = MIN_SAMPLE_CHARS) -> list[str]:
    """About `max_chars` characters drawn evenly from all of `texts`, in their order; deterministic.

    Every record gets the same share (its opening, up to a level where the shares fill `max_chars`;
    short records give their rest to the others). When that share would fall under `min_chars`,
    records spread evenly over the list are taken whole up to `min_chars` each instead.
    """
    texts = [t for t in texts if t]
    if sum(map(len, texts)) <= max_chars:
        return texts
    lengths = sorted(map(len, texts))
    level, left, remaining = 0, max_chars, len(lengths)
    for length in lengths:  # water-filling: the share at which min(len, share) sums to max_chars
        if length * remaining >= left:
            level = left // remaining
            break
        left -= length
        remaining -= 1
    if level >= min_chars:
        out, used = [], 0
        for text in texts:
            out.append(text[: min(level, max_chars - used)])
            used += len(out[-1])
        return [t for t in out if t]
    chosen, used = {}, 0
    for idx in _spread_order(len(texts)):
        if used >= max_chars:
            break
        chosen[idx] = texts[idx][: min(min_chars, max_chars - used)]
        used += len(chosen[idx])
    return [chosen[i] for i in sorted(chosen)]


def heldout_bpc(opts: TaskOptions) -> Task:
    """Held-out text per source corpus: up to `max_chars` characters sampled evenly from each source.

    Records name their corpus in `source` (the clean stage writes it); files without it are grouped
    by `language`. A mix is never scored as one text: a big source would hide the others.
    """
    if not opts.heldout:
        raise UserError("task heldout-bpc needs held-out text: pass --heldout FILE.jsonl (records with text and language)")
    path = Path(opts.heldout)
    if not path.is_file():
        raise UserError(f"held-out file not found: {path}")
    by_group: dict[str, list[str]] = {}
    groups: dict[str, str] = {}
    for rec in _read_jsonl(path):
        lang = rec.get("language") or rec.get("lang") or "und"
        group = rec.get("source") or lang
        if groups.setdefault(group, lang) != lang:
            raise UserError(f"held-out source {group!r} in {path} mixes languages {groups[group]!r} and {lang!r}")
        by_group.setdefault(group, []).append(rec["text"])
    if opts.languages:
        by_group = {k: v for k, v in by_group.items() if groups[k] in opts.languages}
    texts = {k: sample_evenly(v, opts.max_chars) for k, v in by_group.items()}
    return Task("heldout-bpc", "bpc", texts=texts, source=str(path), groups={k: groups[k] for k in texts})


def _poem_task(name: str, kind: Kind, builder: str) -> Callable[[TaskOptions], Task]:
    def build(opts: TaskOptions) -> Task:
        from langadapt.data import poems  # deferred: see _udhr_path

        make = getattr(poems, builder)
        records, source = None, "chinese-poetry (held-out Tang poems)"
        if opts.heldout:
            # The run's own held-out split, when it holds poems; otherwise the corpus's default split.
            try:
                records, source = make(limit=opts.max_examples, heldout=opts.heldout), f"poems in {opts.heldout}"
            except UserError:
                records = None
        if not records:
            records = make(limit=opts.max_examples)
        return Task(name, kind, items=[normalise_item(r, kind) for r in records], source=source)

    return build


def doc_qa(opts: TaskOptions) -> Task:
    """Held-out pages of the zh-tw-help and zh-tw-man sources: heading or NAME line -> short answer."""
    from langadapt.data import doc_tasks  # deferred: HTML parsing, tqdm and apt tooling; see _udhr_path

    items = doc_tasks.qa_task(limit=opts.max_examples)
    return Task("zh-tw-doc-qa", "generation", items=[normalise_item(r, "generation") for r in items],
                source="zh-tw-help + zh-tw-man (eval-side pages, split by page)")


_TASKS: dict[str, Callable[[TaskOptions], Task]] = {}


def register_task(name: str, build: Callable[[TaskOptions], Task]) -> None:
    if name in _TASKS:
        raise ValueError(f"task {name!r} is already registered")
    _TASKS[name] = build


def unregister_task(name: str) -> None:
    _TASKS.pop(name, None)


def names() -> list[str]:
    """Named tasks, in registration order: what `eval.tasks` accepts besides task files."""
    return list(_TASKS)


for _name, _build in (
    ("udhr-bpc", udhr_bpc),
    ("udhr-translate", udhr_translate),
    ("heldout-bpc", heldout_bpc),
    ("poem-next-line", _poem_task("poem-next-line", "generation", "next_line_task")),
    ("poem-next-line-mc", _poem_task("poem-next-line-mc", "multiple_choice", "next_line_choice_task")),
    ("poem-author-mc", _poem_task("poem-author-mc", "multiple_choice", "author_choice_task")),
    ("zh-tw-doc-qa", doc_qa),
):
    register_task(_name, _build)


def _answer_index(rec: dict[str, Any], choices: list[str]) -> int:
    answer = rec.get("answer")
    if isinstance(answer, bool) or answer is None:
        raise UserError(f"multiple-choice record without a usable answer: {rec}")
    if isinstance(answer, int):
        idx = answer
    elif isinstance(answer, str) and answer.strip() in choices:
        idx = choices.index(answer.strip())
    elif isinstance(answer, str) and len(answer.strip()) == 1 and answer.strip().upper().isalpha():
        idx = ord(answer.strip().upper()) - ord("A")
    elif isinstance(answer, str) and answer.strip().isdigit():
        idx = int(answer.strip())
    else:
        raise UserError(f"cannot read answer {answer!r}: use an index, a letter or the choice's text")
    if not 0 <= idx < len(choices):
        raise UserError(f"answer {answer!r} is out of range for {len(choices)} choices")
    return idx


def normalise_item(rec: dict[str, Any], kind: Kind, task_type: str | None = None) -> dict[str, Any]:
    if kind == "multiple_choice":
        choices = rec.get("choices")
        if choices is None:
            choices = [rec[k] for k in "ABCDEFGH" if k in rec]
        choices = [str(c) for c in choices]
        if len(choices) < 2:
            raise UserError(f"multiple-choice record needs at least two choices: {rec}")
        return {"question": str(rec["question"]), "choices": choices, "answer": _answer_index(rec, choices),
                **{k: rec[k] for k in ("id", "language", "task_type") if k in rec}}
    if kind == "generation":
        if "reference" not in rec:
            raise UserError(f"generation record needs a reference: {rec}")
        return {"instruction": str(rec.get("instruction", "")), "input": str(rec.get("input", "") or ""),
                "reference": rec["reference"], "task_type": rec.get("task_type") or task_type or "default",
                **{k: rec[k] for k in ("id", "language") if k in rec}}
    return rec


def _kind_of(rec: dict[str, Any]) -> Kind:
    if "choices" in rec or ("question" in rec and "A" in rec):
        return "multiple_choice"
    if "reference" in rec:
        return "generation"
    if "text" in rec:
        return "bpc"
    raise UserError(f"cannot tell the task kind of record with fields {sorted(rec)}")


def load_task_file(path: Path, opts: TaskOptions) -> Task:
    meta: dict[str, Any] = {}
    if path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            meta, records = data, data.get("items") or []
        else:
            records = data or []
    elif path.suffix == ".jsonl":
        records = _read_jsonl(path)
    else:
        raise UserError(f"task file {path} must be .jsonl, .yaml or .yml")
    if not records:
        raise UserError(f"task file {path} has no items")
    kind: Kind = meta.get("kind") or _kind_of(records[0])
    name = meta.get("name") or path.stem
    if kind == "bpc":
        texts: dict[str, list[str]] = {}
        for rec in records:
            texts.setdefault(rec.get("language") or rec.get("lang") or "und", []).append(rec["text"])
        return Task(name, "bpc", texts={k: _cap_chars(v, opts.max_chars) for k, v in texts.items()}, source=str(path))
    items = [normalise_item(r, kind, meta.get("task_type")) for r in records[: opts.max_examples]]
    return Task(name, kind, items=items, source=str(path))


def load_task(name: str, opts: TaskOptions) -> Task:
    """A registered task by name, or a task file by path."""
    if name in _TASKS:
        return _TASKS[name](opts)
    path = Path(name).expanduser()
    if path.is_file():
        return load_task_file(path, opts)
    raise UserError(f"unknown task {name!r}: not a built-in ({', '.join(_TASKS)}) and no such file")
