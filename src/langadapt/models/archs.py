"""Architecture facts of well-known base models, so `langadapt plan` can estimate without downloading.

    from langadapt.models.archs import find_arch
    arch = find_arch("meta-llama/Llama-3.2-3B")      # -> Arch(...), arch.num_parameters()

Numbers are the published config.json values of each model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Arch:
    name: str
    hidden: int
    layers: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool
    gated_mlp: bool = True
    max_positions: int = 4096

    @property
    def kv_dim(self) -> int:
        return self.hidden // self.heads * self.kv_heads

    def layer_parameters(self) -> int:
        attn = 2 * self.hidden * self.hidden + 2 * self.hidden * self.kv_dim
        mlp = (3 if self.gated_mlp else 2) * self.hidden * self.intermediate
        return attn + mlp + 2 * self.hidden

    def embedding_parameters(self, vocab: int | None = None) -> int:
        return (vocab or self.vocab) * self.hidden * (1 if self.tied else 2)

    def num_parameters(self, vocab: int | None = None) -> int:
        return self.layers * self.layer_parameters() + self.embedding_parameters(vocab) + self.hidden

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) of each projection of one layer, by the module names LoRA targets."""
        h, i, kv = self.hidden, self.intermediate, self.kv_dim
        shapes = {"q_proj": (h, h), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (h, h),
                  "up_proj": (h, i), "down_proj": (i, h)}
        if self.gated_mlp:
            shapes["gate_proj"] = (h, i)
        else:  # XGLM/OPT names for the same projections
            shapes.update({"out_proj": (h, h), "fc1": (h, i), "fc2": (i, h)})
        return shapes


ARCHS: dict[str, Arch] = {a.name.lower(): a for a in (
    Arch("SmolLM2-135M", 576, 30, 1536, 9, 3, 49152, True, max_positions=8192),
    Arch("SmolLM2-360M", 960, 32, 2560, 15, 5, 49152, True, max_positions=8192),
    Arch("SmolLM2-1.7B", 2048, 24, 8192, 32, 32, 49152, True, max_positions=8192),
    Arch("Llama-3.2-1B", 2048, 16, 8192, 32, 8, 128256, True, max_positions=131072),
    Arch("Llama-3.2-3B", 3072, 28, 8192, 24, 8, 128256, True, max_positions=131072),
    Arch("Llama-3.1-8B", 4096, 32, 14336, 32, 8, 128256, False, max_positions=131072),
    Arch("Llama-2-7B", 4096, 32, 11008, 32, 32, 32000, False),
    Arch("Llama-2-13B", 5120, 40, 13824, 40, 40, 32000, False),
    Arch("XGLM-7.5B", 4096, 32, 16384, 32, 32, 256008, True, gated_mlp=False, max_positions=2048),
    Arch("XGLM-564M", 1024, 24, 4096, 16, 16, 256008, True, gated_mlp=False, max_positions=2048),
    Arch("Qwen2.5-7B", 3584, 28, 18944, 28, 4, 152064, False, max_positions=131072),
)}

# A fine-tune shares its base's architecture: Hub ids (lower case) -> the entry above.
_ALIASES = {
    "smollm2-135m-instruct": "smollm2-135m", "tiny-random-llama": None,
    "lianghsun/llama-3.2-taiwan-3b": "llama-3.2-3b",
    "lianghsun/llama-3.2-taiwan-3b-instruct": "llama-3.2-3b",
    "lianghsun/llama-3.2-taiwan-legal-3b-instruct": "llama-3.2-3b",
    "meta-llama/llama-3.2-3b-instruct": "llama-3.2-3b",
    "meta-llama/llama-3.2-1b-instruct": "llama-3.2-1b",
    "meta-llama/llama-2-7b-chat-hf": "llama-2-7b",
    "pythainlp/wangchanglm-7.5b-sft-en": "xglm-7.5b",
    "pythainlp/wangchanglm-7.5b-sft-enth": "xglm-7.5b",
}


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def find_arch(ref: str) -> Arch | None:
    """Match a Hub id, alias or local folder (read from its config.json) to an architecture."""
    path = Path(ref).expanduser()
    if (path / "config.json").is_file():
        return from_config(json.loads((path / "config.json").read_text()), path.name)
    key = _ALIASES.get(ref.lower(), ref)
    if key is None:
        return None
    tail = _norm(key.split("/")[-1])
    best = None
    for name, arch in ARCHS.items():
        n = _norm(name)
        if tail == n or tail.startswith(n + "-") or tail.startswith(n.replace("llama-", "llama")):
            if best is None or len(n) > len(_norm(best.name)):
                best = arch
    return best


def from_config(cfg: dict, name: str = "local") -> Arch:
    heads = cfg.get("num_attention_heads") or cfg.get("attention_heads")
    return Arch(name=name, hidden=cfg.get("hidden_size") or cfg["d_model"],
                layers=cfg.get("num_hidden_layers") or cfg["num_layers"],
                intermediate=cfg.get("intermediate_size") or cfg.get("ffn_dim"), heads=heads,
                kv_heads=cfg.get("num_key_value_heads") or heads, vocab=cfg["vocab_size"],
                tied=bool(cfg.get("tie_word_embeddings", True)), gated_mlp="ffn_dim" not in cfg,
                max_positions=cfg.get("max_position_embeddings", 4096))
