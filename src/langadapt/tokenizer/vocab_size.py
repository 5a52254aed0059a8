"""How many new pieces to keep (`tokenizer.new_tokens: auto`): sized for the planned training budget.

    from langadapt.tokenizer.vocab_size import choose_size
    choice = choose_size(base, learned, sample_texts, training_tokens=100_000, min_occurrences=20)
    learned = truncate(learned, choice.new_tokens)

Why: more pieces mean fewer tokens per character, but every piece is a row the training run has to
teach, and a piece the run sees a handful of times keeps the row it started with. With little text
the published evidence (Yamaguchi et al., Computational Linguistics 2026) is that far fewer new
tokens pay off than with much. The rule: learn up to `auto_max_tokens` pieces, encode a sample of
the training text with all of them, and keep the pieces (in learned order, which is by merge
frequency) that the planned training tokens are expected to show at least `auto_min_occurrences`
times each. The chosen size and the figures behind it go to the stage's report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

from langadapt.tokenizer.extend_hf import apply_pieces
from langadapt.tokenizer.learn_bpe import LearnedPieces
from langadapt.tokenizer.pieces import TokenizerJson


@dataclass(frozen=True)
class SizeChoice:
    new_tokens: int
    learned: int
    training_tokens: int
    min_occurrences: int
    sample_chars: int
    sample_tokens: int
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


def truncate(learned: LearnedPieces, keep_pieces: int) -> LearnedPieces:
    """The first `keep_pieces` new pieces and the merges that need only those (a valid, smaller extension)."""
    kept = learned.new_pieces[:keep_pieces]
    allowed = set(kept)
    chars = [c for c in learned.new_chars if c in allowed]
    merges, known_new = [], set(chars)
    made_by_merge = set(learned.new_pieces) - set(learned.new_chars)
    for a, b in learned.merges:
        parts_ok = all(p not in made_by_merge and p not in learned.new_chars or p in known_new for p in (a, b))
        result = a + b
        if not parts_ok or (result in made_by_merge and result not in allowed):
            continue
        merges.append((a, b))
        known_new.add(result)
    return LearnedPieces(new_chars=chars, merges=merges, new_pieces=kept,
                         base_token_counts=learned.base_token_counts, stats=dict(learned.stats, new_pieces=len(kept)))


def choose_size(base: TokenizerJson, learned: LearnedPieces, sample: Sequence[str], training_tokens: int,
                min_occurrences: int) -> SizeChoice:
    """The number of learned pieces the planned training run sees at least `min_occurrences` times each."""
    extended = apply_pieces(base, learned.new_pieces, learned.merges).full()
    first_id = base.max_id + 1
    piece_ids = [extended.token_to_id(p) for p in learned.new_pieces]
    uses: dict[int, int] = {}
    total = 0
    for enc in extended.encode_batch(list(sample), add_special_tokens=False):
        total += len(enc.ids)
        for tok in enc.ids:
            if tok >= first_id:
                uses[tok] = uses.get(tok, 0) + 1
    sample_chars = sum(map(len, sample))
    scale = training_tokens / max(1, total)
    keep = sum(1 for tok in piece_ids if tok is not None and uses.get(tok, 0) * scale >= min_occurrences)
    keep = max(1, keep) if learned.new_pieces else 0
    reason = (f"kept {keep} of {len(learned.new_pieces)} learned pieces: those the planned {training_tokens:,} "
              f"training tokens show at least {min_occurrences} times each (usage counted on {sample_chars:,} "
              f"characters of training text, {total:,} tokens)")
    return SizeChoice(new_tokens=keep, learned=len(learned.new_pieces), training_tokens=training_tokens,
                      min_occurrences=min_occurrences, sample_chars=sample_chars, sample_tokens=total, reason=reason)
