"""Flash attention with packed sequences: logits of documents packed into one row (position ids
restarting per document) equal each document's own logits. Run by bench/gpu_check.sh; alone:

    python bench/gpu/flash_packed.py

transformers' flash_attention_2 reads document boundaries from the position ids (varlen kernel),
which is how the trainer packs without cross-document attention; a wrong boundary shows up here as a
large difference on every document after the first.
"""

from __future__ import annotations

from common import MODEL, need, run_check


def check() -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from langadapt.models.resolve import resolve_model

    need("flash_attn", "pip install flash-attn")
    folder = resolve_model(MODEL).weights
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16,
                                                 attn_implementation="flash_attention_2").cuda().eval()
    docs = ["春眠不覺曉，處處聞啼鳥。夜來風雨聲，花落知多少。", "The quick brown fox jumps over the lazy dog.",
            "白日依山盡，黃河入海流。欲窮千里目，更上一層樓。 Language models learn new scripts."]
    ids = [tok(d, return_tensors="pt").input_ids[0] for d in docs]
    packed = torch.cat(ids).unsqueeze(0).cuda()
    positions = torch.cat([torch.arange(len(x)) for x in ids]).unsqueeze(0).cuda()
    with torch.no_grad():
        together = model(input_ids=packed, position_ids=positions).logits[0].float()
        alone = torch.cat([model(input_ids=x.unsqueeze(0).cuda()).logits[0].float() for x in ids])
    diff = (together - alone).abs().max().item()
    top1 = (together.argmax(-1) == alone.argmax(-1)).float().mean().item()
    # bf16 kernels differ in summation order between one long row and short ones: compare to the logit scale.
    scale = alone.abs().max().item()
    ok = diff <= 0.02 * scale and top1 >= 0.99
    return {"status": "ok" if ok else "fail", "max_abs_diff": round(diff, 4), "logit_scale": round(scale, 2),
            "top1_agreement": round(top1, 4), "tokens": int(packed.shape[1])}


if __name__ == "__main__":
    run_check("flash_packed", check)
