"""ROUGE-L F1 over language-aware units (see units.py), reported 0-100.

    from langadapt.eval.rouge import rouge_l
    rouge_l("人人生而自由", "人生而平等")   # LCS 人生而 = 3 units -> P 3/6, R 3/5, F1 54.5
"""

from __future__ import annotations

from dataclasses import dataclass

from langadapt.eval.units import units


@dataclass(frozen=True)
class RougeL:
    precision: float
    recall: float
    f1: float


def lcs_length(a: list[str], b: list[str]) -> int:
    """Longest common subsequence length, O(len(a) * len(b)) time and O(len(b)) memory."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def rouge_l_scores(prediction: str, reference: str) -> RougeL:
    pred, ref = units(prediction), units(reference)
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return RougeL(0.0, 0.0, 0.0)
    p, r = lcs / len(pred), lcs / len(ref)
    return RougeL(100 * p, 100 * r, 100 * 2 * p * r / (p + r))


def rouge_l(prediction: str, reference: str | list[str]) -> float:
    """ROUGE-L F1 (0-100); with several references, the best match counts."""
    refs = [reference] if isinstance(reference, str) else list(reference)
    return max((rouge_l_scores(prediction, r).f1 for r in refs), default=0.0)
