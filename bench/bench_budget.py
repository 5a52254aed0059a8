"""Does the extended vocabulary's gap to the base tokenizer close as the CPT budget grows?

    .venv/bin/python bench/bench_budget.py --steps 89,200 --new-tokens 2000 --max-chars 2000   # ~1 hour on 2 cores
    .venv/bin/python bench/bench_budget.py --steps 2,4 --new-tokens 300 --max-chars 300 \\
        --run-dir /tmp/bench-budget-smoke   # a cheap end-to-end check (a few minutes)

What: for every CPT budget in --steps (optimiser steps of the demo recipe's LoRA, 1,024 tokens each), two
cells of bench_init_training's pipeline (its `run_cell`: the demo recipe, one cleaned corpus shared by
every cell, the same seed and data order): the tokenizer extended by --new-tokens pieces started by
--init, and the base tokenizer with the same LoRA and no new pieces. Both are scored per held-out source
in bits per character (tokenizer-independent). Prints, per budget and text group, both figures and their
ratio (below 1.00x: the extension wins), and writes the JSON and a chart of bits per character against
the budget (one panel per group and per modern-prose source) into --run-dir.

Why: at the demo's budget (about 90 steps) the extension loses to the base tokenizer on modern prose,
whatever the init or the number of pieces (bench_init_training). The extension's promise is that its
new rows, once trained, read and predict the language in fewer tokens, so each step covers about twice
the characters; whether that pays back with budget, and from which budget on, decides when a user should
extend at all. The cells train the same number of tokens (not the same characters, nor the same
minutes: the extended cells' steps are no slower), so the comparison is per unit of compute.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench_init_training import GROUPS, NO_EXTENSION, POEMS, TARGET, _init_list, run_cell, summarise


def _steps(value: str) -> list[int]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items or any(not (s.isdigit() and int(s) > 0) for s in items):
        raise argparse.ArgumentTypeError(f"--steps takes positive numbers, got {value!r}")
    return sorted({int(s) for s in items})


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=_steps, default="45,89,200", help="comma-separated CPT budgets in optimiser steps")
    ap.add_argument("--init", type=_init_list, default="mean", help="the extended cells' init (one registered name)")
    ap.add_argument("--new-tokens", type=int, default=2000, help="new pieces of the extended cells")
    ap.add_argument("--max-chars", type=int, default=2000, help="characters scored per held-out source and UDHR text")
    ap.add_argument("--run-dir", default="runs/bench-budget", help="one folder per budget, and the table, JSON and chart")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's own)")
    return ap


def summarise_budgets(pairs: list[tuple[int, dict, dict]]) -> tuple[list[str], dict, list[dict]]:
    """(steps, extended row, base-tokenizer row) per budget -> the prose sources, the base model's figures,
    and one summary per budget: each model's figures after CPT and their ratio, per group and prose source."""
    first = pairs[0][1]
    prose = [s for s, meta in first["heldout_sources"].items() if meta.get("language") == TARGET and s not in POEMS]
    base = summarise(first, "base", prose)
    extended_untrained = summarise(first, "tokenizer", prose)
    budgets = []
    for steps, ext, plain in pairs:
        got = {"extended": summarise(ext, "pretrain", prose), NO_EXTENSION: summarise(plain, "pretrain", prose)}
        flat = {model: {**{g: fig[g] for g in GROUPS}, **fig["prose_by_source"]} for model, fig in got.items()}
        ratio = {k: (flat["extended"][k] / flat[NO_EXTENSION][k]
                     if flat["extended"][k] and flat[NO_EXTENSION][k] else None) for k in flat["extended"]}
        budgets.append({"steps": steps, "cpt_tokens": {"extended": ext["cpt_tokens"], NO_EXTENSION: plain["cpt_tokens"]},
                        "wall_s": {"extended": ext["wall_s"], NO_EXTENSION: plain["wall_s"]},
                        "after_cpt": flat, "ratio_extended_to_base_tokenizer": ratio})
    base_flat = {**{g: base[g] for g in GROUPS}, **base["prose_by_source"],
                 "untrained extension": {**{g: extended_untrained[g] for g in GROUPS},
                                         **extended_untrained["prose_by_source"]}}
    return prose, base_flat, budgets


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_table(prose: list[str], base: dict, budgets: list[dict], init: str, pieces: int) -> None:
    keys = list(GROUPS) + prose
    print(f"\nbits per character after CPT: extended ({init}, {pieces} pieces) / base tokenizer, same LoRA, "
          "same tokens; ratio below 1.00x = the extension wins")
    print(f"{'steps':>6} {'tokens':>8} | " + " | ".join(f"{k:^22}" for k in keys))
    print(f"{'base':>6} {'-':>8} | " + " | ".join(f"{_num(base[k]):^22}" for k in keys))
    for b in budgets:
        ext, plain, ratio = b["after_cpt"]["extended"], b["after_cpt"][NO_EXTENSION], b["ratio_extended_to_base_tokenizer"]
        cells = [f"{_num(ext[k])} / {_num(plain[k])} {ratio[k]:.2f}x" if ratio[k] else "-" for k in keys]
        print(f"{b['steps']:>6} {b['cpt_tokens']['extended'] or '-':>8} | " + " | ".join(f"{c:^22}" for c in cells))
    print(f"modern prose: simple mean of {', '.join(prose)}; poems: tang-poems and song-poems")


def plot(prose: list[str], base: dict, budgets: list[dict], init: str, pieces: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(GROUPS) + prose
    fig, axes = plt.subplots(2, 4, figsize=(17, 8))
    steps = [b["steps"] for b in budgets]
    for ax, key in zip(axes.flat, keys):
        for model, style in (("extended", "-o"), (NO_EXTENSION, "-s")):
            label = f"extended, {init} init, {pieces} pieces" if model == "extended" else "base tokenizer, same LoRA"
            ax.plot(steps, [b["after_cpt"][model][key] for b in budgets], style, label=label)
        if base.get(key) is not None:
            ax.axhline(base[key], color="black", linestyle=":", label="base model")
        ax.set_title(f"{key}: bits per character")
        ax.set_xlabel("CPT steps (1,024 tokens each)")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    axes.flat[-1].axis("off")
    axes.flat[-1].legend(handles, labels, loc="center", fontsize=9)
    fig.suptitle("Does the extension pay back with the training budget? Held-out text, bits per character after CPT")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    args = build_parser().parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    init = args.init[0]
    pairs, clean = [], None
    for steps in args.steps:
        cell = argparse.Namespace(run_dir=str(Path(args.run_dir) / f"steps-{steps}"), steps=steps, max_chars=args.max_chars)
        ext = run_cell(cell, init, args.new_tokens, clean)
        clean = clean or Path(ext["clean_manifest"])
        plain = run_cell(cell, NO_EXTENSION, 0, clean)
        pairs.append((steps, ext, plain))
        print(f"[bench] {steps} steps: extended {ext['wall_s']:.0f} s, base tokenizer {plain['wall_s']:.0f} s", flush=True)

    prose, base, budgets = summarise_budgets(pairs)
    pieces = pairs[0][1]["pieces"]
    out = Path(args.run_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, chart = out / "bench_budget.json", out / "bench_budget.png"
    json_path.write_text(json.dumps({"args": {**vars(args), "init": init}, "pieces": pieces, "prose": prose, "base": base,
                                     "budgets": budgets}, indent=1, ensure_ascii=False), encoding="utf-8")
    plot(prose, base, budgets, init, pieces, chart)
    print_table(prose, base, budgets, init, pieces)
    print(f"\njson: {json_path}\nchart: {chart}")


if __name__ == "__main__":
    main()
