"""chrF (Popović 2015): character n-gram F-score, n = 1..6, beta = 2, whitespace ignored; 0-100.

    from langadapt.eval.chrf import chrf
    chrf("人人生而自由", "人人生而平等")

Works on characters, so it needs no segmenter for any script. Scored per sentence: precision and
recall are averaged over the n-gram orders both strings are long enough to have, then combined
into one F-beta (sacreBLEU's default chrF).
"""

from __future__ import annotations

from collections import Counter


def _ngrams(text: str, n: int) -> Counter:
    return Counter(text[i:i + n] for i in range(len(text) - n + 1))


def chrf(prediction: str, reference: str | list[str], order: int = 6, beta: float = 2.0) -> float:
    refs = [reference] if isinstance(reference, str) else list(reference)
    return max((_chrf_one(prediction, r, order, beta) for r in refs), default=0.0)


def _chrf_one(prediction: str, reference: str, order: int, beta: float) -> float:
    hyp = "".join(prediction.split())
    ref = "".join(reference.split())
    b2 = beta * beta
    sum_p = sum_r = 0.0
    effective = 0
    for n in range(1, order + 1):
        h, r = _ngrams(hyp, n), _ngrams(ref, n)
        n_hyp, n_ref = sum(h.values()), sum(r.values())
        if n_hyp == 0 or n_ref == 0:
            continue
        match = sum((h & r).values())
        sum_p += match / n_hyp
        sum_r += match / n_ref
        effective += 1
    if not effective or not (sum_p + sum_r):
        return 0.0
    p, r = sum_p / effective, sum_r / effective
    return 100 * (1 + b2) * p * r / (b2 * p + r)
