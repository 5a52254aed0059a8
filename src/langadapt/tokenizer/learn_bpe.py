"""Continue BPE training from a base tokenizer: new merges over base tokens, learned on target text.

    from langadapt.tokenizer.learn_bpe import learn_pieces
    learned = learn_pieces(TokenizerJson.from_tokenizer(tok), texts, new_tokens=16000)

The corpus is segmented exactly as the base tokenizer would (its normalizer, pre-tokenizer and
merges), so each word becomes a sequence of base tokens. New merges are then learned over those
sequences and appended after every base merge: the base rules always fire first, text that never
forms one of the new pairs encodes exactly as before, and each new piece is reachable.

The merge loop itself runs in the Rust `tokenizers` BpeTrainer: every base token is mapped to one
private symbol character, so the trainer's "characters" are base tokens. Pieces learned from
distinct symbol sequences that spell the same text collapse into one vocabulary entry; the
reachability check in extend_hf prunes any piece that collapsing made unreachable.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from tqdm import tqdm

from langadapt.errors import UserError
from langadapt.tokenizer.pieces import TokenizerJson, split_metaspace_words

log = logging.getLogger(__name__)

# Private symbols for base tokens start outside the BMP, where no character is whitespace.
_SYMBOL_BASE = 0x10000


@dataclass
class LearnedPieces:
    new_chars: list[str]
    """Single characters added as atoms (byte-fallback tokenizers had them only as raw bytes)."""
    merges: list[tuple[str, str]]
    """New merges, in rank order, to append after the base merges."""
    new_pieces: list[str]
    """New vocabulary entries in id order: new characters first, then new merge results."""
    base_token_counts: Counter = field(default_factory=Counter)
    """Corpus frequency of each base token id (before extension), for frequency-weighted init."""
    stats: dict = field(default_factory=dict)


def count_words(tj: TokenizerJson, texts: Iterable[str], max_chars: int | None = None,
                progress: bool = True) -> tuple[Counter, int]:
    """Pre-tokenized words of the corpus (in piece spelling) with their counts, and the characters read."""
    tk = tj.full()
    words: Counter = Counter()
    chars = 0
    bar = tqdm(total=max_chars, unit="char", unit_scale=True, desc="segment corpus", disable=not progress)
    for text in texts:
        if max_chars is not None and chars >= max_chars:
            break
        if max_chars is not None and chars + len(text) > max_chars:
            text = text[: max_chars - chars]
        chars += len(text)
        bar.update(len(text))
        normalized = tk.normalizer.normalize_str(text) if tk.normalizer is not None else text
        if tk.pre_tokenizer is not None:
            parts = [w for w, _ in tk.pre_tokenizer.pre_tokenize_str(normalized)]
        else:
            parts = [normalized]
        if not tj.byte_level:
            parts = split_metaspace_words(parts)
        words.update(parts)
    bar.close()
    return words, chars


def choose_new_chars(tj: TokenizerJson, words: Counter, min_frequency: int, limit: int) -> list[str]:
    """Characters a byte-fallback tokenizer only knows as raw bytes, most frequent first."""
    if tj.byte_level or not tj.byte_fallback:
        return []
    vocab = tj.vocab
    counts: Counter = Counter()
    for word, n in words.items():
        for ch in word:
            if ch not in vocab:
                counts[ch] += n
    chosen = [ch for ch, n in counts.most_common() if n >= min_frequency and not ch.isspace()]
    return chosen[:limit]


def segment_words(tj: TokenizerJson, words: Counter, batch: int = 50_000) -> list[tuple[list[int], int]]:
    """Each unique word as base token ids (exactly as the base BPE model splits it), with its count."""
    model = tj.model_only()
    items = list(words.items())
    out: list[tuple[list[int], int]] = []
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        encodings = model.encode_batch([w for w, _ in chunk], add_special_tokens=False)
        out.extend((enc.ids, n) for enc, (_, n) in zip(encodings, chunk))
    return out


def _is_ascii_piece(tj: TokenizerJson, piece: str) -> bool:
    data = tj.piece_bytes(piece)
    return data is not None and all(b < 0x80 for b in data)


def learn_pieces(
    tj: TokenizerJson,
    texts: Iterable[str],
    new_tokens: int,
    min_frequency: int = 2,
    max_chars: int | None = None,
    max_piece_length: int = 16,
    keep_ascii: bool = False,
    progress: bool = True,
) -> LearnedPieces:
    """Learn up to `new_tokens` new pieces from `texts` on top of the base tokenizer `tj`.

    keep_ascii=False drops pieces made only of ASCII bytes, which guarantees that ASCII text
    (English, code) encodes to exactly the same ids as before.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tj.check_supported()
    words, chars = count_words(tj, texts, max_chars=max_chars, progress=progress)
    if not words:
        raise UserError("the corpus has no text to learn pieces from")

    new_chars = choose_new_chars(tj, words, min_frequency, limit=new_tokens)
    work = tj.copy()
    next_id = work.max_id + 1
    for ch in new_chars:
        work.vocab[ch] = next_id
        next_id += 1
    segmented = segment_words(work, words)
    id_to_piece = {i: p for p, i in work.vocab.items()}

    base_counts: Counter = Counter()
    for ids, n in segmented:
        for i in ids:
            base_counts[i] += n

    ascii_ids = {i for i, p in id_to_piece.items() if _is_ascii_piece(work, p)}
    trainable = [(ids, n) for ids, n in segmented if len(ids) > 1 and (keep_ascii or not all(i in ascii_ids for i in ids))]
    symbol_of: dict[int, str] = {}
    for ids, _ in trainable:
        for i in ids:
            if i not in symbol_of:
                symbol_of[i] = chr(_SYMBOL_BASE + len(symbol_of))
    piece_of_symbol = {s: id_to_piece[i] for i, s in symbol_of.items()}

    budget = new_tokens - len(new_chars)
    merges: list[tuple[str, str]] = []
    new_pieces = list(new_chars)
    if budget > 0 and trainable:
        # Ask for some slack: ASCII-only and duplicate-text merges are dropped afterwards.
        slack = budget // 8 + 64
        trainer = trainers.BpeTrainer(
            vocab_size=len(symbol_of) + budget + slack,
            min_frequency=min_frequency,
            show_progress=progress,
            special_tokens=[],
            initial_alphabet=[],
            max_token_length=max_piece_length,
        )
        sym_tok = Tokenizer(models.BPE())
        sym_tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()

        def chunks() -> Iterator[str]:
            for ids, n in trainable:
                word = "".join(symbol_of[i] for i in ids)
                # Repeating the word is how the trainer learns its count; the work stays in Rust.
                yield (word + " ") * n

        sym_tok.train_from_iterator(chunks(), trainer, length=len(trainable))
        import json

        trained = json.loads(sym_tok.to_str())["model"]["merges"]
        merges, learned = _map_merges(work, trained, piece_of_symbol, budget, keep_ascii)
        new_pieces += learned

    stats = {
        "corpus_chars": chars,
        "unique_words": len(words),
        "base_tokens": sum(base_counts.values()),
        "new_chars": len(new_chars),
        "new_merges": len(merges),
        "new_pieces": len(new_pieces),
    }
    log.info("learned %s", stats)
    return LearnedPieces(new_chars=new_chars, merges=merges, new_pieces=new_pieces,
                         base_token_counts=base_counts, stats=stats)


def _map_merges(tj: TokenizerJson, trained: list, piece_of_symbol: dict[str, str], budget: int,
                keep_ascii: bool) -> tuple[list[tuple[str, str]], list[str]]:
    """Turn the trainer's symbol merges into piece merges; keep at most `budget` new pieces."""
    known = set(tj.vocab)
    seen = set(tj.merges)
    merges: list[tuple[str, str]] = []
    pieces: list[str] = []

    def spell(symbols: str) -> str:
        return "".join(piece_of_symbol[s] for s in symbols)

    for pair in trained:
        a_sym, b_sym = pair if not isinstance(pair, str) else pair.split(" ", 1)
        a, b = spell(a_sym), spell(b_sym)
        if a not in known or b not in known or (a, b) in seen:
            continue
        piece = a + b
        if not keep_ascii and _is_ascii_piece(tj, piece):
            continue
        if piece not in known:
            if len(pieces) >= budget:
                break
            pieces.append(piece)
            known.add(piece)
        merges.append((a, b))
        seen.add((a, b))
    return merges, pieces
