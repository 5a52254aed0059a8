"""Check an exported checkpoint against the model it came from: same logits within the dtype's tolerance.

    ref = reference_logits(source.model, tokenizer, texts)      # base+adapter, before merging
    result = verify_saved("out/", ref, texts, dtype="bf16")     # raises VerificationError on mismatch

The reference is computed in fp32 on the unmerged model; the export is reloaded from disk with
plain transformers, so the check covers the merge, the dtype cast, sharding and tied weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from langadapt.errors import UserError

# Largest allowed |merged - reference| as a share of the reference's largest |logit|. Rounding
# weights to 8 (bf16) or 11 (fp16) mantissa bits moves logits by a few tenths of a percent per
# layer stack; a missed merge or a dropped matrix moves them by whole units. fp32 rounding alone is
# not negligible either: the demo's SFT adapter merged into SmolLM2-135M (whose few very large
# activations magnify it) moved logits by 1.5e-4 of the largest in fp32, 5.6e-8 in float64, so the
# merge was right and the fp32 bound is 1e-3, still far below what a wrong merge does.
TOLERANCE = {"fp32": 1e-3, "fp16": 2e-2, "bf16": 6e-2}

# Used when no held-out text is at hand: several scripts, so rows of added tokens are likely hit.
DEFAULT_TEXTS = (
    "The Universal Declaration of Human Rights was adopted in 1948.",
    "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。",
    "人人生而自由，在尊嚴和權利上一律平等。",
    "འགྲོ་བ་མིའི་རིགས་རྒྱུད་ཡོངས་ལ་སྐྱེས་ཙམ་ཉིད་ནས་ཆེ་མཐོངས་དང༌།",
    "มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอภาคกันในเกียรติศักดิ์และสิทธิ",
)


class VerificationError(UserError):
    """The exported weights do not reproduce the source model."""


@dataclass
class VerifyResult:
    dtype: str
    texts: int
    tokens: int
    max_abs_diff: float
    max_abs_logit: float
    relative_diff: float
    tolerance: float
    top1_agreement: float

    @property
    def ok(self) -> bool:
        return self.relative_diff <= self.tolerance

    def as_dict(self) -> dict:
        return asdict(self) | {"ok": self.ok}


def verification_texts(tokenizer: Any, heldout: Sequence[str] = (), new_token_ids: Sequence[int] = (),
                       limit: int = 4, max_chars: int = 300) -> list[str]:
    """Held-out texts (or defaults) plus one text made of added tokens, so their trained rows are checked."""
    texts = [t[:max_chars] for t in heldout if t and t.strip()][:limit] or list(DEFAULT_TEXTS)
    if new_token_ids:
        ids = list(new_token_ids)[:64]
        texts.append(tokenizer.decode(ids))
    return texts


def reference_logits(model: Any, tokenizer: Any, texts: Sequence[str], max_tokens: int = 128) -> list:
    """fp32 logits of each text (no padding, so nothing depends on the attention mask)."""
    import torch

    out = []
    with torch.no_grad():
        for text in texts:
            ids = tokenizer(text, return_tensors="pt", truncation=True, max_length=max_tokens)
            out.append(model(**ids).logits[0].float().cpu())
    return out


def compare(reference: list, got: list, dtype: str) -> VerifyResult:
    import torch

    max_diff = max_ref = 0.0
    agree = total = 0
    for ref, new in zip(reference, got, strict=True):
        if ref.shape != new.shape:
            raise VerificationError(f"exported model gives logits of shape {tuple(new.shape)}, source gives {tuple(ref.shape)}")
        max_diff = max(max_diff, float((ref - new).abs().max()))
        max_ref = max(max_ref, float(ref.abs().max()))
        agree += int((ref.argmax(-1) == new.argmax(-1)).sum())
        total += ref.shape[0]
    rel = max_diff / max(max_ref, 1e-6)
    return VerifyResult(dtype, len(reference), total, max_diff, max_ref, rel, TOLERANCE[dtype],
                        agree / max(total, 1))


def check(reference: list, model: Any, tokenizer: Any, texts: Sequence[str], dtype: str, what: str) -> VerifyResult:
    """Compare `model` with the reference; raise VerificationError with the figures when it is off."""
    result = compare(reference, reference_logits(model, tokenizer, texts), dtype)
    if not result.ok:
        raise VerificationError(
            f"{what}: logits differ from base+adapter by {result.max_abs_diff:.4g} "
            f"({result.relative_diff:.2%} of the largest logit, tolerance {result.tolerance:.2%} for {dtype}); "
            f"top-1 agreement {result.top1_agreement:.1%} over {result.tokens} tokens. The export was not written."
        )
    return result


def verify_saved(folder: str | Path, reference: list, texts: Sequence[str], dtype: str) -> VerifyResult:
    """Reload the exported folder with plain transformers and compare its logits with the reference."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    model.eval()
    return check(reference, model, tokenizer, texts, dtype, f"exported checkpoint ({dtype})")
