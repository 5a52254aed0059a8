"""Every init x every vocabulary size, right after extension and after the same CPT budget, per held-out text.

    .venv/bin/python bench/bench_init_training.py        # full grid: every registered init x 1000,4000,8000,auto, 40 steps
    .venv/bin/python bench/bench_init_training.py --inits mean --new-tokens 2000 --steps 89   # the demo's cell and its baseline
    .venv/bin/python bench/bench_init_training.py --inits mean --new-tokens 300,auto --steps 2 \\
        --max-chars 300 --run-dir /tmp/bench-init-smoke  # a cheap end-to-end check (a few minutes)

What: each (init, new_tokens) cell runs the demo's own pipeline (recipes/demo-zh-tw.yaml; one cleaned
corpus, cleaned by the first cell and reused by the others; LoRA CPT with the new rows trained, the same
data order and seed), the tokenizer extended by `new_tokens` learned pieces (`auto`: the recipe's rule,
sized for exactly this cell's planned CPT tokens, steps x batch x accumulation x sequence length) and
the new rows started by `init`, then trains exactly `--steps` optimiser steps: every cell sees the same
number of training tokens. After the grid, the baseline cell (`--no-baseline` skips it) runs the same CPT
with the base tokenizer and no new pieces: what the extension has to beat, measured in the same run.
Scored in bits per character (tokenizer-independent) for the base model, right after extension and after the budget, on held-out text never trained on, per source: modern prose
(zh-tw-help, zh-tw-man, zh-tw-prose, each reported, and their simple mean, each source counting once as
in the pipeline's `heldout_bpc`), poems (tang-poems + song-poems, simple mean), UDHR zh-Hant and UDHR en.

Why: per source, because a pooled figure hides that what helps on poems can cost on modern prose (and
on English); the same step budget, because more pieces are more rows to teach with the same tokens; and
beside the tokens per character on modern prose after extension, because that is what more pieces buy
(shorter sequences, faster inference) against the bits per character they cost before and after training.
Prints one table (ratios to the base), and writes every raw figure as JSON and a chart into --run-dir.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from langadapt.tokenizer import inits

TARGET, ENGLISH = "zh-Hant", "en"  # the demo recipe's language and its base language
POEMS = ("tang-poems", "song-poems")
GROUPS = ("modern prose", "poems", f"UDHR {TARGET}", f"UDHR {ENGLISH}")
STAGES = {"extended": "tokenizer", "after_cpt": "pretrain"}  # eval labels of the models scored per cell
NO_EXTENSION = "base tokenizer"  # the baseline cell's init label: the same CPT steps, no new pieces


def _init_list(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in inits.names()]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown init {', '.join(unknown) or '(none)'}; "
                                         f"choose from {', '.join(inits.names())}")
    return names


def _sizes(value: str) -> list[int | str]:
    sizes = [v.strip() for v in value.split(",") if v.strip()]
    if not sizes or any(s != "auto" and not (s.isdigit() and int(s) > 0) for s in sizes):
        raise argparse.ArgumentTypeError(f"--new-tokens takes positive numbers and 'auto', got {value!r}")
    return [s if s == "auto" else int(s) for s in sizes]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inits", type=_init_list, default=None,
                    help=f"comma-separated registered inits (default: all, {', '.join(inits.names())})")
    ap.add_argument("--new-tokens", type=_sizes, default="1000,4000,8000,auto",
                    help="comma-separated numbers of new pieces, or auto (sized for the planned CPT tokens)")
    ap.add_argument("--steps", type=int, default=40, help="CPT optimiser steps, the same for every cell (4 x 256 tokens each)")
    ap.add_argument("--max-chars", type=int, default=4000, help="characters scored per held-out source and UDHR text")
    ap.add_argument("--run-dir", default="runs/bench-init", help="one run folder per cell, and the table, JSON and chart")
    ap.add_argument("--no-baseline", dest="baseline", action="store_false",
                    help="skip the baseline cell (the same CPT on the base tokenizer, no new pieces)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    return ap


def _mean(values) -> float | None:
    vals = [v for v in values if v is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


def run_cell(args, init: str, size: int | str, first_clean: Path | None) -> dict:
    from langadapt.config.load import load_recipe
    from langadapt.models.extension import read_extension
    from langadapt.pipeline.demo import demo_recipe_path
    from langadapt.pipeline.run import run_recipe
    from langadapt.rundir import RunDir
    from langadapt.stages import stage_metrics

    extension = init != NO_EXTENSION
    overrides = [
        f"name=init-{init}-{size}" if extension else "name=no-extension", f"run_dir={args.run_dir}",
        *([f"tokenizer.init={init}", f"tokenizer.new_tokens={size}"] if extension else ["tokenizer.enabled=false"]),
        "sft.enabled=false", "export.enabled=false",
        "pretrain.max_minutes=null", f"pretrain.max_steps={args.steps}",
        "eval.tasks=[heldout-bpc,udhr-bpc]", f"eval.max_chars={args.max_chars}",
        "eval.compare=[base,tokenizer,pretrain]" if first_clean is None
        else "eval.compare=[tokenizer,pretrain]" if extension else "eval.compare=[pretrain]",
    ]
    recipe = load_recipe(demo_recipe_path(), overrides)
    # `auto` sizes for these planned tokens (the tokenizer stage derives them, and its fingerprint covers them)
    planned = recipe.pretrain.planned_tokens()
    if first_clean is not None:
        # Same corpora and clean settings give the same fingerprint: the first cell's cleaned corpus is reused.
        target = RunDir(recipe.run_path()).manifest_path("clean")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(first_clean.read_text(encoding="utf-8"), encoding="utf-8")
    started = time.perf_counter()
    run_recipe(recipe)
    rundir = RunDir(recipe.run_path())
    manifests = rundir.manifests()
    tok, ev, pre = (stage_metrics(manifests, s) for s in ("tokenizer", "eval", "pretrain"))
    choice = ((read_extension(manifests["tokenizer"]["outputs"]["model"]) or {}).get("stats") or {}).get("size_choice") \
        if extension else None
    if size == "auto" and (not choice or choice.get("training_tokens") != planned):
        raise SystemExit(f"{recipe.name}: auto sized for {choice and choice.get('training_tokens')} training tokens, "
                         f"the cell plans {planned}")
    if ev.bpc_task != "udhr-bpc":
        raise SystemExit(f"{recipe.name}: the eval's bpc table is {ev.bpc_task}, not udhr-bpc")
    return {"init": init, "new_tokens": size, "pieces": tok.added_tokens if tok else 0, "size_choice": choice,
            "planned_cpt_tokens": planned, "cpt_tokens": pre.extra.get("train_tokens"), "steps": pre.global_step,
            "wall_s": round(time.perf_counter() - started, 1),
            "tokens_per_char_by_source": {"base": tok.tokens_per_char_by_source_before if tok else None,
                                          "extended": tok.tokens_per_char_by_source_after if tok else None},
            "heldout_bpc_by_source": ev.heldout_bpc_by_source or {}, "heldout_sources": ev.heldout_sources or {},
            "udhr_bpc": ev.bpc or {}, "clean_manifest": str(rundir.manifest_path("clean"))}


def summarise(row: dict, model: str, prose: list[str]) -> dict:
    """{group: bits/char} of one model of a cell (model: the eval label, base / tokenizer / pretrain)."""
    by_source = row["heldout_bpc_by_source"].get(model) or {}
    udhr = row["udhr_bpc"].get(model) or {}
    return {"modern prose": _mean(by_source.get(s) for s in prose), "poems": _mean(by_source.get(s) for s in POEMS),
            f"UDHR {TARGET}": udhr.get(TARGET), f"UDHR {ENGLISH}": udhr.get(ENGLISH),
            "prose_by_source": {s: by_source.get(s) for s in prose}}


def _fmt(value: float | None, base: float | None, width: int = 12) -> str:
    if value is None:
        return f"{'-':>{width}}"
    return (f"{value:6.3f} {value / base:4.2f}x" if base else f"{value:6.3f}      ").rjust(width)


def _size_label(row: dict) -> str:
    return f"auto {row['pieces']}" if row["new_tokens"] == "auto" else str(row["new_tokens"])


def print_table(rows: list[dict], base: dict, prose: list[str], steps: int) -> None:
    left = f"{'':14} {'':>10} {'tok/char':>12} {'CPT':>7}"
    print(f"\nSmolLM2-135M, demo corpus, {steps} CPT steps (LoRA + new rows) per cell; bits per character "
          f"(ratio to the base) right after extension and after CPT")
    print(left + "".join(f" | {g:^25}" for g in GROUPS))
    print(f"{'init':14} {'new_tokens':>10} {'prose':>12} {'tokens':>7}" + f" | {'extended':>12} {'after CPT':>12}" * len(GROUPS))
    print(f"{'base model':14} {'-':>10} {_fmt(base['tokens_per_char'], None)} {'-':>7}"
          + "".join(f" | {_fmt(base[g], None)} {'':>12}" for g in GROUPS))
    for r in rows:
        print(f"{r['init']:14} {_size_label(r):>10} {_fmt(r['tokens_per_char_prose'], base['tokens_per_char'])} "
              f"{r['cpt_tokens'] or '-':>7}"
              + "".join(f" | {_fmt(r['extended'][g], base[g])} {_fmt(r['after_cpt'][g], base[g])}" for g in GROUPS))
    print(f"modern prose: simple mean of {', '.join(prose)} (each source counts once); poems: simple mean of "
          f"{', '.join(POEMS)}\ntok/char prose: tokens per character, the extended tokenizer's, same mean; CPT tokens: tokens trained")
    print("\nmodern prose per source: bits per character (ratio to the base), extended -> after CPT")
    print(f"{'init':14} {'new_tokens':>10}" + "".join(f" | {s:^25}" for s in prose))
    print(f"{'base model':14} {'-':>10}" + "".join(f" | {_fmt(base['prose_by_source'][s], None)} {'':>12}" for s in prose))
    for r in rows:
        print(f"{r['init']:14} {_size_label(r):>10}" + "".join(
            f" | {_fmt(r['extended']['prose_by_source'][s], base['prose_by_source'][s])} "
            f"{_fmt(r['after_cpt']['prose_by_source'][s], base['prose_by_source'][s])}" for s in prose))


def plot(rows: list[dict], base: dict, sizes: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nan = float("nan")
    xs = list(range(len(sizes)))
    autos = sorted({r["pieces"] for r in rows if r["new_tokens"] == "auto"})
    labels = [f"auto\n({'/'.join(map(str, autos))})" if s == "auto" else str(s) for s in sizes]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    panels = list(axes.flat)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    names = list(dict.fromkeys(r["init"] for r in rows if r["init"] != NO_EXTENSION))
    baseline = next((r for r in rows if r["init"] == NO_EXTENSION), None)
    cell = {(r["init"], r["new_tokens"]): r for r in rows}

    def value(init, size, *keys):
        got = cell.get((init, size))
        for k in keys:
            got = got.get(k) if isinstance(got, dict) else None
        return nan if got is None else got

    for ax, group in zip(panels, GROUPS):
        for i, init in enumerate(names):
            color = colors[i % len(colors)]
            ax.plot(xs, [value(init, s, "after_cpt", group) for s in sizes], "-o", color=color, label=f"{init}: after CPT")
            ax.plot(xs, [value(init, s, "extended", group) for s in sizes], "--", marker="x", color=color,
                    alpha=0.7, label=f"{init}: right after extension")
        if base.get(group) is not None:
            ax.axhline(base[group], color="black", linestyle=":", label="base model")
        if baseline is not None and baseline["after_cpt"].get(group) is not None:
            ax.axhline(baseline["after_cpt"][group], color="red", linestyle="-.",
                       label="base tokenizer, the same CPT (no new pieces)")
        ax.set_title(f"{group}: bits per character")
    ax = panels[len(GROUPS)]
    ax.plot(xs, [value(names[0], s, "tokens_per_char_prose") for s in sizes], "-o", color="black", label="extended")
    ax.axhline(base["tokens_per_char"], color="black", linestyle=":", label="base model")
    ax.set_title("modern prose: tokens per character")
    for ax in panels[:len(GROUPS) + 1]:
        ax.set_xticks(xs, labels)
        ax.set_xlabel("new tokens")
    handles, names_ = panels[0].get_legend_handles_labels()
    panels[-1].axis("off")
    panels[-1].legend(handles, names_, loc="center", fontsize=8)
    fig.suptitle(f"inits x vocabulary size, same CPT budget ({rows[0]['steps']} steps, {rows[0]['cpt_tokens']} tokens)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summarise_rows(rows: list[dict]) -> tuple[list[str], dict]:
    """Add each row's group figures and ratios in place; return the prose sources and the base's figures."""
    first = rows[0]
    prose = [s for s, meta in first["heldout_sources"].items() if meta.get("language") == TARGET and s not in POEMS]
    base = summarise(first, "base", prose)
    base["tokens_per_char"] = _mean((first["tokens_per_char_by_source"]["base"] or {}).get(s) for s in prose)
    for r in rows:
        if r["init"] == NO_EXTENSION:  # nothing is extended: "right after extension" is the base itself
            r["extended"] = {k: v for k, v in base.items() if k != "tokens_per_char"}
            r["after_cpt"] = summarise(r, STAGES["after_cpt"], prose)
            r["tokens_per_char_prose"] = base["tokens_per_char"]
        else:
            for key, model in STAGES.items():
                r[key] = summarise(r, model, prose)
            r["tokens_per_char_prose"] = _mean((r["tokens_per_char_by_source"]["extended"] or {}).get(s) for s in prose)
        r["ratio_to_base"] = {key: {g: r[key][g] / base[g] if r[key][g] and base[g] else None for g in GROUPS}
                              for key in STAGES}
    return prose, base


def main() -> None:
    args = build_parser().parse_args()
    args.inits = args.inits or inits.names()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    rows, clean = [], None
    cells = [(init, size) for init in args.inits for size in args.new_tokens]
    for init, size in cells + ([(NO_EXTENSION, 0)] if args.baseline else []):
        row = run_cell(args, init, size, clean)
        clean = clean or Path(row["clean_manifest"])
        rows.append(row)
        print(f"[bench] {init} {size}: {row['pieces']} pieces, {row['cpt_tokens']} CPT tokens, {row['wall_s']:.0f} s",
              flush=True)

    prose, base = summarise_rows(rows)
    out = Path(args.run_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, chart = out / "bench_init_training.json", out / "bench_init_training.png"
    json_path.write_text(json.dumps({"args": vars(args), "groups": {"modern prose": prose, "poems": list(POEMS)},
                                     "group_mean": "simple mean over the group's sources, each counting once",
                                     "base": base, "rows": rows}, indent=1, ensure_ascii=False), encoding="utf-8")
    plot(rows, base, args.new_tokens, chart)
    print_table(rows, base, prose, args.steps)
    print(f"\njson: {json_path}\nchart: {chart}")


if __name__ == "__main__":
    main()
