"""The `pretrain` and `sft` sections: methods, optimisation, data, long context, checkpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from langadapt.choices import OneOf
from langadapt.config.base import Section
from langadapt.train import methods


class LoraSettings(Section):
    r: int = Field(64, ge=1, description="LoRA rank.")
    alpha: int = Field(128, ge=1, description="LoRA alpha (scale = alpha / r).")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the LoRA path.")
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], description="Module names that get adapters (QKVO + MLP by default).")
    train_new_embeddings: bool = Field(True, description="Also train the embedding and output rows of tokens added by the tokenizer stage.")
    embedding_learning_rate: float | None = Field(None, gt=0, description="Learning rate of the new token rows (defaults to the stage's learning rate); methods lora, qlora and embeddings, while full trains them at the stage's rate.")
    modules_to_save: list[str] = Field(default_factory=list, description="Extra modules trained in full (e.g. `embed_tokens`, `lm_head`, `norm` for long context).")


class QuantSettings(Section):
    quant_type: Literal["nf4", "fp4"] = Field("nf4", description="4-bit data type.")
    double_quant: bool = Field(True, description="Quantise the quantisation constants too (saves ~0.4 bits/param).")
    compute_dtype: Literal["bf16", "fp16", "fp32"] = Field("bf16", description="Matmul dtype for the dequantised weights.")


class LongContextSettings(Section):
    s2_attn: bool = Field(False, description="Shifted sparse attention (LongLoRA) during training; inference uses full attention.")
    group_size_ratio: float = Field(0.25, gt=0, le=1, description="S2-Attn group size as a share of the sequence length.")
    rope_scaling: dict | None = Field(None, description="RoPE scaling passed to the model config, e.g. `{rope_type: linear, factor: 4.0}`.")


class TrainConfig(Section):
    enabled: bool = Field(True, description="Run this stage.")
    # The names come from the method registry, so a registered method is a valid value.
    method: Annotated[str, OneOf(methods.names)] = Field("lora", description="`embeddings` trains only the new token rows (stage one of the Chinese-LLaMA scheme).")
    learning_rate: float = Field(2e-4, gt=0, description="Peak learning rate.")
    min_learning_rate: float = Field(0.0, ge=0, description="Floor of the cosine schedule.")
    lr_scheduler: Literal["cosine", "linear", "constant"] = Field("cosine", description="Learning-rate schedule after warmup.")
    warmup_steps: int = Field(0, ge=0, description="Warmup optimiser steps (takes precedence over warmup_ratio when > 0).")
    warmup_ratio: float = Field(0.0, ge=0, lt=1, description="Warmup as a share of all steps.")
    epochs: float = Field(1.0, gt=0, description="Passes over the training data.")
    max_steps: int | None = Field(None, ge=1, description="Stop after this many optimiser steps (overrides epochs).")
    max_minutes: float | None = Field(None, gt=0, description="Stop after this much wall time, with the schedule planned for it (for fixed-budget runs).")
    per_device_batch_size: int = Field(8, ge=1, description="Sequences per device per micro-step.")
    gradient_accumulation_steps: int = Field(1, ge=1, description="Micro-steps per optimiser step.")
    max_seq_length: int = Field(1024, ge=8, description="Tokens per training sequence (the cutoff).")
    packing: bool = Field(True, description="Pack documents into full sequences with per-document attention (True increases speed).")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay.")
    max_grad_norm: float = Field(1.0, gt=0, description="Gradient clipping norm.")
    adam_beta1: float = Field(0.9, ge=0, lt=1, description="AdamW beta1.")
    adam_beta2: float = Field(0.999, ge=0, lt=1, description="AdamW beta2.")
    precision: Literal["auto", "bf16", "fp16", "fp32"] = Field("auto", description="`auto`: bf16 autocast where the hardware computes it natively (GPUs with bf16, else fp16; CPUs with AVX512-BF16 or AMX, over fp32 weights), else fp32.")
    gradient_checkpointing: bool = Field(False, description="Recompute activations in backward to save memory (slower).")
    seed: int = Field(42, description="Seed for data order, dropout and initialisation.")
    lora: LoraSettings = Field(default_factory=LoraSettings, description="LoRA settings (methods lora and qlora).")
    quant: QuantSettings = Field(default_factory=QuantSettings, description="4-bit settings (method qlora).")
    long_context: LongContextSettings = Field(default_factory=LongContextSettings, description="Long-context settings.")
    validation_fraction: float = Field(0.01, ge=0, lt=1, description="Share of training documents (CPT) or examples (SFT) held out for validation loss.")
    max_validation_sequences: int = Field(64, ge=1, description="Cap on validation sequences, so evaluation stays quick.")
    eval_every: int = Field(0, ge=0, description="Validation every N optimiser steps (0: only at the end).")
    save_every: int = Field(0, ge=0, description="Checkpoint every N optimiser steps (0: only at the end).")
    keep_checkpoints: int = Field(2, ge=1, description="Checkpoints kept; older ones are deleted.")
    log_every: int = Field(1, ge=1, description="Log metrics every N optimiser steps.")
    tensorboard: bool = Field(False, description="Also write TensorBoard logs (needs the tensorboard extra).")
    report_to: list[Literal["tensorboard", "wandb", "mlflow", "trackio"]] = Field(default_factory=list, description="Experiment trackers that get every metrics row (accelerate's trackers), kept local by default: W&B offline unless logged in or WANDB_MODE is set, MLflow in `<stage>/mlruns` unless MLFLOW_TRACKING_URI is set; each needs its extra, e.g. `pip install 'langadapt[wandb]'`.")
    resume: bool | Literal["force"] = Field(True, description="Continue from the newest checkpoint in the output folder when there is one; a checkpoint written with another schedule, seed or base model is refused unless `force` (then the new settings apply from that step on).")
    attn_implementation: Literal["auto", "sdpa", "eager", "flash_attention_2"] = Field("auto", description="Attention kernel; `auto`: flash_attention_2 when installed on a GPU, else sdpa. Packing uses per-document attention with each.")
    fused_optimizer: bool = Field(True, description="Use the fused AdamW kernel on CUDA.")


class PretrainConfig(TrainConfig):
    corpora: list[str] | None = Field(None, description="Names of corpora to train on (default: all).")
    replay_share: float | None = Field(None, ge=0, lt=1, description="Target share of training tokens from `replay` corpora (base-language text against forgetting); replay documents are sampled up or down to reach it. Default: use the corpus weights as they are.")

    def planned_tokens(self) -> int | None:
        """Tokens this stage will train on when its config fixes them (max_steps); None for time budgets."""
        if not self.enabled or not self.max_steps:
            return None
        return int(self.max_steps * self.per_device_batch_size * self.gradient_accumulation_steps * self.max_seq_length)


class SftDataSpec(Section):
    path: str | None = Field(None, description="JSON/JSONL file of Alpaca, ShareGPT or OpenAI-messages records.")
    builtin: str | None = Field(None, description="Built-in task set: `poem-tasks` (next line and author, from held-out poems), `poem-next-line` (next line only), `dz-continuation` (Dzongkha text continuation), `zh-tw-doc-qa` (Taiwan Mandarin questions from the help and man pages' own headings, split by page).")
    hf_dataset: str | None = Field(None, description="Hugging Face dataset id (or local dataset folder) read with `datasets.load_dataset`; needs network on first use.")
    hf_config: str | None = Field(None, description="Configuration name of `hf_dataset`.")
    hf_split: str = Field("train", description="Split of `hf_dataset` to read.")
    hf_data_files: str | list[str] | None = Field(None, description="Files inside `hf_dataset` to read (e.g. `unified_chip2.jsonl` of a repository holding several sets).")
    fields: dict[str, str] = Field(default_factory=dict, description="Our field name -> the dataset's column, e.g. `{input: context, output: response}` for Dolly; keys: instruction, input, output, system, messages, conversations, text. A list column gives its first element.")
    turn_markers: dict[str, str] | None = Field(None, description="Split a single `text` field into turns at these markers, e.g. `{user: '<human>:', assistant: '<bot>:'}`.")
    format: Literal["auto", "alpaca", "sharegpt", "messages"] = Field("auto", description="Record format; `auto` detects it.")
    weight: float = Field(1.0, gt=0, description="Sampling weight when several datasets are mixed.")
    max_examples: int | None = Field(None, ge=1, description="Use at most this many examples.")


class SftConfig(TrainConfig):
    learning_rate: float = Field(1e-4, gt=0, description="Peak learning rate.")
    packing: bool = Field(False, description="Pack conversations into full sequences (True increases speed).")
    datasets: list[SftDataSpec] = Field(default_factory=list, description="Instruction datasets.")
    chat_template: str | None = Field(None, description="Named or literal chat template; default: the tokenizer's own.")
    system_prompt: str | None = Field(None, description="System message prepended to every conversation that has none.")
