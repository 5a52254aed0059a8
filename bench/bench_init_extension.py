"""Init methods right after extension, on modern prose: bits per character as a ratio to the base.

    .venv/bin/python bench/bench_init_extension.py                          # 2000 pieces: mean, fitted
    .venv/bin/python bench/bench_init_extension.py --pieces 500,1000,2000 --inits mean
    .venv/bin/python bench/bench_init_extension.py --inits mean,fitted,fitted+output --fit-chars 12000

New pieces are learned on three quarters of the Debian Reference zh-TW (split by a hash of each
document); the other quarter is the held-out prose. Each init resizes the same SmolLM2-135M and is
scored, before any training, on the first `--chars` held-out characters and on UDHR zh-Hant and
English, beside the base model on the same text (the baseline, same run). `fitted+output` also runs
the softmax fit of the output rows. Prints one table with the ratio to the base.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path


def _limit(texts: list[str], chars: int) -> list[str]:
    out, used = [], 0
    for text in texts:
        if used >= chars:
            break
        out.append(text[: chars - used])
        used += len(out[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pieces", default="2000", help="Comma-separated numbers of new pieces.")
    parser.add_argument("--inits", default="mean,fitted", help="Comma-separated: mean, fitted, fitted+output, calibrated, ...")
    parser.add_argument("--chars", type=int, default=5000, help="Held-out prose characters scored (UDHR: 4000 / 3000).")
    parser.add_argument("--fit-chars", type=int, default=12000, help="Training characters the fitted inits use.")
    args = parser.parse_args()

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

    base_tok = load_tokenizer("smollm2-135m-instruct")
    base = scores(load_model("smollm2-135m-instruct", dtype="fp32"), base_tok)
    rows = []
    for n in [int(x) for x in args.pieces.split(",")]:
        ext = extend_tokenizer(base_tok, iter(train), TokenizerConfig(new_tokens=n), progress=False)
        tok = save_tokenizer(base_tok, ext.extended, Path(tempfile.mkdtemp()))
        for init in args.inits.split(","):
            started = time.perf_counter()
            model = load_model("smollm2-135m-instruct", dtype="fp32")
            name = init.split("+")[0]
            fit = None
            if name == "fitted":
                fit = {"ext_tokenizer": ext.extended.full(), "texts": train, "max_chars": args.fit_chars,
                       "sep_id": base_tok.eos_token_id, "output_steps": 150 if "+output" in init else 0}
            elif name == "calibrated":
                fit = {"ext_tokenizer": ext.extended.full(), "texts": train, "max_chars": args.fit_chars,
                       "sep_id": base_tok.eos_token_id}
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
