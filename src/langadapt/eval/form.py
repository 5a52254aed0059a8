"""Verse form: does an answer have the shape of the line it should be?

    from langadapt.eval.form import clause_lengths, form_match
    clause_lengths("清越敲寒玉，參差疊碧雲。")           # (5, 5)
    form_match("春風吹綠水，明月照青山。", "清越敲寒玉，參差疊碧雲。")   # 100.0

Classical Chinese verse fixes how many characters each clause has (five or seven in regulated
verse, a set pattern per tune in ci), so a next line of the right form is the first thing a model
must learn about the task, whatever its words. Character overlap (ROUGE-L, chrF) measures the words
and is close to zero for small models; form match is scored beside it, never instead of it.
"""

from __future__ import annotations

import unicodedata

# Task types whose references are verse lines; form is scored for these only.
VERSE_TASK_TYPES = frozenset({"next-line"})


def clause_lengths(line: str) -> tuple[int, ...]:
    """Characters per clause of the first line, clauses split at punctuation (letters and digits count)."""
    first = line.strip().split("\n", 1)[0] if line.strip() else ""
    lengths, run = [], 0
    for ch in first:
        if unicodedata.category(ch)[0] in "LN":
            run += 1
        elif unicodedata.category(ch)[0] == "P" and run:
            lengths.append(run)
            run = 0
    if run:
        lengths.append(run)
    return tuple(lengths)


def form_match(prediction: str, reference: str) -> float:
    """100 when the prediction's first line has the reference's clauses, each of the same length, else 0."""
    want = clause_lengths(reference)
    return 100.0 if want and clause_lengths(prediction) == want else 0.0
