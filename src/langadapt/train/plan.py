"""Memory and time estimates for the training stages of a recipe on a given GPU, before renting it.

    langadapt plan recipes/luojiu-llama2-zh-tw.yaml              # GPU from hardware.gpu
    langadapt plan recipes/llama-3.2-taiwan-3b-cpt.yaml --gpu h100-80gb --num-gpus 8
    report = plan_recipe(recipe, "a10-24gb")

Per GPU: weights + gradients + AdamW state + activations + logits + CUDA overhead, with the
assumptions printed under every estimate (ASSUMPTIONS). In short:
- `full` keeps fp32 master weights under autocast (4 + 4 gradient + 8 AdamW = 16 bytes per parameter);
  `lora`/`embeddings` keep the frozen base in 16-bit (2 bytes), `qlora` in 4-bit NF4 (~0.52 bytes with
  double quantisation; embeddings and output layer stay 16-bit). What trains costs 16 bytes per
  parameter (fp32 weight, gradient, two AdamW moments).
- Strategy (`hardware.strategy`): `ddp` replicates everything; `zero2` shards gradients and optimizer
  state over the GPUs; `zero3`/`fsdp` shard weights too, and hold two gathered units (the one computing
  and the prefetched one) in the compute dtype.
- Activations: a fused attention kernel (no s x s score matrix). With gradient checkpointing one hidden
  state per layer is kept plus one layer recomputed in backward (its activations and their gradients);
  without it every layer's saved tensors.
- Logits: the training loop calls the model with labels, so transformers materialises the logits of the
  whole micro-batch in the compute dtype, upcasts them to fp32 for the loss and keeps the fp32
  log-probabilities for backward: compute bytes + 12 bytes per token and vocabulary entry at the peak
  of backward (no chunked loss). The micro-batch is what this scales with: lower it and raise
  gradient accumulation to keep a global batch.
- Time: training FLOPs at a model FLOPs utilisation typical of each method (its `mfu`: full ~40%,
  LoRA ~30%, QLoRA ~20%). These are estimates to decide whether a setup fits; measure a few real steps first.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from langadapt.errors import UserError
from langadapt.models.archs import Arch, find_arch
from langadapt.train import methods
from langadapt.train.methods import TrainingMethod

GPUS = {  # memory (GiB), dense bf16 peak (TFLOP/s; T4 and V100: fp16)
    "t4-16gb": (16, 65), "v100-16gb": (16, 125), "v100-32gb": (32, 125), "a10-24gb": (24, 125), "a10g-24gb": (24, 125),
    "l4-24gb": (24, 121), "rtx3090-24gb": (24, 71), "rtx4090-24gb": (24, 165), "a6000-48gb": (48, 155),
    "l40s-48gb": (48, 362), "a100-40gb": (40, 312), "a100-80gb": (80, 312), "h100-80gb": (80, 989),
    "h200-141gb": (141, 989),
}
STRATEGIES = ("ddp", "zero2", "zero3", "fsdp")
CUDA_OVERHEAD_GB = 1.0
GB = 1024**3
LOGIT_EXTRA_BYTES = 12  # fp32 upcast kept as log-probabilities (4) + their gradient (4) + gradient of the upcast (4)

ASSUMPTIONS = (
    "per GPU; full = fp32 master weights + autocast, 16 bytes/param; LoRA/QLoRA base 2 / ~0.52 bytes/param, "
    "trained params 16 bytes; ZeRO-2 shards grads+optimizer, ZeRO-3/FSDP also weights (+2 gathered units); "
    "fused attention; logits of the whole micro-batch in the compute dtype + fp32 loss (no chunking); "
    "+1 GB CUDA context"
)


def _compute_bytes(cfg) -> int:
    return 4 if cfg.precision == "fp32" else 2


def _layer_activation_bytes(arch: Arch, cfg, method: TrainingMethod, cb: int) -> int:
    """Saved tensors of one decoder layer per token: norms, q/k/v, attention output, MLP in/out."""
    return (6 * arch.hidden + 2 * arch.kv_dim + 4 * arch.intermediate) * cb + method.activation_bytes(arch, cfg, cb)


def estimate(arch: Arch, cfg, gpu: str, num_gpus: int = 1, tokens: float = 1e8, new_tokens: int = 0,
             strategy: str = "ddp") -> dict:
    if gpu not in GPUS:
        raise UserError(f"unknown GPU {gpu!r}; known: {', '.join(GPUS)}")
    if strategy not in STRATEGIES:
        raise UserError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    mem_gb, tflops = GPUS[gpu]
    vocab = arch.vocab + new_tokens
    n = arch.num_parameters(vocab)
    emb = arch.embedding_parameters(vocab)
    h, L, s, b = arch.hidden, arch.layers, cfg.max_seq_length, cfg.per_device_batch_size
    method, cb = methods.get(cfg.method), _compute_bytes(cfg)
    shard = num_gpus if num_gpus > 1 else 1
    mem = method.memory(arch, cfg, vocab, new_tokens)
    weights, states, trainable = mem.weights, mem.states, mem.trainable
    gathered = 0.0
    if strategy in ("zero3", "fsdp") and shard > 1:
        weights /= shard
        states /= shard
        # One unit computing, one prefetched; the root unit holds the embeddings and output layer.
        unit = max(arch.layer_parameters(), emb)
        gathered = 2 * unit * cb
    elif strategy == "zero2" and shard > 1:
        states /= shard
    tokens_micro = b * s
    layer = _layer_activation_bytes(arch, cfg, method, cb)
    if cfg.gradient_checkpointing:
        per_token = L * h * cb + 2 * layer  # layer inputs kept; one layer recomputed (values + gradients)
    else:
        per_token = L * layer
    per_token += 2 * h * cb  # final norm and the output layer's input
    activations = per_token * tokens_micro
    logits = tokens_micro * vocab * (cb + LOGIT_EXTRA_BYTES)
    total = weights + states + gathered + activations + logits + CUDA_OVERHEAD_GB * GB
    # Backward: weight and input gradients (4N) when every weight trains, input gradients only (2N) otherwise.
    per_param = 6 if method.trains_base_weights else 4
    flops_token = per_param * n + per_param * L * h * s
    epochs = cfg.epochs if not cfg.max_steps else None
    train_tokens = tokens * (epochs or 1) if epochs else cfg.max_steps * b * cfg.gradient_accumulation_steps * num_gpus * s
    seconds = train_tokens * flops_token / (tflops * 1e12 * method.mfu * num_gpus)
    if cfg.max_minutes:
        seconds = min(seconds, cfg.max_minutes * 60)
    fits = total <= mem_gb * GB
    hints = _hints(cfg, method, strategy, num_gpus, b) if not fits else []
    return {
        "gpu": gpu, "num_gpus": num_gpus, "strategy": strategy, "gpu_memory_gb": mem_gb, "model": arch.name,
        "method": method.name, "parameters": n, "trainable_parameters": trainable, "seq_len": s, "micro_batch": b,
        "gradient_accumulation_steps": cfg.gradient_accumulation_steps,
        "global_batch": b * cfg.gradient_accumulation_steps * num_gpus, "vocab": vocab,
        "memory_gb": {"weights": round((weights + gathered) / GB, 2), "gradients_and_optimizer": round(states / GB, 2),
                      "activations": round(activations / GB, 2), "logits": round(logits / GB, 2),
                      "cuda_overhead": CUDA_OVERHEAD_GB, "total": round(total / GB, 2)},
        "fits": fits, "hints": hints, "train_tokens": train_tokens,
        "hours": round(seconds / 3600, 2), "assumed_mfu": method.mfu, "assumptions": ASSUMPTIONS,
    }


def _hints(cfg, method: TrainingMethod, strategy: str, num_gpus: int, b: int) -> list[str]:
    hints = []
    if not cfg.gradient_checkpointing:
        hints.append("gradient_checkpointing=true")
    if b > 1:
        hints.append(f"per_device_batch_size={max(1, b // 2)} with gradient_accumulation_steps="
                     f"{cfg.gradient_accumulation_steps * 2} (same global batch)")
    return hints + method.hints(strategy, num_gpus)


def plan_arch(recipe) -> Arch:
    """Architecture facts: the local model's config.json, else `hardware.architecture`, else the base's name."""
    hw = recipe.hardware
    arch = None
    if (Path(recipe.base_model).expanduser() / "config.json").is_file() or not hw.architecture:
        arch = find_arch(recipe.base_model)
    if arch is None and hw.architecture:
        arch = find_arch(hw.architecture)
        if arch is None:
            raise UserError(f"plan: no architecture facts for hardware.architecture {hw.architecture!r}")
    if arch is None:
        raise UserError(f"plan: no architecture facts for {recipe.base_model!r}; set hardware.architecture to a "
                        "model in langadapt.models.archs (e.g. meta-llama/Llama-2-7b-hf) or use a local model folder")
    if hw.vocab_size and not (Path(recipe.base_model).expanduser() / "config.json").is_file():
        arch = replace(arch, vocab=hw.vocab_size)
    return arch


def plan_recipe(recipe, gpu: str, num_gpus: int = 1, tokens: float | None = None, strategy: str | None = None) -> dict:
    arch = plan_arch(recipe)
    strategy = strategy or getattr(recipe.hardware, "strategy", "ddp")
    tok = recipe.tokenizer
    # `auto` keeps at most auto_max_tokens pieces: plan for the largest vocabulary it can choose.
    new_tokens = (tok.auto_max_tokens if tok.new_tokens == "auto" else (tok.new_tokens or 0)) if tok.enabled else 0
    stages = {}
    for name in ("pretrain", "sft"):
        cfg = getattr(recipe, name)
        if cfg.enabled:
            stages[name] = estimate(arch, cfg, gpu, num_gpus, tokens or (1e8 if name == "pretrain" else 2e7),
                                    new_tokens, strategy)
    return {"recipe": recipe.name, "base_model": recipe.base_model, "architecture": arch.name, "stages": stages,
            "tokens_assumed": tokens is None}


def format_plan(report: dict) -> str:
    lines = [f"{report['recipe']}: {report['base_model']} (architecture {report.get('architecture', '?')})"]
    assumptions = None
    for name, e in report["stages"].items():
        m = e["memory_gb"]
        verdict = "fits" if e["fits"] else "does NOT fit"
        lines.append(f"  {name} ({e['method']}, seq {e['seq_len']} x batch {e['micro_batch']}) on {e['num_gpus']}x {e['gpu']} "
                     f"[{e['strategy']}]: ~{m['total']:.1f} GB of {e['gpu_memory_gb']} GB per GPU, {verdict}")
        lines.append(f"    weights {m['weights']:.1f} + grads/optimizer {m['gradients_and_optimizer']:.1f} + activations "
                     f"{m['activations']:.1f} + logits {m['logits']:.1f} + overhead {m['cuda_overhead']:.1f} GB")
        lines.append(f"    {e['trainable_parameters'] / 1e6:.1f}M of {e['parameters'] / 1e9:.2f}B parameters train (vocab {e['vocab']}); "
                     f"global batch {e['micro_batch']} x {e['gradient_accumulation_steps']} x {e['num_gpus']} = {e['global_batch']}; "
                     f"~{e['hours']:.1f} h for {e['train_tokens']:.3g} tokens at {e['assumed_mfu']:.0%} MFU")
        if e["hints"]:
            lines.append("    to fit, try: " + "; ".join(e["hints"]))
        assumptions = e.get("assumptions")
    if assumptions:
        lines.append(f"  assumptions: {assumptions}")
    if report.get("tokens_assumed"):
        lines.append("  (token counts assumed: pass --tokens for your corpus size)")
    return "\n".join(lines)
