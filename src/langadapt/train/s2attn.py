"""Shifted sparse attention (S2-Attn, LongLoRA arXiv 2309.12307) as a registered transformers attention.

    from langadapt.train.s2attn import register
    name = register(group_size_ratio=0.25)        # -> "s2attn"
    model = AutoModelForCausalLM.from_pretrained(path, attn_implementation=name)

In training mode the sequence is cut into groups of `ratio * length` tokens and attention stays
inside a group (causal); half of the heads see groups shifted by half a group, so information
flows between neighbouring groups. The shifted half is padded rather than rolled, so no token ever
sees a later token (the rolled variant lets the first group see the sequence's tail). In eval mode,
and whenever the length does not split into groups, it is plain sdpa: inference uses full
attention, as LongLoRA prescribes. Packed batches (restarting positions) are not combined with
S2-Attn: groups ignore document boundaries, so use it with packing off.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

NAME = "s2attn"
_settings = {"ratio": 0.25}


def _repeat_kv(x: torch.Tensor, n: int) -> torch.Tensor:
    if n == 1:
        return x
    b, h, s, d = x.shape
    return x[:, :, None].expand(b, h, n, s, d).reshape(b, h * n, s, d)


def _grouped(q, k, v, group: int, scaling: float, valid: torch.Tensor | None) -> torch.Tensor:
    """Causal attention inside consecutive groups. q/k/v: [B, H, S, D] with S divisible by `group`."""
    b, h, s, d = q.shape
    n = s // group

    def split(x):
        return x.reshape(b, h, n, group, d).transpose(1, 2).reshape(b * n, h, group, d)

    causal = torch.ones(group, group, dtype=torch.bool, device=q.device).tril()
    if valid is None:
        mask = causal
    else:
        # Padding keys are hidden from real queries; every query may see itself so no row is empty.
        keys = valid.reshape(b * n, 1, 1, group)
        eye = torch.eye(group, dtype=torch.bool, device=q.device)
        mask = causal & (keys | eye)
    out = F.scaled_dot_product_attention(split(q), split(k), split(v), attn_mask=mask, scale=scaling)
    return out.reshape(b, n, h, group, d).transpose(1, 2).reshape(b, h, s, d)


def s2_attention(q, k, v, group: int, scaling: float) -> torch.Tensor:
    """[B, H, S, D] -> [B, H, S, D]; first half of the heads unshifted, second half shifted by group/2."""
    b, h, s, d = q.shape
    half, shift = h // 2, group // 2
    plain = _grouped(q[:, :half], k[:, :half], v[:, :half], group, scaling, None)

    def pad(x):
        return F.pad(x[:, half:], (0, 0, shift, group - shift))

    valid = torch.zeros(b, s + group, dtype=torch.bool, device=q.device)
    valid[:, shift:shift + s] = True
    shifted = _grouped(pad(q), pad(k), pad(v), group, scaling, valid)[:, :, shift:shift + s]
    return torch.cat([plain, shifted], dim=1)


def s2attn_forward(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None, **kwargs):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    s = query.shape[2]
    group = int(s * _settings["ratio"])
    if not module.training or group < 2 or s % group or query.shape[1] < 2:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs)
    n_rep = query.shape[1] // key.shape[1]
    key, value = _repeat_kv(key, n_rep), _repeat_kv(value, n_rep)
    scaling = scaling if scaling is not None else query.shape[-1] ** -0.5
    out = s2_attention(query, key, value, group, scaling)
    return out.transpose(1, 2).contiguous(), None


def register(group_size_ratio: float = 0.25) -> str:
    """Make `attn_implementation="s2attn"` available to every transformers model; returns the name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    _settings["ratio"] = float(group_size_ratio)
    AttentionInterface.register(NAME, s2attn_forward)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME
