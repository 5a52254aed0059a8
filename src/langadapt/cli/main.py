"""`langadapt`: one entry point; each subcommand is a thin layer over a plain library function."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from langadapt import __version__
from langadapt.cli.common import run_guarded

# Each module has `register(subparsers)`; order is the order of `langadapt --help`.
COMMAND_MODULES = ("run", "recipes", "clean", "tokenizer", "train", "eval", "export", "serve", "data", "info")

DESCRIPTION = """\
Adapt a pretrained LLM to a new language or domain, end to end.

  langadapt run recipes/demo-zh-tw.yaml     the whole pipeline from one recipe
  langadapt demo [--quick]                  SmolLM2-135M -> Traditional Chinese on CPU

Each stage also runs alone: clean, tokenizer, pretrain, sft, eval, export, and the
result can be used with chat, serve (OpenAI-compatible API) and webui.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="langadapt", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"langadapt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"langadapt.cli.{name}").register(sub)
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    args, extra = parser.parse_known_args(argv)
    # key=value words an optional flag value took (`--resume a.b=1`, cli/train.py) are overrides
    extra = [*vars(args).pop("stray_overrides", []), *extra]
    # `run recipe.yaml --only sft a.b=1`: argparse has already closed the overrides list when the
    # flag comes between the recipe and the overrides, so key=value words left over join it.
    if extra and isinstance(getattr(args, "overrides", None), list) and all(
            "=" in word and not word.startswith("-") for word in extra):
        args.overrides = [*args.overrides, *extra]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parse_args(parser, argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    return run_guarded(args.func, args)


if __name__ == "__main__":
    sys.exit(main())
