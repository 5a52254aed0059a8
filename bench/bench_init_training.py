"""New-embedding init methods compared right after extension and after one and the same CPT budget.

    .venv/bin/python bench/bench_init_training.py                       # mean, random, freq-weighted, focus, calibrated
    .venv/bin/python bench/bench_init_training.py --steps 40 --inits mean,random

Each init runs the demo's own pipeline (recipes/demo-zh-tw.yaml: the same cleaned corpus, the same
8000 learned pieces, LoRA CPT with the new rows trained, the same data order and seed) for exactly
`--steps` optimiser steps, so every method sees the same tokens. Scored on the run's held-out text
(never trained on) and on UDHR, in bits per character: base model, right after extension, after
the budget. Prints the table and the ratio to the base, and writes a bar chart.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

INITS = ["mean", "random", "freq-weighted", "focus", "calibrated"]


def run_init(init: str, args, first_clean: Path | None) -> dict:
    from langadapt.config.load import load_recipe
    from langadapt.pipeline.demo import demo_recipe_path
    from langadapt.pipeline.run import run_recipe
    from langadapt.rundir import RunDir

    overrides = [
        f"name=init-{init}", f"run_dir={args.run_dir}", f"tokenizer.init={init}",
        "sft.enabled=false", "export.enabled=false",
        "pretrain.max_minutes=null", f"pretrain.max_steps={args.steps}",
        "eval.tasks=[heldout-bpc,udhr-bpc]", f"eval.max_chars={args.max_chars}",
        "eval.compare=[base,tokenizer,pretrain]" if first_clean is None else "eval.compare=[tokenizer,pretrain]",
    ]
    recipe = load_recipe(demo_recipe_path(), overrides)
    if first_clean is not None:
        # Same corpora and clean settings give the same fingerprint: the first run's cleaned corpus is reused.
        target = RunDir(recipe.run_path()).manifest_path("clean")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(first_clean.read_text(encoding="utf-8"), encoding="utf-8")
    started = time.perf_counter()
    run_recipe(recipe)
    manifests = RunDir(recipe.run_path()).manifests()
    ev = manifests["eval"]["metrics"]
    pre = manifests["pretrain"]["metrics"]
    return {"init": init, "wall_s": round(time.perf_counter() - started, 1), "heldout": ev.get("heldout_bpc", {}),
            "udhr": ev.get("bpc", {}), "train_tokens": pre.get("train_tokens"), "steps": pre.get("global_step"),
            "clean_manifest": str(RunDir(recipe.run_path()).manifest_path("clean"))}


def plot(rows: list[dict], base: dict, lang: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=False)
    for ax, key, title in ((axes[0], "heldout", "held-out text"), (axes[1], "udhr", "UDHR")):
        names = [r["init"] for r in rows]
        after_ext = [r[key].get("tokenizer", {}).get(lang, float("nan")) for r in rows]
        after_cpt = [r[key].get("pretrain", {}).get(lang, float("nan")) for r in rows]
        xs = range(len(names))
        ax.bar([x - 0.2 for x in xs], after_ext, width=0.4, label="right after extension")
        ax.bar([x + 0.2 for x in xs], after_cpt, width=0.4, label="after the CPT budget")
        if base.get(key) is not None:
            ax.axhline(base[key], color="black", linestyle="--", label="base model")
        ax.set_xticks(list(xs), names)
        ax.set_title(f"{title} ({lang}): bits per character")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inits", default=",".join(INITS))
    ap.add_argument("--steps", type=int, default=40, help="optimiser steps of 4 x 256 tokens per init")
    ap.add_argument("--max-chars", type=int, default=4000, help="characters scored per language and text")
    ap.add_argument("--run-dir", default="runs/bench-init")
    ap.add_argument("--lang", default="zh-Hant")
    args = ap.parse_args()

    rows, clean = [], None
    for init in args.inits.split(","):
        row = run_init(init, args, clean)
        manifest = Path(row.pop("clean_manifest"))
        clean = clean or manifest
        rows.append(row)
    first = rows[0]
    base = {key: first[key].get("base", {}).get(args.lang) for key in ("heldout", "udhr")}
    base_en = {key: first[key].get("base", {}).get("en") for key in ("heldout", "udhr")}
    out = Path(args.run_dir)
    (out / "bench_init_training.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    plot(rows, base, args.lang, out / "bench_init_training.png")

    print(f"\nSmolLM2-135M + 8000 zh-Hant pieces, {args.steps} CPT steps (LoRA + new rows) per init, bits per character")
    print(f"{'init':14} {'held-out: extended':>19} {'after CPT':>10} {'UDHR: extended':>15} {'after CPT':>10} "
          f"{'en held-out after':>18}")
    print(f"{'base model':14} {base['heldout']:19.3f} {'':>10} {base['udhr']:15.3f} {'':>10} {base_en['heldout']:18.3f}")
    for r in rows:
        h, u = r["heldout"], r["udhr"]
        print(f"{r['init']:14} {h['tokenizer'][args.lang]:19.3f} {h['pretrain'][args.lang]:10.3f} "
              f"{u['tokenizer'][args.lang]:15.3f} {u['pretrain'][args.lang]:10.3f} {h['pretrain'].get('en', float('nan')):18.3f}")
    print("ratio to the base model (held-out / UDHR), right after extension and after CPT:")
    for r in rows:
        h, u = r["heldout"], r["udhr"]
        print(f"  {r['init']:14} extended {h['tokenizer'][args.lang] / base['heldout']:.2f}x / "
              f"{u['tokenizer'][args.lang] / base['udhr']:.2f}x   after CPT {h['pretrain'][args.lang] / base['heldout']:.2f}x / "
              f"{u['pretrain'][args.lang] / base['udhr']:.2f}x   ({r['train_tokens']} tokens, {r['wall_s']:.0f} s)")
    print(f"chart: {out / 'bench_init_training.png'}")


if __name__ == "__main__":
    main()
