"""chrF and chrF++ through sacreBLEU: corpus-level scores with their signature, and sentence scores.

    from langadapt.eval.chrf import chrf, corpus_chrf
    chrf("人人生而自由", "人人生而平等")                       # one example, for the examples table
    corpus_chrf(["人人生而自由"], ["人人生而平等"]).as_dict()    # {'chrf': ..., 'chrf_pp': ..., signatures}

Papers report corpus-level chrF (character n-gram statistics summed over the whole test set, then one
F-score), not the mean of sentence scores, and quote sacreBLEU's signature so the number can be
reproduced; so the scores come from sacreBLEU itself rather than our own n-gram counting.

Units: chrF's character n-grams (n = 1..6, whitespace removed) need no segmenter for Chinese,
Tibetan or Thai, so the text goes to sacreBLEU as it is and stays comparable with published figures.
chrF++ adds word uni- and bigrams split at whitespace; on scripts written without spaces between
words those carry little, which is why the word-level metric of the report stays ROUGE-L over the
language-aware units of eval.units.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence


@dataclass(frozen=True)
class ChrfResult:
    chrf: float
    chrf_pp: float
    chrf_signature: str
    chrf_pp_signature: str
    n: int

    def as_dict(self) -> dict:
        return asdict(self)


def _metric(word_order: int):
    from sacrebleu.metrics import CHRF

    return CHRF(word_order=word_order)


def _as_list(reference: str | Sequence[str]) -> list[str]:
    return [reference] if isinstance(reference, str) else list(reference)


def chrf(prediction: str, reference: str | Sequence[str], word_order: int = 0) -> float:
    """Sentence chrF (word_order=2: chrF++) of one prediction against one or more references, 0-100."""
    refs = _as_list(reference)
    if not refs:
        return 0.0
    return float(_metric(word_order).sentence_score(prediction, refs).score)


def corpus_chrf(predictions: Sequence[str], references: Sequence[str | Sequence[str]]) -> ChrfResult:
    """Corpus chrF and chrF++ over aligned predictions and references (each a string or a list)."""
    if len(predictions) != len(references):
        raise ValueError(f"corpus_chrf: {len(predictions)} predictions but {len(references)} references")
    if not predictions:
        raise ValueError("corpus_chrf: no predictions to score")
    refs = [_as_list(r) for r in references]
    if any(not r for r in refs):
        raise ValueError("corpus_chrf: an item has no reference")
    width = max(len(r) for r in refs)
    # sacreBLEU wants one stream per reference slot; items with fewer references pad with None.
    streams = [[r[i] if i < len(r) else None for r in refs] for i in range(width)]
    plain, plus = _metric(0), _metric(2)
    char_score = plain.corpus_score(list(predictions), streams)
    both_score = plus.corpus_score(list(predictions), streams)
    return ChrfResult(chrf=float(char_score.score), chrf_pp=float(both_score.score),
                      chrf_signature=str(plain.get_signature()), chrf_pp_signature=str(plus.get_signature()),
                      n=len(predictions))
