"""Memory and time estimates for the training stages of a recipe on a given GPU, before renting it.

    langadapt plan recipes/luojiu.yaml --gpu a10-24gb
    report = plan_recipe(recipe, "a10-24gb")

Memory = weights + gradients + AdamW state of what trains + activations + logits + CUDA overhead.
Full fine-tuning keeps fp32 master weights (16 bytes per parameter with AdamW); LoRA keeps the base
in bf16 (2 bytes) or 4-bit NF4 (~0.52 bytes with double quantisation; embeddings stay bf16).
Activations follow the usual per-layer count of saved tensors with a fused attention kernel (no
s x s score matrix); gradient checkpointing keeps one hidden state per layer. Time assumes a model
FLOPs utilisation typical of each method (full ~40%, LoRA ~30%, QLoRA ~20%). These are estimates
to decide whether a setup fits; measure with a few real steps before a long run.
"""

from __future__ import annotations

from langadapt.errors import UserError
from langadapt.models.archs import Arch, find_arch

GPUS = {  # memory (GiB), dense bf16 peak (TFLOP/s; T4 and V100: fp16)
    "t4-16gb": (16, 65), "v100-16gb": (16, 125), "v100-32gb": (32, 125), "a10-24gb": (24, 125), "a10g-24gb": (24, 125),
    "l4-24gb": (24, 121), "rtx3090-24gb": (24, 71), "rtx4090-24gb": (24, 165), "a6000-48gb": (48, 155),
    "l40s-48gb": (48, 362), "a100-40gb": (40, 312), "a100-80gb": (80, 312), "h100-80gb": (80, 989),
    "h200-141gb": (141, 989),
}
MFU = {"full": 0.40, "lora": 0.30, "embeddings": 0.30, "qlora": 0.20}
CUDA_OVERHEAD_GB = 1.0
GB = 1024**3


def _lora_params(arch: Arch, cfg) -> int:
    shapes = arch.linear_shapes()
    per_layer = sum(cfg.lora.r * (i + o) for name, (i, o) in shapes.items() if name in cfg.lora.target_modules)
    return per_layer * arch.layers


def estimate(arch: Arch, cfg, gpu: str, num_gpus: int = 1, tokens: float = 1e8, new_tokens: int = 0) -> dict:
    if gpu not in GPUS:
        raise UserError(f"unknown GPU {gpu!r}; known: {', '.join(GPUS)}")
    mem_gb, tflops = GPUS[gpu]
    vocab = arch.vocab + new_tokens
    n = arch.num_parameters(vocab)
    emb = arch.embedding_parameters(vocab)
    h, L, s, b = arch.hidden, arch.layers, cfg.max_seq_length, cfg.per_device_batch_size
    method = cfg.method
    if method == "full":
        trainable, weights = n, n * 4.0
    else:
        body = n - emb
        per_param = 0.516 if method == "qlora" else 2.0
        weights = body * per_param + emb * 2.0
        trainable = _lora_params(arch, cfg) if method in ("lora", "qlora") else 0
        if new_tokens and (method == "embeddings" or cfg.lora.train_new_embeddings):
            trainable += new_tokens * h * (1 if arch.tied else 2)
        for module in cfg.lora.modules_to_save:
            trainable += {"embed_tokens": vocab * h, "lm_head": 0 if arch.tied else vocab * h}.get(module, h * L * 2)
    optimizer = trainable * (4 + 4 + 4)  # fp32 gradient + two AdamW moments
    tokens_micro = b * s
    act_bytes = 2  # bf16 activations
    if cfg.gradient_checkpointing:
        per_token = L * h * act_bytes + (6 * h + 2 * arch.kv_dim + 4 * arch.intermediate) * act_bytes
    else:
        per_token = L * (6 * h + 2 * arch.kv_dim + 4 * arch.intermediate) * act_bytes
        if method in ("lora", "qlora") and cfg.lora.dropout > 0:
            per_token += L * len(cfg.lora.target_modules) * h * act_bytes  # dropout copies of LoRA inputs
    activations = per_token * tokens_micro
    logits = tokens_micro * vocab * (2 + 4 + 4)  # bf16 logits, fp32 upcast for the loss, its gradient
    total = weights + optimizer + activations + logits + CUDA_OVERHEAD_GB * GB
    flops_token = (6 if method == "full" else 4) * n + (6 if method == "full" else 4) * L * h * s
    epochs = cfg.epochs if not cfg.max_steps else None
    train_tokens = tokens * (epochs or 1) if epochs else cfg.max_steps * b * cfg.gradient_accumulation_steps * num_gpus * s
    seconds = train_tokens * flops_token / (tflops * 1e12 * MFU[method] * num_gpus)
    if cfg.max_minutes:
        seconds = min(seconds, cfg.max_minutes * 60)
    fits = total <= mem_gb * GB
    hints = []
    if not fits:
        if not cfg.gradient_checkpointing:
            hints.append("gradient_checkpointing=true")
        if b > 1:
            hints.append(f"per_device_batch_size={max(1, b // 2)} with gradient_accumulation_steps={cfg.gradient_accumulation_steps * 2}")
        if method == "lora":
            hints.append("method=qlora")
        if method == "full":
            hints.append("method=lora, or FSDP/DeepSpeed ZeRO-3 across GPUs (configs/accelerate/)")
    return {
        "gpu": gpu, "num_gpus": num_gpus, "gpu_memory_gb": mem_gb, "model": arch.name, "method": method,
        "parameters": n, "trainable_parameters": trainable, "seq_len": s, "micro_batch": b,
        "memory_gb": {"weights": round(weights / GB, 2), "gradients_and_optimizer": round(optimizer / GB, 2),
                      "activations": round(activations / GB, 2), "logits": round(logits / GB, 2),
                      "cuda_overhead": CUDA_OVERHEAD_GB, "total": round(total / GB, 2)},
        "fits": fits, "hints": hints, "train_tokens": train_tokens,
        "hours": round(seconds / 3600, 2), "assumed_mfu": MFU[method],
    }


def plan_recipe(recipe, gpu: str, num_gpus: int = 1, tokens: float | None = None) -> dict:
    arch = find_arch(recipe.base_model)
    if arch is None:
        raise UserError(f"plan: no architecture facts for {recipe.base_model!r}; use a local model folder or one of "
                        "the models in langadapt.models.archs")
    new_tokens = recipe.tokenizer.new_tokens or 0 if recipe.tokenizer.enabled else 0
    stages = {}
    for name in ("pretrain", "sft"):
        cfg = getattr(recipe, name)
        if cfg.enabled:
            stages[name] = estimate(arch, cfg, gpu, num_gpus, tokens or (1e8 if name == "pretrain" else 2e7), new_tokens)
    return {"recipe": recipe.name, "base_model": recipe.base_model, "stages": stages,
            "tokens_assumed": tokens is None}


def format_plan(report: dict) -> str:
    lines = [f"{report['recipe']}: {report['base_model']}"]
    for name, e in report["stages"].items():
        m = e["memory_gb"]
        verdict = "fits" if e["fits"] else "does NOT fit"
        lines.append(f"  {name} ({e['method']}, seq {e['seq_len']} x batch {e['micro_batch']}) on {e['num_gpus']}x {e['gpu']}: "
                     f"~{m['total']:.1f} GB of {e['gpu_memory_gb']} GB, {verdict}")
        lines.append(f"    weights {m['weights']:.1f} + grads/optimizer {m['gradients_and_optimizer']:.1f} + activations "
                     f"{m['activations']:.1f} + logits {m['logits']:.1f} + overhead {m['cuda_overhead']:.1f} GB")
        lines.append(f"    {e['trainable_parameters'] / 1e6:.1f}M of {e['parameters'] / 1e9:.2f}B parameters train; "
                     f"~{e['hours']:.1f} h for {e['train_tokens']:.3g} tokens at {e['assumed_mfu']:.0%} MFU")
        if e["hints"]:
            lines.append("    to fit, try: " + "; ".join(e["hints"]))
    if report.get("tokens_assumed"):
        lines.append("  (token counts assumed: pass --tokens for your corpus size)")
    return "\n".join(lines)
