"""`langadapt clean`: normalise, filter and deduplicate text files into a training corpus; `clean merge` joins shard runs.

The flags become a recipe (the INPUTs as its `corpora`, `--language` its languages, the clean flags
and key=value words its `clean` section, or `--recipe` with those on top) and a StageContext, and
the clean stage's own `run` (langadapt.corpus.stage) cleans it: `langadapt clean` and the clean
stage of `langadapt run` are one code path. `--shard i/N` and `--no-progress` travel in the context
(`shard`, `progress`), so a shard is a clean stage run over every N-th record.

`clean merge DIR...` is not a stage run: it reads no corpus and no recipe, only the outputs of the
N `--shard` runs, and joins them (deduplicating across shards) into what one unsharded run writes.
The pipeline never shards, so there is no stage for it to share; it stays langadapt.corpus.merge.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from langadapt.cli.common import add_config_flags, collect_config_flags
from langadapt.config.clean import CleanConfig
from langadapt.config.corpus import CorpusSpec
from langadapt.config.load import apply_overrides, load_recipe, recipe_from_dict
from langadapt.config.recipe import Recipe
from langadapt.errors import UserError

DESCRIPTION = """\
Clean a corpus: normalise, filter, deduplicate, with a rejects ledger that loses nothing.

  langadapt clean poems/*.jsonl --out data/clean --preset zh-Hant --template '{title}\\n{paragraphs}'
  langadapt clean notes.txt --out data/clean --text-mode block --tokenizer smollm2-135m-instruct
  langadapt clean big.jsonl --out part0 --shard 0/4 --workers 2   (then: langadapt clean merge part0 part1 part2 part3 --out data/clean)
  langadapt clean --recipe recipes/demo-zh-tw.yaml --out data/clean   (the recipe's corpora and clean section)

INPUT is a file, folder or glob, optionally named: poems=data/tang.jsonl. Arguments of the form
section.key=value override recipe settings (clean.dedup.threshold=0.9). Writes corpus/ (shards),
heldout.jsonl, rejects.jsonl, stats.json, report.md and length_histogram.png into --out.
"""

_OVERRIDE = re.compile(r"^[A-Za-z_]\w*(\.\w+)+=")
_NAMED = re.compile(r"^([\w.-]+)=(.+)$")


def register(sub) -> None:
    p = sub.add_parser("clean", help="Clean a corpus: normalise, filter, deduplicate, with a rejects ledger.",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("items", nargs="*", metavar="INPUT", help="Input files/folders/globs ([NAME=]PATH) and key.sub=value overrides; `merge DIR...` joins shard outputs.")
    p.add_argument("--out", required=True, help="Output folder.")
    p.add_argument("--recipe", help="Recipe YAML to take the clean section, corpora, languages and tokenizer from.")
    p.add_argument("--shard", help="i/N: clean only records whose position modulo N is i (N independent jobs, then `clean merge`).")
    p.add_argument("--language", help="BCP-47 language of the inputs (picks the preset when --preset is not given).")
    p.add_argument("--no-progress", action="store_true", help="No progress bar.")
    add_config_flags(p, CleanConfig, "clean", skip=("enabled",))
    group = p.add_argument_group("input settings (as a recipe's `corpora` entries)")
    for name in ("format", "text_mode", "text_field", "template", "max_documents"):
        field = CorpusSpec.model_fields[name]
        group.add_argument("--" + name.replace("_", "-"), dest=f"input__{name}", default=None, help=field.description)
    p.set_defaults(func=_run)
    # Inputs and key=value overrides may sit on either side of the flags, as in the examples above.
    _intermixed(p)


def _intermixed(p: argparse.ArgumentParser) -> None:
    """Let the subcommand's parser accept positionals after flags (argparse's intermixed mode)."""
    plain = p.parse_known_args
    state = {"inside": False}

    def parse(args=None, namespace=None):
        if state["inside"]:  # parse_known_intermixed_args calls parse_known_args itself
            return plain(args, namespace)
        state["inside"] = True
        try:
            return argparse.ArgumentParser.parse_known_intermixed_args(p, args, namespace)
        finally:
            state["inside"] = False

    p.parse_known_args = parse  # type: ignore[method-assign]


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    m = re.fullmatch(r"(\d+)/(\d+)", text)
    if not m or int(m.group(2)) < 1 or int(m.group(1)) >= int(m.group(2)):
        raise UserError(f"--shard {text!r}: expected i/N with 0 <= i < N, e.g. 0/4")
    return int(m.group(1)), int(m.group(2))


def _recipe(args: argparse.Namespace, items: list[str]) -> Recipe:
    """The recipe the flags describe: INPUTs as its corpora (else the --recipe's), its clean section with the flags on top."""
    from langadapt.corpus.stage import NO_BASE_MODEL  # deferred: the clean stage's code, see _run

    overrides = [i for i in items if _OVERRIDE.match(i)] + collect_config_flags(args)
    inputs = [i for i in items if not _OVERRIDE.match(i)]
    base = {"name": "clean", "base_model": NO_BASE_MODEL, "languages": [args.language] if args.language else []}
    loaded = load_recipe(args.recipe) if args.recipe else None
    data = loaded.model_dump(mode="json", exclude_unset=False) if loaded else base
    data = apply_overrides(data, overrides)
    try:
        CleanConfig.model_validate(data.get("clean", {}))
    except Exception as exc:
        recipe_from_dict(data, "clean options")  # raises the same error as one clear line per field
        raise UserError(str(exc)) from None
    options = {k[len("input__"):]: v for k, v in vars(args).items() if k.startswith("input__") and v is not None}
    if "max_documents" in options:
        options["max_documents"] = int(options["max_documents"])
    if "template" in options:
        options["template"] = options["template"].replace("\\n", "\n")
    language = args.language or (loaded.languages[0] if loaded and loaded.languages else None)
    specs = []
    for i, item in enumerate(inputs):
        m = _NAMED.match(item)
        name, path = (m.group(1), m.group(2)) if m and not Path(item).exists() else (Path(item.rstrip("/")).stem or f"input{i}", item)
        try:
            specs.append(CorpusSpec(name=name, path=path, language=language, **options))
        except Exception as exc:
            raise UserError(f"input {item!r}: {exc}") from None
    if not specs and loaded is not None:
        specs = list(loaded.corpora)
    if not specs:
        raise UserError("no input: give INPUT files or a --recipe with corpora")
    names = [s.name for s in specs]
    for j, s in enumerate(specs):  # two inputs called the same (a/x.jsonl, b/x.jsonl) get numbered
        if names.count(s.name) > 1:
            specs[j] = s.model_copy(update={"name": f"{s.name}-{j}"})
    if args.language:  # the language of the inputs is the target (else the recipe's languages are)
        data["languages"] = [args.language]
    data["corpora"] = []
    recipe = recipe_from_dict(data, "clean options")
    recipe.corpora = specs
    if loaded is not None and not inputs:
        # The recipe's own corpora resolve against its folder; INPUTs given here, against the working directory.
        recipe._source = loaded.source
    return recipe


def _run(args: argparse.Namespace) -> int:
    # deferred: the clean stage's code pulls numpy, the dedup and the readers; `langadapt --help` builds every parser
    from langadapt.corpus.merge import merge
    from langadapt.corpus.stage import tokenizer_of
    from langadapt.rundir import RunDir
    from langadapt.stages import StageContext
    from langadapt.stages import stage as stage_spec

    items = list(args.items)
    if items and items[0] == "merge":
        dirs = [Path(d) for d in items[1:]]
        if not dirs:
            raise UserError("clean merge: give the shard output folders to merge")
        stats = merge(dirs, Path(args.out), progress=not args.no_progress)
        print(stats["invariant"])
        print(f"merged {len(dirs)} shard outputs into {args.out}")
        return 0 if stats["invariant_ok"] else 1
    recipe = _recipe(args, items)
    if tokenizer_of(recipe) is None and recipe.clean.max_tokens:
        print(f"note: no tokenizer given (--tokenizer or --recipe), so the {recipe.clean.max_tokens}-token cutoff is off")
    ctx = StageContext(recipe, Path(args.out), RunDir(recipe.run_path()), shard=_parse_shard(args.shard),
                       progress=not args.no_progress)
    m = stage_spec("clean").run(ctx).metrics  # prints the invariant line
    rejects = m.rejects_by_reason or {}
    top = ", ".join(f"{r} {n}" for r, n in sorted(rejects.items(), key=lambda x: -x[1])[:6])
    print(f"kept {m.train_documents:,} for training, {m.heldout_documents:,} held out; rejects: {top or 'none'}")
    broken = rejects.get("corrupt_file", 0)
    if broken:  # accounted for in the ledger, but the user must hear that part of an input was unreadable
        print(f"warning: {broken} input file(s) could not be read to the end; see the corrupt_file entries in rejects.jsonl")
    if m.documents_in and not m.documents_kept:
        print("warning: no record was kept; check --format, --text-field or the input itself against rejects.jsonl")
    print(f"wrote {args.out}/ (corpus/, heldout.jsonl, rejects.jsonl, stats.json, report.md)")
    return 0 if m.invariant_ok else 1
