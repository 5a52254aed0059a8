"""`langadapt run RECIPE` and `langadapt demo`."""

from __future__ import annotations

import argparse

from langadapt.cli.common import LazyChoices, add_recipe_args


def _stage_names() -> tuple[str, ...]:
    # deferred: the stage table imports the typed results and the input resolution; only `run`'s values need it
    from langadapt.stages import STAGES

    return STAGES


def register(sub) -> None:
    p = sub.add_parser("run", help="Run a recipe: clean -> tokenizer -> pretrain -> sft -> eval -> export.",
                       description="Run every enabled stage of a recipe in order. Finished stages whose config "
                                   "and inputs are unchanged are skipped; an interrupted training stage resumes from "
                                   "its newest checkpoint unless its config or inputs changed; outputs go to "
                                   "<run_dir>/<name>/<stage>/. Under `accelerate launch` the main process runs the "
                                   "stages that do not train while the others wait; pretrain and sft run on all.")
    add_recipe_args(p, required=True)
    p.add_argument("--dry-run", action="store_true", help="Validate, resolve every input and print the plan; run nothing.")
    stages = LazyChoices(_stage_names)  # read when a value is checked or `run --help` lists them
    p.add_argument("--from", dest="from_stage", choices=stages, metavar="STAGE",
                   help="Re-run this stage and every one after it (%(choices)s).")
    p.add_argument("--only", choices=stages, metavar="STAGE",
                   help="Run just this stage, one of %(choices)s (earlier results are reused).")
    p.set_defaults(func=_run)

    d = sub.add_parser("demo", help="The CPU demo: SmolLM2-135M adapted to Traditional Chinese, with a report.",
                       description="Run recipes/demo-zh-tw.yaml: SmolLM2-135M-Instruct adapted to Traditional Chinese "
                                   "on CPU (clean, extend the tokenizer, LoRA CPT with new embeddings, SFT, eval, export).")
    d.add_argument("--quick", action="store_true", help="A few-minute variant (smaller slices, shorter training) for CI.")
    d.add_argument("--baseline", action="store_true", help="Also run the naive route (plain full fine-tuning with the base tokenizer) for the same minutes.")
    d.add_argument("--run-dir", default="runs", help="Folder for the run's outputs.")
    d.add_argument("overrides", nargs="*", default=[], metavar="key.sub=value", help="Recipe overrides.")
    d.set_defaults(func=_demo)


def _run(args: argparse.Namespace) -> int:
    # deferred: the pipeline pulls rich and the stage table's data code, ~60 ms on every `langadapt --help`
    from langadapt.config.load import load_recipe
    from langadapt.pipeline.procs import is_main_env
    from langadapt.pipeline.report import finish_report
    from langadapt.pipeline.run import run_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    run_recipe(recipe, dry_run=args.dry_run, from_stage=args.from_stage, only=args.only)
    if not args.dry_run and is_main_env():  # under `accelerate launch` one process writes the report
        finish_report(recipe)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from langadapt.pipeline.demo import run_demo  # deferred: keeps `langadapt --help` fast (see _run)

    return run_demo(quick=args.quick, baseline=args.baseline, run_dir=args.run_dir, overrides=args.overrides)
