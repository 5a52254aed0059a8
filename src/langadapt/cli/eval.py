"""`langadapt eval`: score one or more models side by side.

    langadapt eval --model smollm2-135m-instruct --tasks udhr-bpc
    langadapt eval --model base=smollm2-135m-instruct --model cpt=runs/x/pretrain/model \\
        --tasks udhr-bpc,udhr-translate --languages en,zh-Hant,bo --out runs/x/eval-manual

The flags become a StageContext whose models are the ones given, run through the eval stage's own
code (langadapt.eval.stage), so a hand-run evaluation scores exactly as `langadapt run` does.
"""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from langadapt.cli.common import add_config_flags, add_recipe_args, collect_config_flags
from langadapt.config.evaluation import EvalConfig
from langadapt.config.load import load_recipe, recipe_from_dict
from langadapt.errors import UserError
from langadapt.eval import tasks as eval_tasks

# The task list is the registry's (langadapt.eval.tasks), so the help names exactly what --tasks accepts.
DESCRIPTION = """\
Evaluate models on the same texts and tasks and print them side by side.

Bits per character (and per UTF-8 byte) is the language-modelling score that stays comparable
when the tokenizer changes; per-token perplexity is shown beside it but is not comparable
across tokenizers.
""" + textwrap.fill(f"Tasks: {', '.join(eval_tasks.names())}; or pass task files (.jsonl/.yaml).", 96) + "\n"


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def register(sub) -> None:
    p = sub.add_parser("eval", help="Evaluate models: bits per character, task scores, multiple choice, LLM judge.",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", default=[], metavar="[LABEL=]MODEL",
                   help="Model to evaluate (alias, folder, GGUF, adapter or Hub id); repeat to compare. "
                        "Default: the recipe's base model.")
    p.add_argument("--label", action="append", default=[], help="Column label for each --model, in order.")
    p.add_argument("--tasks", action="append", help="Comma-separated tasks (built-in names or task files).")
    p.add_argument("--languages", action="append", help="Comma-separated languages for UDHR tasks, e.g. en,zh-Hant,bo.")
    p.add_argument("--heldout", help="Held-out JSONL {text, language[, source]} for the heldout-bpc task (scored per source).")
    p.add_argument("--out", default="eval-results", help="Folder for results.json, results.md and results.png.")
    p.add_argument("--judge-url", help="OpenAI-compatible base URL of a judge model (enables pairwise judging).")
    p.add_argument("--judge-model", help="Judge model name at --judge-url.")
    p.add_argument("--max-new-tokens", type=int, help="Most tokens generated per answer in generation tasks.")
    p.add_argument("--human", metavar="FILE", help="Human choices from `langadapt webui --judge`: with --judge-results, "
                                                   "print the human vs LLM-judge agreement table instead of evaluating.")
    p.add_argument("--judge-results", metavar="FILE", help="results.json of an eval run with the LLM judge (for --human).")
    add_recipe_args(p)
    add_config_flags(p, EvalConfig, "eval", skip=("enabled", "languages", "tasks", "compare"))
    p.set_defaults(func=main)


def _models(args: argparse.Namespace, default: str | None) -> dict[str, str]:
    refs = args.model or ([default] if default else [])
    if not refs:
        raise UserError("no model to evaluate: pass --model (or a --recipe with base_model)")
    if args.label and len(args.label) != len(refs):
        raise UserError(f"{len(args.label)} --label for {len(refs)} --model; give one label per model or none")
    models: dict[str, str] = {}
    for i, ref in enumerate(refs):
        label, _, path = ref.partition("=") if "=" in ref and not Path(ref).exists() else ("", "", ref)
        label = args.label[i] if args.label else (label or Path(path).name or path)
        if label in models:
            label = f"{label}-{i + 1}"
        models[label] = path
    return models


def main(args: argparse.Namespace) -> int:
    # deferred: the stage table and run folder code are for running; `langadapt --help` builds every parser
    from langadapt.rundir import RunDir
    from langadapt.stages import StageContext
    from langadapt.stages import stage as stage_spec

    if args.human or args.judge_results:
        return _agreement(args)

    overrides = list(args.overrides) + collect_config_flags(args)
    if args.tasks:
        overrides.append(f"eval.tasks=[{', '.join(repr(t) for t in _split(args.tasks))}]")
    if args.languages:
        overrides.append(f"eval.languages=[{', '.join(_split(args.languages))}]")
    if args.judge_url:
        overrides.append(f"eval.judge.base_url={args.judge_url}")
    if args.judge_model:
        overrides.append(f"eval.judge.model={args.judge_model}")
    if args.max_new_tokens:
        overrides.append(f"eval.generation.max_new_tokens={args.max_new_tokens}")
    if args.recipe:
        recipe = load_recipe(args.recipe, overrides)
    else:
        base = args.model[0].split("=", 1)[-1] if args.model else "none"
        recipe = recipe_from_dict({"name": "eval", "base_model": base, "languages": ["en"]}, "<command line>", overrides)
    if args.recipe and recipe.eval.languages is None:
        # As in the pipeline: the recipe's target languages plus the base language, to see forgetting.
        recipe.eval = recipe.eval.model_copy(update={"languages": list(dict.fromkeys([*recipe.languages, recipe.base_language]))})
    models = _models(args, recipe.base_model if args.recipe else None)
    ctx = StageContext(recipe, Path(args.out), RunDir(recipe.run_path()),
                       {"clean.heldout": args.heldout} if args.heldout else {}, models=models)
    result = stage_spec("eval").run(ctx)
    print(Path(result.outputs["table"]).read_text(encoding="utf-8"))
    for name, path in result.outputs.items():
        print(f"{name}: {path}")
    return 0


def _agreement(args: argparse.Namespace) -> int:
    if not (args.human and args.judge_results):
        raise UserError("--human and --judge-results go together: the people's choices and the judge's verdicts")
    from langadapt.eval.agreement import agreement_report  # deferred: see main

    _, text = agreement_report(args.human, args.judge_results, args.out)
    print(text, end="")
    print(f"table: {Path(args.out) / 'agreement.md'}")
    return 0
