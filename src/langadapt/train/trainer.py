"""The training loop shared by `pretrain` and `sft`, on accelerate (DDP, FSDP, DeepSpeed via `accelerate launch`).

    result = train(cfg, model_ref, out_dir, build_data, stage="pretrain")

Why a short loop of our own instead of transformers' Trainer: three requirements cut across
Trainer's internals. (1) Exact resume after SIGKILL: checkpoints here are atomic folders with
trained weights in safetensors, the optimiser state loaded with `weights_only=True`, every RNG, and
a data order that is a pure function of (seed, step). (2) A wall-time budget (`max_minutes`) plans
the LR schedule before the first step from a timed calibration pass. (3) The loss is normalised by
the label tokens of the whole global batch (all micro-batches, all processes), so 2 processes
give the same curve as 1 with the same global batch, and packing does not reweight documents.
Model loading, PEFT, mixed precision, gradient sync and sharding stay in transformers, peft and
accelerate.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from langadapt.errors import UserError
from langadapt.train import checkpoint as ckpt
from langadapt.train import checkpoint_sharded as ckpt_sharded
from langadapt.train.batching import collate, global_batch_indices, label_tokens, micro_batches, steps_per_epoch
from langadapt.train.export import save_outputs
from langadapt.train.loading import Loaded, check_method, count_parameters, prepare, resolve_precision
from langadapt.train.metrics import MetricsLog, flops_per_token, hardware, peak_flops, peak_memory_mb, plot_loss
from langadapt.train.schedule import lr_factor, warmup_steps


@dataclass
class Data:
    """Training and validation sequences: lists, or views that read a memory-mapped token store on indexing."""
    train: Sequence[dict]
    val: Sequence[dict]
    packed: bool
    summary: dict = field(default_factory=dict)


@dataclass
class TrainResult:
    outputs: dict[str, str]
    metrics: dict


def _accelerator(precision: str):
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    mp = {"bf16": "bf16", "fp16": "fp16"}.get(precision, "no")
    state = AcceleratorState._shared_state
    if state and str(state.get("_mixed_precision", mp)) != mp:
        # One process may run stages of different precisions (a recipe, a test session); accelerate
        # keeps the first choice process-wide, so the old one is dropped (the process group stays).
        AcceleratorState._reset_state()
    return Accelerator(mixed_precision=mp, cpu=not torch.cuda.is_available())


def _forward_backward(accelerator, model, batches, global_items: int, world: int) -> float:
    """One optimiser step's micro-batches; returns this process's share of the global-batch loss."""
    total = 0.0
    for i, batch in enumerate(batches):
        batch = {k: v.to(accelerator.device) for k, v in batch.items()}
        sync = i == len(batches) - 1
        with nullcontext() if sync or world == 1 else accelerator.no_sync(model):
            with accelerator.autocast():
                out = model(**batch, num_items_in_batch=global_items, use_cache=False)
            # DDP averages gradients over processes; the loss is already a share of the global sum.
            accelerator.backward(out.loss * world)
        total += float(out.loss.detach())
    return total


@torch.no_grad()
def evaluate(accelerator, model, seqs: list[dict], pad_id: int, packed: bool, batch_size: int) -> float | None:
    """Mean loss per label token over the validation sequences."""
    if not seqs:
        return None
    model.eval()
    loss_sum, items = 0.0, 0
    for i in range(0, len(seqs), batch_size):
        batch = collate(seqs[i:i + batch_size], pad_id, packed)
        n = label_tokens(batch)
        if n == 0:
            continue
        batch = {k: v.to(accelerator.device) for k, v in batch.items()}
        with accelerator.autocast():
            out = model(**batch, num_items_in_batch=n, use_cache=False)
        loss_sum += float(out.loss) * n
        items += n
    model.train()
    return loss_sum / items if items else None


def _calibrate(accelerator, model, data: Data, cfg, pad_id: int, world: int) -> float:
    """Seconds per optimiser step, timed on real batches with gradients discarded (RNG restored)."""
    rng = ckpt.rng_state()
    G = cfg.per_device_batch_size * cfg.gradient_accumulation_steps * world
    idx = global_batch_indices(len(data.train), G, cfg.seed, 0)
    mb = micro_batches(idx, accelerator.process_index, world, cfg.per_device_batch_size)[:2]
    batches = [collate([data.train[i] for i in m], pad_id, data.packed) for m in mb]
    times = []
    for b in batches * (2 if len(batches) == 1 else 1):
        t0 = time.perf_counter()
        _forward_backward(accelerator, model, [b], max(1, label_tokens(b)), 1)
        times.append(time.perf_counter() - t0)
    model.zero_grad(set_to_none=True)
    torch.set_rng_state(rng["torch"])
    per_micro = min(times[1:] or times)
    return per_micro * cfg.gradient_accumulation_steps


def _plan_steps(cfg, n_train: int, world: int, step_seconds: float | None) -> tuple[int, dict]:
    G = cfg.per_device_batch_size * cfg.gradient_accumulation_steps * world
    per_epoch = steps_per_epoch(n_train, G)
    total = cfg.max_steps or max(1, math.ceil(cfg.epochs * per_epoch))
    plan = {"global_batch": G, "steps_per_epoch": per_epoch, "steps_from_data": total}
    if cfg.max_minutes and step_seconds:
        # Keep ~10% of the budget for validation, checkpoints and saving the model.
        fit = max(1, int(cfg.max_minutes * 60 * 0.9 / step_seconds))
        plan.update(budget_minutes=cfg.max_minutes, seconds_per_step_estimate=round(step_seconds, 3), steps_in_budget=fit)
        total = min(total, fit)
    plan["total_steps"] = total
    return total, plan


def train(cfg, model_ref: str, out_dir: Path, build_data: Callable[[object], Data], stage: str) -> TrainResult:
    from accelerate.utils import set_seed

    out_dir = Path(out_dir)
    check_method(cfg)
    set_seed(cfg.seed)
    accelerator = _accelerator(resolve_precision(cfg.precision))
    world, rank = accelerator.num_processes, accelerator.process_index
    sharded = ckpt_sharded.wanted(accelerator)  # FSDP/DeepSpeed: checkpoints through accelerate's save_state
    if accelerator.distributed_type.name == "DEEPSPEED" and cfg.gradient_accumulation_steps != 1:
        raise UserError("under DeepSpeed the engine steps on every backward: set gradient_accumulation_steps=1 "
                        "(and raise per_device_batch_size or processes to keep the global batch)")
    ckpt_root = out_dir / "checkpoints"
    settings = ckpt.run_settings(cfg, model_ref, world)
    # Checked before the model loads, so a refused resume costs seconds.
    resume_from = ckpt.latest(ckpt_root) if cfg.resume else None
    changed = ckpt.check_resume(resume_from, settings, force=cfg.resume == "force") if resume_from else []
    if resume_from is not None:
        ckpt_sharded.check_format(resume_from, sharded)
    loaded: Loaded = prepare(model_ref, cfg)
    tok = loaded.tokenizer
    data = build_data(tok)
    if not data.train:
        raise UserError(f"{stage}: no training sequences after tokenization")
    val = data.val[: cfg.max_validation_sequences]
    pad_id = tok.pad_token_id
    num_params, trainable = count_parameters(loaded.model)
    fused = bool(cfg.fused_optimizer and torch.cuda.is_available())
    optimizer = torch.optim.AdamW(loaded.param_groups, lr=cfg.learning_rate, betas=(cfg.adam_beta1, cfg.adam_beta2),
                                  weight_decay=cfg.weight_decay, **({"fused": True} if fused else {}))
    model, optimizer = accelerator.prepare(loaded.model, optimizer)
    model.train()
    raw = accelerator.unwrap_model(model)

    state: dict = {"tokens_seen": 0, "samples_seen": 0, "train_time_s": 0.0, "flos": 0.0, "losses": []}
    if resume_from is not None:
        if sharded:  # FSDP/DeepSpeed: accelerate's per-process shards
            state = ckpt_sharded.restore(accelerator, resume_from, optimizer, keep_hyperparameters=bool(changed))
        else:
            state = ckpt.restore(resume_from, raw, optimizer, keep_hyperparameters=bool(changed))
        total, plan = state["total_steps"], state["plan"]
        if changed:  # a forced resume: the new settings plan the rest of the run
            total, plan = _plan_steps(cfg, len(data.train), world, None)
    else:
        step_s = _calibrate(accelerator, model, data, cfg, pad_id, world) if cfg.max_minutes else None
        total, plan = _plan_steps(cfg, len(data.train), world, step_s)
    start = int(state.get("step", 0))
    warm = warmup_steps(total, cfg.warmup_steps, cfg.warmup_ratio)
    min_ratio = cfg.min_learning_rate / cfg.learning_rate
    G = plan["global_batch"]
    cfg_model = raw.get_base_model().config if loaded.method.peft else raw.config
    fpt = flops_per_token(num_params, loaded.method.trains_base_weights, getattr(cfg_model, "num_hidden_layers", 0),
                          getattr(cfg_model, "hidden_size", 0), cfg.max_seq_length)
    peak = peak_flops()

    log = MetricsLog(out_dir / "metrics.jsonl", tensorboard=cfg.tensorboard and accelerator.is_main_process,
                     keep_until_step=start, report_to=cfg.report_to,
                     hparams=cfg.model_dump(mode="json")) if accelerator.is_main_process else None
    if log and start == 0:
        log.write({"event": "start", "stage": stage, "method": cfg.method, "plan": plan, "data": data.summary,
                   "num_parameters": num_params, "trainable_parameters": trainable, "hardware": hardware(),
                   "world_size": world, "notes": loaded.notes})
    if start == 0:
        state["eval_loss_start"] = evaluate(accelerator, model, val, pad_id, data.packed, cfg.per_device_batch_size)
        if log and state["eval_loss_start"] is not None:  # no validation split: nothing to record
            log.write({"step": 0, "eval_loss": state["eval_loss_start"]})
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=start, desc=stage, unit="step", disable=not accelerator.is_main_process,
               dynamic_ncols=True)
    t_session = time.perf_counter()
    budget_s = cfg.max_minutes * 60 if cfg.max_minutes else None
    stopped_by_budget = False
    eval_loss = None
    step = start
    while step < total:
        t0 = time.perf_counter()
        factor = lr_factor(step, total, warm, cfg.lr_scheduler, min_ratio)
        for g in optimizer.param_groups:
            g["lr"] = g["peak_lr"] * factor
        idx = global_batch_indices(len(data.train), G, cfg.seed, step)
        batches = [collate([data.train[i] for i in m], pad_id, data.packed)
                   for m in micro_batches(idx, rank, world, cfg.per_device_batch_size)]
        mine = idx[rank::world]
        local = torch.tensor([sum(label_tokens(b) for b in batches),
                              sum(len(data.train[i]["input_ids"]) for i in mine),
                              len(mine)], device=accelerator.device, dtype=torch.float64)
        counts = accelerator.reduce(local, "sum") if world > 1 else local
        global_items = int(counts[0])
        loss_local = _forward_backward(accelerator, model, batches, max(1, global_items), world)
        grad_norm = accelerator.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss_t = torch.tensor([loss_local], device=accelerator.device, dtype=torch.float64)
        loss = float(accelerator.reduce(loss_t, "sum")) if world > 1 else loss_local
        step += 1
        dt = time.perf_counter() - t0
        tokens = int(counts[1])
        state["tokens_seen"] += tokens
        state["samples_seen"] += int(counts[2])
        state["train_time_s"] += dt
        state["flos"] += fpt * tokens
        state["losses"].append(loss)
        row = {"step": step, "epoch": round(step / plan["steps_per_epoch"], 4), "loss": loss, "lr": optimizer.param_groups[0]["lr"],
               "grad_norm": float(grad_norm) if grad_norm is not None else None, "tokens": tokens,
               "tokens_per_s": tokens / dt, "samples_per_s": len(idx) / dt, "steps_per_s": 1 / dt,
               "total_flos": state["flos"]}
        if len(optimizer.param_groups) and optimizer.param_groups[-1].get("name") == "new_tokens":
            row["lr_new_tokens"] = optimizer.param_groups[-1]["lr"]
        if peak:
            row["mfu"] = fpt * tokens / dt / (peak * world)
        if cfg.eval_every and step % cfg.eval_every == 0 and step < total:
            eval_loss = evaluate(accelerator, model, val, pad_id, data.packed, cfg.per_device_batch_size)
            row["eval_loss"] = eval_loss
        if log is not None and (step % cfg.log_every == 0 or "eval_loss" in row or step == total):
            row["peak_memory_mb"] = round(peak_memory_mb(), 1)
            log.write(row)
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tokens / dt:.0f}", lr=f"{row['lr']:.2e}")
        over_budget = budget_s is not None and time.perf_counter() - t_session > budget_s * 0.95
        if cfg.save_every and step % cfg.save_every == 0 and step < total and not over_budget and sharded:
            ckpt_sharded.save(accelerator, ckpt_root, step, {**state, "total_steps": total, "plan": plan,
                                                             "settings": settings}, cfg.keep_checkpoints)
        elif cfg.save_every and step % cfg.save_every == 0 and step < total and not over_budget:
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                ckpt.save(ckpt_root, step, raw, optimizer, {**state, "total_steps": total, "plan": plan, "settings": settings},
                          cfg.keep_checkpoints)
            accelerator.wait_for_everyone()
        if over_budget and step < total:
            stopped_by_budget = True
            break
    bar.close()
    eval_loss = evaluate(accelerator, model, val, pad_id, data.packed, cfg.per_device_batch_size)
    session_s = time.perf_counter() - t_session
    run_s = state["train_time_s"] or 1e-9
    metrics = {
        "method": cfg.method, "global_step": step, "planned_steps": total, "stopped_by_budget": stopped_by_budget,
        "train_loss": sum(state["losses"]) / max(1, len(state["losses"])), "final_train_loss": state["losses"][-1] if state["losses"] else None,
        "eval_loss": eval_loss, "eval_loss_start": state.get("eval_loss_start"), "train_runtime_s": round(run_s, 2), "session_wall_s": round(session_s, 2),
        "train_samples_per_second": state["samples_seen"] / run_s, "train_steps_per_second": step / run_s,
        "train_tokens_per_second": state["tokens_seen"] / run_s, "total_flos": state["flos"],
        "train_tokens": state["tokens_seen"], "peak_memory_mb": round(peak_memory_mb(), 1), "hardware": hardware(),
        "num_parameters": num_params, "trainable_parameters": trainable, "world_size": world,
        "resumed_from_step": start or None, "packing": data.packed, "data": data.summary, "plan": plan,
    }
    if peak:
        metrics["mfu"] = state["flos"] / run_s / (peak * world)
    outputs: dict[str, str] = {}
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        log.write({"event": "end", "step": step, "eval_loss": eval_loss, **{k: metrics[k] for k in (
            "train_loss", "train_runtime_s", "train_tokens_per_second", "peak_memory_mb")}})
        log.close()
        outputs = save_outputs(accelerator, model, loaded, out_dir)
        outputs["metrics"] = str((out_dir / "metrics.jsonl").resolve())
        png = plot_loss(out_dir / "metrics.jsonl", out_dir / "loss_curve.png", title=f"{stage} ({cfg.method})")
        if png:
            outputs["loss_curve"] = str(png.resolve())
    accelerator.wait_for_everyone()
    return TrainResult(outputs, metrics)
