"""Per-request sampling on a batch of logits, built from transformers' own logits processors.

Used by the serving engine (`langadapt.serve.engine`); run it through `langadapt chat|serve|webui`.
Rows that share sampling settings are warped together, so a batch of requests with the same
options costs one top-k/top-p pass, while history-dependent processors (repetition penalty,
no-repeat n-grams, suppressed first tokens, presence/frequency penalties) run per row on that
row's own tokens. A row whose numbers go bad (NaN, no token left to sample) or whose processors
raise is reported as failed on its own; the other rows of the batch still get their token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import torch
from pydantic import Field
from transformers.generation.logits_process import (
    LogitsProcessorList,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    SuppressTokensAtBeginLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
)

from langadapt.config.generation import GenerationConfig

SAMPLING_EPS = 1e-5
"""Temperatures below this decode greedily: dividing logits by less overflows to inf (then NaN)."""


class ServeGeneration(GenerationConfig):
    """The server's generation settings: the shared ones plus OpenAI's additive penalties."""

    presence_penalty: float = Field(0.0, ge=-2.0, le=2.0, description="Subtracted once from every token already generated.")
    frequency_penalty: float = Field(0.0, ge=-2.0, le=2.0, description="Subtracted per earlier occurrence in the answer.")

    @property
    def greedy(self) -> bool:
        return self.temperature < SAMPLING_EPS


class ChoiceError(Exception):
    """One row of a batch could not be sampled; the message says why."""


@dataclass
class Sampler:
    """Sampling state of one request: its processors, warper key and random generator."""

    config: GenerationConfig
    prompt_len: int
    processors: LogitsProcessorList = field(init=False)
    generator: torch.Generator | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        cfg = self.config
        procs = LogitsProcessorList()
        if cfg.repetition_penalty != 1.0:
            procs.append(RepetitionPenaltyLogitsProcessor(cfg.repetition_penalty))
        if cfg.no_repeat_ngram_size:
            procs.append(NoRepeatNGramLogitsProcessor(cfg.no_repeat_ngram_size))
        if cfg.begin_suppress_tokens:
            procs.append(SuppressTokensAtBeginLogitsProcessor(cfg.begin_suppress_tokens, self.prompt_len))
        self.processors = procs
        self.presence = float(getattr(cfg, "presence_penalty", 0.0))
        self.frequency = float(getattr(cfg, "frequency_penalty", 0.0))
        if cfg.seed is not None and not self.greedy:
            # manual_seed takes [-2**63, 2**64); folding keeps any integer a valid, distinct seed.
            self.generator = torch.Generator().manual_seed(cfg.seed % 2**64)

    @property
    def greedy(self) -> bool:
        return self.config.temperature < SAMPLING_EPS

    def penalise(self, ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        """History-dependent processors on one row: `ids` [1, T] prompt + answer, `scores` [1, V]."""
        scores = self.processors(ids, scores) if self.processors else scores
        if self.presence or self.frequency:
            answer = ids[0, self.prompt_len:]
            if answer.numel():
                counts = torch.bincount(answer, minlength=scores.shape[-1])[: scores.shape[-1]].to(scores.dtype)
                scores = scores - self.frequency * counts - self.presence * (counts > 0).to(scores.dtype)
        return scores

    @property
    def warp_key(self) -> tuple | None:
        """Rows with the same key are warped in one batched call; None means greedy."""
        cfg = self.config
        if self.greedy:
            return None
        return (cfg.temperature, cfg.top_k, cfg.top_p, cfg.typical_p)


@lru_cache(maxsize=256)  # bounded: every client picks its own numbers
def warpers_for(key: tuple) -> LogitsProcessorList:
    """The same order as transformers' `generate`: temperature, top-k, top-p, typical."""
    temperature, top_k, top_p, typical_p = key
    warpers = LogitsProcessorList()
    if temperature != 1.0:
        warpers.append(TemperatureLogitsWarper(temperature))
    if top_k:
        warpers.append(TopKLogitsWarper(top_k))
    if top_p < 1.0:
        warpers.append(TopPLogitsWarper(top_p))
    if typical_p < 1.0:
        warpers.append(TypicalLogitsWarper(typical_p))
    return warpers


def choose_tokens(logits: torch.Tensor, samplers: Sequence[Sampler],
                  histories: Sequence[Sequence[int]]) -> list[int | ChoiceError]:
    """Pick the next token of every row of `logits` [B, V] with that row's own settings.

    `histories[i]` is row i's prompt plus generated ids (what history-dependent processors look at).
    A row that cannot be sampled gets a `ChoiceError` in its place instead of failing the batch.
    """
    scores = logits.float().clone()
    chosen: list[int | ChoiceError] = [0] * len(samplers)
    for i, sampler in enumerate(samplers):
        if sampler.processors or sampler.presence or sampler.frequency:
            ids = torch.tensor([list(histories[i])], dtype=torch.long, device=scores.device)
            try:
                scores[i : i + 1] = sampler.penalise(ids, scores[i : i + 1])
            except Exception as exc:  # one request's settings must not fail the others
                chosen[i] = ChoiceError(f"logits processors failed: {type(exc).__name__}: {exc}")
    # +inf or NaN anywhere, or nothing left above -inf, leaves no distribution to sample from.
    bad_rows = (torch.isnan(scores).any(-1) | torch.isposinf(scores).any(-1) | torch.isneginf(scores).all(-1)).tolist()
    groups: dict[tuple | None, list[int]] = {}
    for i, sampler in enumerate(samplers):
        if isinstance(chosen[i], ChoiceError):
            continue
        if bad_rows[i]:
            chosen[i] = ChoiceError("the scores of this request became NaN or infinite")
            continue
        groups.setdefault(sampler.warp_key, []).append(i)
    for key, rows in groups.items():
        index = torch.tensor(rows, device=scores.device)
        if key is None:
            picks = scores.index_select(0, index).argmax(-1).tolist()
            for row, tok in zip(rows, picks):
                chosen[row] = tok
            continue
        # Warpers ignore input ids; they need a tensor with the batch size only.
        dummy = torch.zeros((len(rows), 1), dtype=torch.long, device=scores.device)
        probs = torch.softmax(warpers_for(key)(dummy, scores.index_select(0, index)), dim=-1)
        ok = (torch.isfinite(probs).all(-1) & (probs.sum(-1) > 0)).tolist()
        unseeded = [j for j, row in enumerate(rows) if samplers[row].generator is None and ok[j]]
        if unseeded:
            picks = torch.multinomial(probs[unseeded], 1).squeeze(-1).tolist()
            for j, tok in zip(unseeded, picks):
                chosen[rows[j]] = tok
        for j, row in enumerate(rows):
            gen = samplers[row].generator
            if not ok[j]:
                chosen[row] = ChoiceError("the sampling probabilities of this request are not finite")
            elif gen is not None:
                chosen[row] = int(torch.multinomial(probs[j].cpu(), 1, generator=gen))
    return chosen


def top_logprobs(logprobs: torch.Tensor, chosen: Sequence[int], k: int) -> list[tuple[float, list[tuple[int, float]]]]:
    """For each row: the chosen token's log-probability and the k most likely (id, log-probability)."""
    picked = logprobs.gather(-1, torch.tensor(chosen, device=logprobs.device)[:, None]).squeeze(-1).tolist()
    if k > 0:
        values, ids = logprobs.topk(k, dim=-1)
        tops = [list(zip(i, v)) for i, v in zip(ids.tolist(), values.tolist())]
    else:
        tops = [[] for _ in chosen]
    return list(zip(picked, tops))
