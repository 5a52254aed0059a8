"""Batches from token sequences: padding, per-document positions, and a resumable data order.

The order of sequences is a pure function of (seed, epoch), so a resumed run sees exactly the
batches the uninterrupted run would have seen, and every process of a distributed run takes its
own slice of the same global batch.
"""

from __future__ import annotations

from typing import Sequence

import torch

IGNORE = -100


def collate(seqs: Sequence[dict], pad_id: int, packed: bool) -> dict[str, torch.Tensor]:
    """Right-pad to the longest sequence.

    Packed batches carry no attention mask: their restarting `position_ids` make transformers build
    per-document attention. The padding tail of a packed row becomes its own masked-out segment.
    Unpacked batches get an ordinary attention mask.
    """
    width = max(len(s["input_ids"]) for s in seqs)
    ids, labels, pos, mask = [], [], [], []
    for s in seqs:
        n = len(s["input_ids"])
        gap = width - n
        ids.append(list(s["input_ids"]) + [pad_id] * gap)
        labels.append(list(s["labels"]) + [IGNORE] * gap)
        if packed:
            pos.append(list(s["position_ids"]) + list(range(gap)))
        else:
            pos.append(list(range(width)))
            mask.append([1] * n + [0] * gap)
    batch = {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "position_ids": torch.tensor(pos)}
    if not packed:
        batch["attention_mask"] = torch.tensor(mask)
    return batch


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g).tolist()


def steps_per_epoch(n: int, global_batch: int) -> int:
    return max(1, n // global_batch)


def global_batch_indices(n: int, global_batch: int, seed: int, step: int) -> list[int]:
    """Sequence indices of optimiser step `step`; the tail that does not fill a global batch is dropped."""
    per_epoch = steps_per_epoch(n, global_batch)
    epoch, k = divmod(step, per_epoch)
    order = epoch_order(n, seed, epoch)
    return order[k * global_batch:(k + 1) * global_batch]


def micro_batches(indices: list[int], rank: int, world: int, per_device: int) -> list[list[int]]:
    """This process's share of a global batch, cut into micro-batches for gradient accumulation."""
    mine = indices[rank::world]
    return [mine[i:i + per_device] for i in range(0, len(mine), per_device)]


def label_tokens(batch: dict[str, torch.Tensor]) -> int:
    """Tokens that count in the loss (labels are shifted by one inside the model's loss)."""
    return int((batch["labels"][:, 1:] != IGNORE).sum())
