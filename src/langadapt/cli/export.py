"""`langadapt export`: merged standalone weights (or the adapter alone) plus a model card.

    langadapt export --run-dir runs/demo-zh-tw --out exports/demo --dtype bf16
    langadapt export --model runs/demo/tokenizer/model --adapter runs/demo/pretrain/adapter --out exports/demo
    langadapt export --adapter my-lora/ --out merged/ --version 2025.01.31 --push-to-hub me/my-model
    langadapt export --run-dir runs/demo-zh-tw --out exports/demo --format gguf --gguf-type q8_0

The export itself is the pipeline export stage's own function (langadapt.export.stage.export):
this command only turns its flags into an ExportJob, since it also runs without a recipe or a run
folder (`--model`/`--adapter` alone), which the stage's StageContext always has.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import ValidationError

from langadapt.cli.common import add_config_flags, add_recipe_args
from langadapt.config.export import ExportConfig
from langadapt.config.load import apply_overrides, load_recipe
from langadapt.errors import UserError

DESCRIPTION = """\
Merge LoRA adapters (new-token rows included) into the weights and save a standalone
safetensors checkpoint with the extended tokenizer, chat template, generation_config.json
and a model card written from the run's manifests. The merged logits are checked against
base+adapter; the export fails if they differ beyond the dtype's tolerance.

--format gguf also writes <out>/<name>-<gguf-type>.gguf (f32, f16, bf16 or q8_0) for llama.cpp,
Ollama and LM Studio, extended tokenizers included: the pre-tokenizer is named from tokenizer.json's
split rules (override with --gguf-pre), then the file is read back with transformers' GGUF loader
and must give the same token ids and close logits.
"""


def register(sub) -> None:
    p = sub.add_parser("export", help="Export merged weights and write the model card.", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_argument_group("what to export")
    src.add_argument("--run-dir", help="A run folder (runs/NAME): exports its newest model and writes the card from its manifests.")
    src.add_argument("--model", help="Model to export, or the base the adapter applies to (alias, folder, GGUF, Hub id).")
    src.add_argument("--adapter", help="PEFT adapter folder to merge (its base comes from adapter_config.json unless --model is given).")
    p.add_argument("--out", required=True, help="Folder to write the export to (replaced as a whole on success); "
                                                "a folder that is not an earlier export is refused unless --overwrite.")
    p.add_argument("--overwrite", action="store_true",
                   help="Replace --out even when it is not an earlier export (never an input's own folder).")
    add_config_flags(p, ExportConfig, "export", skip=("enabled",))
    add_recipe_args(p)
    p.set_defaults(func=main)


def _flag_values(args: argparse.Namespace) -> dict:
    """The export flags that were given, as typed values (no YAML parsing: `--version 1.0` stays a string)."""
    return {key.split("__", 2)[2]: value for key, value in vars(args).items()
            if key.startswith("cfg__export__") and value is not None}


def _config(args: argparse.Namespace, recipe) -> ExportConfig:
    base: dict = {}
    if recipe is not None:
        base = recipe.export.model_dump()
    elif args.overrides:
        for text in args.overrides:
            if not text.startswith("export."):
                raise UserError(f"override {text!r}: without a recipe only export.* settings apply")
        base = apply_overrides({"export": {}}, args.overrides)["export"]
    try:
        return ExportConfig.model_validate({**base, **_flag_values(args)})
    except ValidationError as exc:
        raise UserError("; ".join(f"export.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None


def _recipe(args: argparse.Namespace):
    if args.recipe:
        return load_recipe(args.recipe, args.overrides)
    if args.run_dir and (Path(args.run_dir) / "recipe.yaml").is_file():
        return load_recipe(Path(args.run_dir) / "recipe.yaml", args.overrides)
    return None


def main(args: argparse.Namespace) -> int:
    # deferred: the export stage's code (cards, merge, GGUF) is for running; `langadapt --help` builds every parser
    from langadapt.export.build import ExportJob
    from langadapt.export.stage import CHANGELOG_STORE, export, export_choice, heldout_texts
    from langadapt.outdir import guard_output
    from langadapt.rundir import RunDir
    from langadapt.stages import StageContext

    if not (args.run_dir or args.model or args.adapter):
        raise UserError("give --run-dir, --model or --adapter")
    recipe = _recipe(args)
    cfg = _config(args, recipe)
    if recipe is not None:
        recipe.export = cfg
    manifests, heldout, store, reason, stage = {}, [], None, "", None
    model, adapter = args.model, args.adapter
    if args.run_dir:
        run_dir = RunDir(args.run_dir)
        if not run_dir.root.is_dir():
            raise UserError(f"--run-dir {args.run_dir}: no such folder")
        if recipe is None:
            raise UserError(f"--run-dir {args.run_dir}: no recipe.yaml there; pass --recipe")
        manifests = run_dir.manifests()
        artifacts = {f"{s}.{k}": v for s, m in manifests.items() for k, v in (m.get("outputs") or {}).items()}
        # the run's newest model, chosen as the pipeline's export stage chooses it
        ctx = StageContext(recipe=recipe, out_dir=Path(args.out), run_dir=run_dir, artifacts=artifacts)
        if model is None and adapter is None:
            choice = export_choice(ctx)
            model, adapter, reason, stage = choice.model, choice.adapter, choice.reason, choice.stage
        heldout = heldout_texts(artifacts.get("clean.heldout"), cfg.verify_texts)
        store = run_dir.root / CHANGELOG_STORE
    guard_output(args.out, "export", overwrite=args.overwrite, inputs=[model, adapter, args.run_dir])
    job = ExportJob(out=Path(args.out), model=model, adapter=adapter, config=cfg, recipe=recipe,
                    manifests=manifests, heldout=heldout, changelog_store=store)
    result, record = export(job, reason, stage)
    print(f"exported v{record['version']} to {result.outputs['export']} ({record.get('format')}, card {result.outputs['card']})")
    for what, check in (record.get("verification") or {}).items():
        print(f"  check {what}: max logit difference {check['max_abs_diff']:.3g} "
              f"(relative {check['relative_diff']:.2g}, tolerance {check['tolerance']:g}), top-1 agreement {check['top1_agreement']:.1%}")
    if record.get("gguf"):
        g = record["gguf"]
        check = g.get("verification") or {}
        print(f"  gguf: {g['path']} ({g['gguf_type']}, pre-tokenizer {g['pre_tokenizer'] or 'none (sentencepiece)'}, "
              f"{g['bytes'] / 1e6:.1f} MB)" + (f", read back: same token ids, max logit difference "
                                              f"{check['max_relative_diff']:.3g} of the largest logit" if check else ""))
    if record.get("hub_url"):
        print(f"  pushed: {record['hub_url']}")
    return 0
