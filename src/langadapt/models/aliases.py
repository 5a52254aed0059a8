"""Built-in model aliases: real weights that ship inside registry packages, so no hub is needed.

`tiny-random-llama` is the test suite's model (random weights, the SmolLM2 tokenizer); it is an
alias too so a user can try any command end to end in seconds.
"""

from __future__ import annotations

from langadapt.models.gguf import smollm2_gguf
from langadapt.models.tiny import tiny_model_dir

# alias -> function returning a GGUF file or an HF directory
ALIASES = {
    "smollm2-135m-instruct": smollm2_gguf,
    "tiny-random-llama": tiny_model_dir,
}

# What each alias is, for `langadapt info` and the model card.
ALIAS_SOURCES = {
    "smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "tiny-random-llama": "random 2-layer Llama (hidden 64) with the SmolLM2 tokenizer, for tests",
}
