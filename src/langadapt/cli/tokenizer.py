"""`langadapt tokenizer extend` and `langadapt tokenizer report`: thin layers over langadapt.tokenizer.

`tokenizer extend` turns its flags into a recipe and a StageContext and calls the tokenizer stage's
own `run` (langadapt.tokenizer.stage), the code `langadapt run` runs: `--model` is the context's
`model` (instead of base_model), `--corpus` its `corpus` and `--heldout LANG=PATH` its `heldout`
(instead of the clean stage's corpus and held-out set), `--tokenizer-only` its `tokenizer_only`.
What is the command's alone stays here: `--out` is guarded (never a foreign folder or the input's),
marked as this command's output, and the summary is printed from the stage's metrics.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from langadapt.cli.common import add_config_flags, add_recipe_args, collect_config_flags
from langadapt.config.load import load_recipe, recipe_from_dict
from langadapt.config.tokenizer import TokenizerConfig
from langadapt.errors import UserError
from langadapt.models.extension import EXTENSION_FILE, read_extension

_EXTEND_EXAMPLES = (
    "examples:\n"
    "  langadapt tokenizer extend --model smollm2-135m-instruct --corpus runs/x/clean/corpus --new-tokens 16000 --out out/tok\n"
    "  langadapt tokenizer extend --model smollm2-135m-instruct --corpus poems.jsonl --new-tokens 4000 --init freq-weighted \\\n"
    "      --heldout zh-Hant=heldout.jsonl --out out/tok\n"
    "  langadapt tokenizer extend --model data/llama-vocab/ggml-vocab-llama-spm.gguf --corpus poems.jsonl --out out/tok-llama2\n"
)
_REPORT_EXAMPLES = (
    "examples:\n"
    "  langadapt tokenizer report smollm2-135m-instruct out/tok/model --text zh-Hant=heldout.jsonl --text en=english.txt\n"
)


def register(sub) -> None:
    p = sub.add_parser("tokenizer", help="Extend a tokenizer with target-language pieces and report on it.",
                       description="Extend a tokenizer with target-language pieces and report on it.")
    cmds = p.add_subparsers(dest="tokenizer_command", metavar="COMMAND")
    cmds.required = True

    ext = cmds.add_parser("extend", help="Learn new pieces on a corpus, extend the tokenizer, resize the model.",
                          description="Continue BPE training from the base tokenizer on target-language text: base ids "
                                      "and merges stay as they are, new merges and ids come after them. Saves the resized "
                                      f"model, the extended tokenizer and {EXTENSION_FILE} to --out.",
                          epilog=_EXTEND_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ext.add_argument("--model", help="Base model: alias, local folder, GGUF file or Hub id (default: the recipe's base_model).")
    ext.add_argument("--corpus", nargs="+", help="JSONL/Parquet/text files or folders of shards to learn from.")
    ext.add_argument("--out", help="Output folder (default: <run>/tokenizer); a folder that is not an earlier "
                                   "`tokenizer extend` output is refused unless --overwrite.")
    ext.add_argument("--overwrite", action="store_true",
                     help="Replace --out even when it is not an earlier output of this command (never the input model's folder).")
    ext.add_argument("--tokenizer-only", action="store_const", const=True, default=None,
                     help=f"Write the extended tokenizer and {EXTENSION_FILE} alone, without loading or resizing "
                          "the model (chosen automatically when --model has no weights, e.g. a vocabulary-only GGUF).")
    ext.add_argument("--heldout", action="append", default=[], metavar="LANG=PATH",
                     help="Held-out text to report tokens/char and bits/char on (repeatable).")
    add_config_flags(ext, TokenizerConfig, "tokenizer", skip=("enabled",))
    add_recipe_args(ext)
    ext.set_defaults(func=_extend)

    rep = cmds.add_parser("report", help="Compare tokenizers on held-out text: tokens/char, new pieces used, chart.",
                          epilog=_REPORT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    rep.add_argument("tokenizers", nargs="+", help="Tokenizers or models (alias, folder, GGUF, Hub id); the first is the base.")
    rep.add_argument("--text", action="append", default=[], metavar="LANG=PATH", required=True,
                     help="Held-out text per language: .txt (one document per line), .jsonl or a folder (repeatable).")
    rep.add_argument("--out", default="tokenizer-report", help="Folder for report.json, report.md and the chart.")
    rep.add_argument("--max-chars", type=int, default=200_000, help="Characters read per language.")
    rep.set_defaults(func=_report)


def _lang_paths(items: list[str], flag: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in items:
        lang, sep, path = item.partition("=")
        if not sep or not lang or not path:
            raise UserError(f"{flag} wants LANG=PATH, got {item!r}")
        found.setdefault(lang, []).append(path)
    return found


def _read_texts(items: list[str], flag: str, max_chars: int) -> dict[str, list[str]]:
    from langadapt.tokenizer.texts import iter_texts  # deferred: see _report

    return {lang: list(iter_texts(paths, max_chars=max_chars)) for lang, paths in _lang_paths(items, flag).items()}


def _extend(args) -> int:
    """Build the tokenizer stage's context from the flags and run the same stage code as `langadapt run`."""
    # deferred: the stage table and run folder code are for running; `langadapt --help` builds every parser
    from langadapt.outdir import guard_output, mark_output
    from langadapt.rundir import RunDir
    from langadapt.stages import StageContext
    from langadapt.stages import stage as stage_spec

    overrides = collect_config_flags(args) + list(args.overrides)
    if args.recipe:
        recipe = load_recipe(args.recipe, overrides)
    else:
        if not args.model:
            raise UserError("tokenizer extend: pass --model (or --recipe)")
        recipe = recipe_from_dict({"name": "tokenizer", "base_model": args.model, "languages": ["und"]},
                                  "<command line>", overrides)
    model = args.model or recipe.base_model
    if not args.corpus:
        raise UserError("tokenizer extend: pass --corpus (files or folders of target-language text)")
    heldout = _lang_paths(args.heldout, "--heldout") if args.heldout else None
    out = Path(args.out or recipe.run_path() / "tokenizer")
    guard_output(out, "tokenizer extend", overwrite=args.overwrite, inputs=[model])
    ctx = StageContext(recipe, out, RunDir(recipe.run_path()), model=args.model, corpus=list(args.corpus),
                       heldout=heldout, tokenizer_only=args.tokenizer_only)
    result = stage_spec("tokenizer").run(ctx)
    m = result.metrics
    tokenizer_only = m.extra.get("tokenizer_only") is True
    mark_output(out, "tokenizer extend", tokenizer_only=tokenizer_only)
    print(f"extended {model}: {m.base_vocab_size} -> {m.base_vocab_size + m.added_tokens} tokens "
          f"({m.added_tokens} new, padded to {m.extra['padded_vocab_size']}), learned in {m.extra['learn_seconds']:.1f}s"
          + (" (tokenizer only, no model written)" if tokenizer_only else ""))
    for lang in m.tokens_per_char_before or {}:
        line = f"  {lang}: tokens/char {m.tokens_per_char_before[lang]:.3f} -> {m.tokens_per_char_after[lang]:.3f}"
        if m.bpc_before is not None:
            line += f", bits/char {m.bpc_before[lang]:.3f} -> {m.bpc_after_init[lang]:.3f} (right after extension)"
        print(line)
    print(f"  {'tokenizer' if tokenizer_only else 'model'}: {out / 'model'}\n  report: {result.outputs['markdown']}\n"
          f"  chart: {result.outputs['chart']}")
    return 0


def _report(args) -> int:
    # deferred: the report's scoring code and the tokenizer loading are for running; `--help` builds every parser
    from langadapt.models import load_tokenizer
    from langadapt.tokenizer.report import compare, write_report

    texts = _read_texts(args.text, "--text", args.max_chars)
    tokenizers, first_new = {}, {}
    for ref in args.tokenizers:
        label = Path(ref).name if Path(ref).exists() else ref
        tokenizers[label] = load_tokenizer(ref)
        ext = read_extension(ref)
        if ext:
            first_new[label] = ext["new_token_ids"][0]
    table = compare(tokenizers, texts, first_new)
    outputs = write_report(table, args.out)
    print(Path(outputs["markdown"]).read_text(encoding="utf-8"))
    print(f"chart: {outputs['chart']}")
    return 0
