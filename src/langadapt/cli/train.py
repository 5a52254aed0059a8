"""`langadapt pretrain`, `langadapt sft`, `langadapt plan`: the pipeline's training stages run by hand.

`pretrain` and `sft` turn their flags into a StageContext (`--data` stands in for the clean
stage's corpus or the recipe's SFT datasets, `--model` for the run's newest model) and call the
same stage code as `langadapt run`, so a model trained by hand is trained the same way.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from langadapt.atomic import write_json
from langadapt.cli.common import add_config_flags, add_recipe_args, collect_config_flags
from langadapt.config.load import load_recipe, recipe_from_dict
from langadapt.config.train import PretrainConfig, SftConfig
from langadapt.errors import UserError

_EXAMPLES = {
    "pretrain": "examples:\n  langadapt pretrain --model smollm2-135m-instruct --data runs/x/clean/corpus --out out/pt --method lora --max-steps 50\n"
                "  langadapt pretrain --recipe recipes/demo-zh-tw.yaml pretrain.lora.r=16",
    "sft": "examples:\n  langadapt sft --model out/pt/model --data alpaca.json --out out/sft --epochs 3\n"
           "  langadapt sft --recipe recipes/demo-zh-tw.yaml",
}


def _recipe(args, stage: str):
    overrides = collect_config_flags(args) + list(args.overrides)
    if args.recipe:
        return load_recipe(args.recipe, overrides)
    if not args.model:
        raise UserError(f"{stage}: pass --model (or --recipe)")
    return recipe_from_dict({"name": stage, "base_model": args.model, "languages": ["und"],
                             stage: {"enabled": True}}, "<command line>", overrides)


def _artifacts(recipe) -> dict[str, str]:
    """Outputs of stages already completed in this recipe's run folder."""
    from langadapt.rundir import RunDir  # deferred: see _run

    found = {}
    for stage, manifest in RunDir(recipe.run_path()).manifests().items():
        for name, path in (manifest.get("outputs") or {}).items():
            found[f"{stage}.{name}"] = path
    return found


def _run(args, stage: str) -> int:
    """Build the stage's context from the flags and run the same stage code as `langadapt run`."""
    # deferred: the stage table and run folder code are for running; `langadapt --help` builds every parser
    from langadapt.rundir import RunDir
    from langadapt.stages import StageContext
    from langadapt.stages import stage as stage_spec

    recipe = _recipe(args, stage)
    artifacts = _artifacts(recipe) if args.recipe else {}
    if stage == "pretrain":
        if args.data:
            artifacts["clean.corpus"] = args.data
        if not artifacts.get("clean.corpus"):
            raise UserError("pretrain: pass --data (a .jsonl/.txt/.parquet file or a folder of shards) or a --recipe whose clean stage ran")
    elif args.data:
        datasets = [{"path": str(Path(p).resolve())} for p in args.data.split(",")]
        recipe.sft = SftConfig.model_validate({**recipe.sft.model_dump(), "datasets": datasets})
    ctx = StageContext(recipe, Path(args.out or recipe.run_path() / stage).resolve(), RunDir(recipe.run_path()), artifacts,
                       model=args.model)
    result = stage_spec(stage).run(ctx)
    write_json(ctx.out_dir / "result.json", {"outputs": result.outputs, "metrics": result.metrics.to_dict()})
    m = result.metrics
    print(f"{stage}: {m.global_step} steps, train loss {m.train_loss:.4f}, "
          f"validation loss {m.eval_loss if m.eval_loss is None else round(m.eval_loss, 4)}, "
          f"{m.train_tokens_per_second:.0f} tokens/s, peak memory {m.peak_memory_mb:.0f} MB")
    for name, path in result.outputs.items():
        print(f"  {name}: {path}")
    return 0


def _plan(args) -> int:
    from langadapt.train.plan import format_plan, plan_recipe  # deferred: see _run

    recipe = load_recipe(args.recipe, args.overrides)
    gpu = args.gpu or recipe.hardware.gpu
    if not gpu:
        raise UserError("plan: pass --gpu (e.g. a10-24gb, a100-80gb, h100-80gb) or set hardware.gpu in the recipe")
    report = plan_recipe(recipe, gpu, num_gpus=args.num_gpus or recipe.hardware.num_gpus, tokens=args.tokens,
                         strategy=args.strategy or recipe.hardware.strategy)
    print(json.dumps(report, indent=2) if args.json else format_plan(report))
    return 0


RESUME_VALUES = ("true", "false", "force")


class ResumeAction(argparse.Action):
    """`--resume [true|false|force]`. argparse hands an optional value the next word whatever it is, so
    in `pretrain --resume pretrain.max_steps=9` the override would be read as --resume's value; a
    key=value word there is kept as an override instead (`main` adds it to `overrides`)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if values is not None and values not in RESUME_VALUES:
            if "=" not in values or values.startswith("-"):
                parser.error(f"argument --resume: invalid choice: {values!r} (choose from {', '.join(RESUME_VALUES)})")
            namespace.stray_overrides = [*getattr(namespace, "stray_overrides", []), values]
            values = None
        setattr(namespace, self.dest, self.const if values is None else values)


def register(sub) -> None:
    for stage, model, help_text in (("pretrain", PretrainConfig, "Continual pretraining (full, LoRA, QLoRA, embeddings)."),
                                    ("sft", SftConfig, "Instruction tuning on Alpaca, ShareGPT or messages data.")):
        p = sub.add_parser(stage, help=help_text, description=help_text, epilog=_EXAMPLES[stage],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--model", help="Input model: alias, local folder, GGUF file (default: the recipe's latest model).")
        p.add_argument("--data", help="pretrain: a folder of cleaned shards, or a .jsonl ({text, source}), .txt (a document per "
                       "line; per blank-line block when blank lines separate text) or .parquet file, each optionally "
                       ".gz/.zst/.bz2/.xz; tokenized once into a cached token store. sft: comma-separated JSON/JSONL files.")
        p.add_argument("--out", help=f"Output folder (default: <run_dir>/<name>/{stage}); checkpoints there are resumed.")
        add_recipe_args(p)
        add_config_flags(p, model, stage)
        # `resume` is true/false/force, which the generated flags cannot express; same override key.
        p.add_argument("--resume", dest=f"cfg__{stage}__resume", nargs="?", const="true", default=None,
                       action=ResumeAction, metavar="{true,false,force}",
                       help="Continue from the newest checkpoint in --out (default); `force` also when it was written "
                            "with another schedule, seed or base model (the new settings apply from there).")
        p.add_argument("--no-resume", dest=f"cfg__{stage}__resume", action="store_const", const="false",
                       help="Start from step 0 even when --out holds checkpoints.")
        p.set_defaults(func=lambda a, s=stage: _run(a, s))
    p = sub.add_parser("plan", help="Estimate memory and time per stage for a GPU.",
                       description="Estimate GPU memory and training time of a recipe's pretrain and sft stages.")
    p.add_argument("recipe", help="Recipe YAML file.")
    p.add_argument("overrides", nargs="*", default=[], metavar="key.sub=value")
    p.add_argument("--gpu", help="GPU (default: hardware.gpu), e.g. a10-24gb, l4-24gb, a100-40gb, a100-80gb, h100-80gb, rtx4090-24gb.")
    p.add_argument("--num-gpus", type=int, default=None, help="GPUs (default: hardware.num_gpus).")
    p.add_argument("--strategy", choices=("ddp", "zero2", "zero3", "fsdp"), default=None,
                   help="How GPUs share the work (default: hardware.strategy): ddp replicates; zero2 shards gradients "
                        "and optimizer state; zero3/fsdp shard weights too.")
    p.add_argument("--tokens", type=float, default=None, help="Training tokens per epoch (default: counted from the corpora when cheap, else 1e8).")
    p.add_argument("--json", action="store_true", help="Print the estimate as JSON.")
    p.set_defaults(func=_plan)
