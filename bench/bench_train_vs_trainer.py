"""Our CPT step vs a plain transformers Trainer on the same job (same model, sequences, batch, steps).

    .venv/bin/python bench/bench_train_vs_trainer.py [--model smollm2-135m-instruct] [--steps 5] [--method full|lora]
                                                     [--precision fp32|bf16]

Steady-state tokens/s over steps 2..N (step 1 warms up) for both. The Trainer side is what a user
writes today: the same packed token blocks with labels = input_ids, AdamW, the same precision
(fp32, or bf16 autocast over fp32 weights: `bf16=True` for the Trainer).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_train_packing import corpus  # noqa: E402


def plain_trainer(model_dir: str, seqs: list[dict], args) -> float:
    import torch
    from transformers import AutoModelForCausalLM, Trainer, TrainerCallback, TrainingArguments

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if args.method == "lora":
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=64, lora_alpha=128, lora_dropout=0.05, task_type="CAUSAL_LM",
                                                 target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
    rows = [{"input_ids": s["input_ids"], "labels": s["input_ids"]} for s in seqs if len(s["input_ids"]) == args.seq]
    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.t = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.t)

    targs = TrainingArguments(output_dir=args.tmp + "/hf", per_device_train_batch_size=args.batch, max_steps=args.steps,
                              learning_rate=1e-4, save_strategy="no", report_to=[], logging_steps=1000,
                              use_cpu=not torch.cuda.is_available(), disable_tqdm=True, dataloader_num_workers=0,
                              bf16=args.precision == "bf16")
    Trainer(model=model, args=targs, train_dataset=rows, callbacks=[Clock()]).train()
    steady = times[1:] or times
    return args.batch * args.seq * len(steady) / sum(steady)


def ours(model_dir: str, data: Path, args) -> float:
    from langadapt.config.train import PretrainConfig
    from langadapt.train.stage import pretrain

    lora = {"r": 64, "alpha": 128, "dropout": 0.05}
    cfg = PretrainConfig(method=args.method, max_steps=args.steps, per_device_batch_size=args.batch, max_seq_length=args.seq,
                         validation_fraction=0, learning_rate=1e-4, lora=lora, lr_scheduler="constant",
                         precision=args.precision)
    out = Path(args.tmp) / "ours"
    pretrain(cfg, model_dir, data, out)
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "loss" in r][1:]
    return sum(r["tokens"] for r in steps) / sum(r["tokens"] / r["tokens_per_s"] for r in steps)


def job_arguments(method: str) -> argparse.ArgumentParser:
    """The training job both sides of a throughput comparison run: model, steps, block length, batch, method."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--method", default=method, choices=["full", "lora"])
    return ap


def main() -> None:
    ap = job_arguments("full")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    args = ap.parse_args()

    from langadapt.models import load_tokenizer, resolve_model
    from langadapt.train import data_cpt

    model_dir = resolve_model(args.model).path
    with tempfile.TemporaryDirectory() as tmp:
        args.tmp = tmp
        data = corpus(Path(tmp) / "c", 400)
        tok = load_tokenizer(model_dir)
        texts = [d["text"] for d in data_cpt.read_documents(data)]
        seqs = data_cpt.pack(data_cpt.tokenize(tok, texts), args.seq)
        ours_tps = ours(model_dir, data, args)
        hf_tps = plain_trainer(model_dir, seqs, args)
    print(f"\n{args.model}, {args.method}, batch {args.batch} x {args.seq}, {args.precision}, steps 2..{args.steps} "
          "(CPU; shared machine: noisy)")
    print(f"  plain transformers Trainer: {hf_tps:8.1f} tokens/s")
    print(f"  langadapt pretrain:         {ours_tps:8.1f} tokens/s")
    print(f"  ratio ours / Trainer:       {ours_tps / hf_tps:.2f}x")


if __name__ == "__main__":
    main()
