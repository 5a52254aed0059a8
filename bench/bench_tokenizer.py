"""Benchmark tokenizer extension against its baselines, on real data, in one run.

    .venv/bin/python bench/bench_tokenizer.py                 # both tasks, 16k / 20k pieces
    .venv/bin/python bench/bench_tokenizer.py --task zh --max-mb 20 --bpc-chars 3000

zh: SmolLM2 extended by continued BPE with <= 16k pieces on Traditional Chinese (Tang/Song poems plus
    modern Taiwan prose), scored on held-out modern prose (every 5th prose document, never trained
    on). Baselines: the base tokenizer, a byte-level BPE trained from scratch with the same number of
    pieces, a SentencePiece BPE of that size. Also: wall time of the extension, and (with
    --bpc-chars) SmolLM2's bits per character on the held-out prose, base vs. each init right after
    extension.
bo: Llama-2's tokenizer (vocab GGUF) extended on the Tibetan-script text available (Dzongkha help
    pages, UDHR bo/dz); the issue's seed sentence, which is in none of those texts, is encoded
    before and after, next to a SentencePiece BPE trained on the same text alone.
Timings depend on the machine and its load; they are printed with the core count.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time

SEED_BO = "ཁྱོད་ཀྱི་གདོང་ནི་པད་མ་བཞིན།།མིག་དག་ཨུཏྤལ་སྔོན་པོ་བཞིན།"


def _take_bytes(texts, max_bytes: int) -> list[str]:
    out, size = [], 0
    for t in texts:
        if size >= max_bytes:
            break
        out.append(t)
        size += len(t.encode("utf-8"))
    return out


def _tpc(encode, texts: list[str]) -> float:
    return sum(len(encode(t)) for t in texts) / sum(map(len, texts))


def scratch_bpe(texts: list[str], vocab_size: int):
    """Byte-level BPE from scratch, same pre-tokenizer family as SmolLM2."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return lambda t: tok.encode(t).ids


def sentencepiece_bpe(texts: list[str], vocab_size: int, max_sentences: int = 2_000_000):
    import sentencepiece as spm

    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "spm")
        lines = (line for t in texts for line in t.split("\n") if line.strip())
        spm.SentencePieceTrainer.train(sentence_iterator=lines, model_prefix=prefix, model_type="bpe",
                                       vocab_size=vocab_size, normalization_rule_name="identity", byte_fallback=True,
                                       character_coverage=0.9995, input_sentence_size=max_sentences,
                                       shuffle_input_sentence=True, minloglevel=2, num_threads=os.cpu_count() or 1)
        sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    return lambda t: sp.encode(t)


def bench_zh(args) -> None:
    from langadapt.config.tokenizer import TokenizerConfig
    from langadapt.data.fetch import fetch
    from langadapt.models import load_tokenizer, resolve_model
    from langadapt.tokenizer.extend import extend_tokenizer
    from langadapt.tokenizer.extend_hf import save_tokenizer
    from langadapt.tokenizer.texts import iter_texts

    prose = list(iter_texts([fetch("zh-tw-prose")]))
    heldout = prose[::5]
    train_prose = [p for i, p in enumerate(prose) if i % 5]
    poems = fetch("chinese-poetry")
    stream = iter(train_prose + list(iter_texts([poems / "tang.jsonl", poems / "songci.jsonl", poems / "song.jsonl"])))
    train = _take_bytes(stream, int(args.max_mb * 1e6))
    n_chars = sum(map(len, train))
    print(f"zh: train {len(train)} docs, {n_chars:,} chars, {sum(len(t.encode()) for t in train) / 1e6:.1f} MB; "
          f"held-out prose {len(heldout)} docs, {sum(map(len, heldout)):,} chars; {os.cpu_count()} CPU cores")

    base = load_tokenizer("smollm2-135m-instruct")
    start = time.perf_counter()
    ext = extend_tokenizer(base, train, TokenizerConfig(new_tokens=args.zh_pieces, max_corpus_chars=10**10), progress=False)
    seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="bench-tok-") as out:
        tok = save_tokenizer(base, ext.extended, out)
    print(f"continued BPE: {len(ext.pieces)} new pieces in {seconds:.1f}s (target <= 300s)")

    enc_base = lambda t: base.encode(t, add_special_tokens=False)  # noqa: E731
    enc_ext = lambda t: tok.encode(t, add_special_tokens=False)  # noqa: E731
    rows = [("SmolLM2 base (49152)", _tpc(enc_base, heldout), None),
            (f"SmolLM2 + {len(ext.pieces)} continued BPE", _tpc(enc_ext, heldout), seconds)]
    start = time.perf_counter()
    enc = scratch_bpe(train, args.zh_pieces)
    rows.append((f"byte-level BPE from scratch ({args.zh_pieces})", _tpc(enc, heldout), time.perf_counter() - start))
    if not args.no_spm:
        start = time.perf_counter()
        enc = sentencepiece_bpe(train, args.zh_pieces)
        rows.append((f"SentencePiece BPE ({args.zh_pieces})", _tpc(enc, heldout), time.perf_counter() - start))
    print(f"\n{'tokenizer':45s} {'tokens/char':>11s} {'vs base':>8s} {'train s':>8s}")
    for name, tpc, secs in rows:
        print(f"{name:45s} {tpc:11.3f} {tpc / rows[0][1]:8.2f} {'' if secs is None else f'{secs:8.1f}'}")
    print(f"target: <= 0.70 tokens/char -> {'met' if rows[1][1] <= 0.70 else 'NOT met'}")
    english = list(iter_texts([fetch("udhr") / "en.jsonl"]))
    same = all(enc_base(t) == enc_ext(t) for t in english)
    print(f"UDHR English encodes identically: {same}")

    if args.bpc_chars:
        bench_bpc(ext, tok, base, heldout, args.bpc_chars, train)


def bench_bpc(ext, tok, base_tok, heldout: list[str], max_chars: int, train: list[str]) -> None:
    from langadapt.models import load_model
    from langadapt.tokenizer import inits
    from langadapt.tokenizer.embeddings import extend_embeddings
    from langadapt.tokenizer.report import bits_per_char

    texts, size = [], 0
    for t in heldout:
        if size >= max_chars:
            break
        texts.append(t[: max_chars - size])
        size += len(texts[-1])
    print(f"\nbits per character on {size} held-out chars, right after extension (no training):")
    model = load_model("smollm2-135m-instruct", dtype="fp32")
    base_bpc = bits_per_char(model, base_tok, texts)
    print(f"  {'base':15s} {base_bpc:.3f}")
    # Init `calibrated` runs the base model over training text: an even slice across prose and poems.
    sample = train[:: max(1, len(train) // 3000)]
    random.Random(0).shuffle(sample)
    calibration = {"ext_tokenizer": ext.extended.full(), "texts": sample, "sep_id": base_tok.eos_token_id}
    for init in inits.names():
        model = load_model("smollm2-135m-instruct", dtype="fp32")
        extend_embeddings(model, ext.base, ext.pieces, ext.first_id, init=init, token_counts=ext.learned.base_token_counts,
                          calibration=calibration)
        value = bits_per_char(model, tok, texts)
        print(f"  {init:15s} {value:.3f}  ({value / base_bpc:.2f}x base)")


def bench_bo(args) -> None:
    from transformers import AutoTokenizer

    from langadapt.config.tokenizer import TokenizerConfig
    from langadapt.data.fetch import fetch
    from langadapt.tokenizer.extend import extend_tokenizer
    from langadapt.tokenizer.extend_hf import save_tokenizer
    from langadapt.tokenizer.texts import iter_texts

    udhr = fetch("udhr")
    texts = list(iter_texts([fetch("dz-text")])) + list(iter_texts([udhr / "bo.jsonl", udhr / "dz.jsonl"]))
    assert not any(SEED_BO in t for t in texts), "the evaluation sentence must not be in the training text"
    print(f"\nbo: {len(texts)} docs, {sum(map(len, texts)):,} chars of Tibetan-script text")
    base = AutoTokenizer.from_pretrained(str(fetch("llama-vocab")), gguf_file="ggml-vocab-llama-spm.gguf")
    start = time.perf_counter()
    ext = extend_tokenizer(base, texts, TokenizerConfig(new_tokens=args.bo_pieces), progress=False)
    seconds = time.perf_counter() - start
    with tempfile.TemporaryDirectory(prefix="bench-tok-bo-") as out:
        tok = save_tokenizer(base, ext.extended, out)
    n_base = len(base.encode(SEED_BO, add_special_tokens=False))
    ids = tok.encode(SEED_BO, add_special_tokens=False)
    print(f"Llama-2 base (32000): {n_base} tokens")
    print(f"Llama-2 + {len(ext.pieces)} continued BPE ({seconds:.1f}s): {len(ids)} tokens "
          f"(target <= 20: {'met' if len(ids) <= 20 else 'NOT met'}); lossless: {tok.decode(ids) == SEED_BO}")
    print("  " + " | ".join(tok.convert_ids_to_tokens(ids)))
    import sentencepiece as spm

    from langadapt.tokenizer.extend_spm import extend_spm_bytes, spm_from_gguf

    base_proto = spm_from_gguf(fetch("llama-vocab") / "ggml-vocab-llama-spm.gguf")
    sp = spm.SentencePieceProcessor(model_proto=extend_spm_bytes(base_proto, ext.pieces, ext.first_id))
    sp_ids = sp.encode(SEED_BO)
    print(f"extended tokenizer.model (SentencePiece): {len(sp_ids)} tokens; lossless: {sp.decode(sp_ids) == SEED_BO}")
    if not args.no_spm:
        enc = sentencepiece_bpe(texts, args.bo_pieces)
        print(f"SentencePiece BPE ({args.bo_pieces}) on this text alone: {len(enc(SEED_BO))} tokens")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=["zh", "bo", "all"], default="all")
    parser.add_argument("--max-mb", type=float, default=20.0, help="UTF-8 megabytes of zh training text")
    parser.add_argument("--zh-pieces", type=int, default=16000)
    parser.add_argument("--bo-pieces", type=int, default=20000)
    parser.add_argument("--bpc-chars", type=int, default=0, help="score SmolLM2 bits/char on this many held-out chars (slow on CPU)")
    parser.add_argument("--no-spm", action="store_true", help="skip the SentencePiece baselines")
    args = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    if args.task in ("zh", "all"):
        bench_zh(args)
    if args.task in ("bo", "all"):
        bench_bo(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
