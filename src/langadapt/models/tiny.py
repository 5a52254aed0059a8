"""A tiny random Llama with the real SmolLM2 tokenizer: fast tests that still exercise real tokenisation."""

from __future__ import annotations

from pathlib import Path

from langadapt.atomic import atomic_dir
from langadapt.models.gguf import materialize_gguf, smollm2_gguf
from langadapt.paths import cache_dir

TINY_CONFIG = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=2048,
    rms_norm_eps=1e-5,
    tie_word_embeddings=True,
    rope_theta=10000.0,
)


def build_tiny_model(out_dir: Path, seed: int = 0) -> Path:
    import torch  # torch and transformers load in seconds: only when the model is first built
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(materialize_gguf(smollm2_gguf()))  # what the smollm2 alias resolves to
    config = LlamaConfig(
        vocab_size=len(tok),
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        **TINY_CONFIG,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out_dir, safe_serialization=True)
    tok.save_pretrained(out_dir)
    return out_dir


def tiny_model_dir() -> Path:
    path = cache_dir("models") / "tiny-random-llama"
    if not (path / "config.json").exists():
        with atomic_dir(path) as tmp:
            build_tiny_model(tmp)
    return path
