"""8-bit and 4-bit loading (bitsandbytes) and one greedy generation, through langadapt's own loader.
Run by bench/gpu_check.sh; alone:

    python bench/gpu/quant_load.py 8bit|4bit
"""

from __future__ import annotations

import sys

from common import MODEL, need, run_check


def check(bits: str) -> dict:
    import torch

    need("bitsandbytes", "pip install 'langadapt[qlora]'")
    from langadapt.serve.loading import load_for_serving

    torch.cuda.reset_peak_memory_stats()
    model, tok = load_for_serving(MODEL, device="cuda", quantization=bits)  # what `--load-in` passes
    inputs = tok("春眠不覺曉，", return_tensors="pt").to(model.device)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=24, do_sample=False)
    text = tok.decode(out[0][inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    quantised = sum(1 for m in model.modules() if "bnb" in type(m).__module__.lower())
    return {"status": "ok" if quantised and text.strip() else "fail", "quantised_layers": quantised,
            "peak_memory_mb": round(torch.cuda.max_memory_allocated() / 2**20, 1), "greedy": text[:40]}


if __name__ == "__main__":
    run_check(f"load_{sys.argv[1]}", lambda: check(sys.argv[1]))
