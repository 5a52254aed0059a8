"""`langadapt info MODEL`: architecture, parameters, vocabulary, context, chat template, tokens per character."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("info", help="Describe a model: architecture, size, vocabulary, tokens per character.",
                       description="Describe a model (alias, GGUF file, local folder, adapter folder or Hub id).")
    p.add_argument("model", help="Model reference, e.g. smollm2-135m-instruct, ./my-model, x.gguf, meta-llama/Llama-3.2-3B.")
    p.add_argument("--text", action="append", default=[], metavar="LANG=TEXT",
                   help="Measure tokens per character on this text (LANG=@FILE reads a file); repeatable. "
                        "Default: one sentence each of en, zh-Hant, bo, th.")
    p.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    # deferred: model loading code, for running only; `langadapt --help` builds every parser
    from langadapt.models.info import format_info, info_json, model_info, read_text_arg

    texts = dict(read_text_arg(t) for t in args.text) or None
    info = model_info(args.model, texts)
    print(info_json(info) if args.json else format_info(info))
    return 0
