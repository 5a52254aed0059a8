"""Init methods right after extension, on modern prose: bits per character as a ratio to the base.

    .venv/bin/python bench/bench_init_extension.py                          # 2000 pieces: mean, fitted
    .venv/bin/python bench/bench_init_extension.py --pieces 500,1000,2000 --inits mean
    .venv/bin/python bench/bench_init_extension.py --inits mean,fitted,fitted+input-only,fitted+output-only

New pieces are learned on three quarters of the Debian Reference zh-TW (split by a hash of each
document); the other quarter is the held-out prose. Each init resizes the same SmolLM2-135M and is
scored, before any training, on the first `--chars` held-out characters and on UDHR zh-Hant and
English, beside the base model on the same text (the baseline, same run). `--inits` takes any
registered init (langadapt.tokenizer.inits), with the recipe's fit settings for those that fit on
training text; `fitted` is the recipe's init (distilled input rows, then the softmax fit of the
untied output rows), and `fitted+input-only` / `fitted+output-only` keep the other side at the mean.
Prints one table with the ratio to the base.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path

from langadapt.tokenizer import inits

# Variants of a registered init that only this benchmark runs: the init, and overrides of its fit settings.
VARIANTS = {"fitted+input-only": ("fitted", {"output_steps": 0}), "fitted+output-only": ("fitted", {"distill_epochs": 0})}


def _limit(texts: list[str], chars: int) -> list[str]:
    out, used = [], 0
    for text in texts:
        if used >= chars:
            break
        out.append(text[: chars - used])
        used += len(out[-1])
    return out


def choices() -> list[str]:
    """Every init `--inits` accepts: the registry's, read when the arguments are parsed, and the variants."""
    return inits.names() + [v for v, (name, _) in VARIANTS.items() if name in inits.names()]


def _init_list(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in choices()]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown init {', '.join(unknown) or '(none)'}; choose from {', '.join(choices())}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pieces", default="2000", help="Comma-separated numbers of new pieces.")
    parser.add_argument("--inits", type=_init_list, default="mean,fitted",
                        help=f"Comma-separated registered inits or variants: {', '.join(choices())}.")
    parser.add_argument("--chars", type=int, default=5000, help="Held-out prose characters scored (UDHR: 4000 / 3000).")
    parser.add_argument("--fit-chars", type=int, default=60000, help="Training characters the fitted inits use.")
    return parser


def main() -> None:
    args = build_parser().parse_args()

    from langadapt.config.tokenizer import TokenizerConfig
    from langadapt.data.fetch import fetch
    from langadapt.eval.bpc import score_texts
    from langadapt.models import load_model, load_tokenizer
    from langadapt.tokenizer.embeddings import extend_embeddings
    from langadapt.tokenizer.extend import extend_tokenizer
    from langadapt.tokenizer.extend_hf import save_tokenizer

    prose = [json.loads(line)["text"] for line in (fetch("zh-tw-prose") / "zh-tw-prose.jsonl").open(encoding="utf-8")]
    quarter = [int(hashlib.md5(t.encode()).hexdigest(), 16) % 4 for t in prose]
    train = [t for t, q in zip(prose, quarter) if q]
    held = [t for t, q in zip(prose, quarter) if not q]
    udhr = fetch("udhr")
    texts = {"prose": _limit(held, args.chars),
             "udhr-zh": _limit([json.loads(x)["text"] for x in (udhr / "zh-Hant.jsonl").open(encoding="utf-8")], 4000),
             "udhr-en": _limit([json.loads(x)["text"] for x in (udhr / "en.jsonl").open(encoding="utf-8")], 3000)}

    def scores(model, tok) -> dict[str, float]:
        return {k: score_texts(model, tok, v, window=512, stride=256).bits_per_char for k, v in texts.items()}

    recipe = TokenizerConfig()
    base_tok = load_tokenizer("smollm2-135m-instruct")
    base = scores(load_model("smollm2-135m-instruct", dtype="fp32"), base_tok)
    rows = []
    for n in [int(x) for x in args.pieces.split(",")]:
        ext = extend_tokenizer(base_tok, iter(train), TokenizerConfig(new_tokens=n), progress=False)
        tok = save_tokenizer(base_tok, ext.extended, Path(tempfile.mkdtemp()))
        for init in args.inits:
            started = time.perf_counter()
            model = load_model("smollm2-135m-instruct", dtype="fp32")
            name, overrides = VARIANTS.get(init, (init, {}))
            fit = None
            if inits.get(name).needs_text:
                # As the recipe runs it (its fit settings), on the benchmark's own training quarter.
                fit = {"ext_tokenizer": ext.extended.full(), "texts": train, "max_chars": args.fit_chars,
                       "sep_id": base_tok.eos_token_id, **inits.get(name).fit_settings(recipe), **overrides}
            extend_embeddings(model, ext.base, ext.pieces, ext.first_id, init=name,
                              token_counts=ext.learned.base_token_counts, calibration=fit)
            got = scores(model, tok)
            rows.append((n, init, got, time.perf_counter() - started))
            print(n, init, {k: round(v / base[k], 3) for k, v in got.items()}, flush=True)
    print("\nbits per character right after extension (ratio to the base)")
    print("| pieces | init | " + " | ".join(texts) + " | seconds |")
    print("|---|---|" + "---|" * (len(texts) + 1))
    print("| - | base | " + " | ".join(f"{base[k]:.3f}" for k in texts) + " | - |")
    for n, init, got, secs in rows:
        print(f"| {n} | {init} | " + " | ".join(f"{got[k]:.3f} ({got[k] / base[k]:.3f}x)" for k in texts) + f" | {secs:.0f} |")


if __name__ == "__main__":
    main()
