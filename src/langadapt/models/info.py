"""What `langadapt info MODEL` prints: architecture, size, vocabulary, context, chat template, tokens per character."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from langadapt import languages
from langadapt.errors import UserError
from langadapt.models.resolve import ResolvedModel, load_tokenizer, resolve_model


@dataclass
class ModelInfo:
    ref: str
    kind: str
    path: str
    source: str | None
    architecture: str
    model_type: str
    parameters: int | None
    hidden_size: int | None
    num_layers: int | None
    vocab_size: int | None
    tokenizer_size: int
    context_length: int | None
    tied_embeddings: bool | None
    chat_template: bool
    tokens_per_char: dict[str, float] = field(default_factory=dict)


def _param_count(config) -> int | None:
    """Count parameters without loading weights: build the model on the meta device."""
    try:
        import torch
        from transformers import AutoModelForCausalLM

        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
        return sum(p.numel() for p in model.parameters())
    except Exception:  # an architecture transformers cannot instantiate still gets the rest of its info
        return None


def model_info(ref: str, texts: dict[str, str] | None = None) -> ModelInfo:
    from transformers import AutoConfig

    resolved: ResolvedModel = resolve_model(ref)
    config = AutoConfig.from_pretrained(resolved.weights)
    tokenizer = load_tokenizer(resolved)
    # One sentence per registered language that has one (langadapt.languages), so a language added there shows here.
    texts = texts or languages.sample_texts()
    per_char = {lang: round(len(tokenizer.encode(t, add_special_tokens=False)) / max(len(t), 1), 3) for lang, t in texts.items()}
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    return ModelInfo(
        ref=ref,
        kind=resolved.kind,
        path=resolved.weights,
        source=resolved.source,
        architecture=(config.architectures or ["?"])[0],
        model_type=config.model_type,
        parameters=_param_count(config),
        hidden_size=getattr(text_config, "hidden_size", None),
        num_layers=getattr(text_config, "num_hidden_layers", None),
        vocab_size=getattr(text_config, "vocab_size", None),
        tokenizer_size=len(tokenizer),
        context_length=getattr(text_config, "max_position_embeddings", None),
        tied_embeddings=getattr(config, "tie_word_embeddings", None),
        chat_template=bool(getattr(tokenizer, "chat_template", None)),
        tokens_per_char=per_char,
    )


def format_info(info: ModelInfo) -> str:
    params = f"{info.parameters:,}" if info.parameters else "unknown"
    lines = [
        f"model:           {info.ref} ({info.kind})",
        f"weights:         {info.path}",
        *( [f"source:          {info.source}"] if info.source else [] ),
        f"architecture:    {info.architecture} ({info.model_type})",
        f"parameters:      {params}",
        f"hidden size:     {info.hidden_size}",
        f"layers:          {info.num_layers}",
        f"vocab size:      {info.vocab_size} (tokenizer: {info.tokenizer_size})",
        f"context length:  {info.context_length}",
        f"tied embeddings: {info.tied_embeddings}",
        f"chat template:   {'yes' if info.chat_template else 'no'}",
        "tokens per character:",
    ]
    lines += [f"  {lang:<8} {v:.3f}" for lang, v in info.tokens_per_char.items()]
    return "\n".join(lines)


def info_json(info: ModelInfo) -> str:
    return json.dumps(asdict(info), ensure_ascii=False, indent=2)


def read_text_arg(spec: str) -> tuple[str, str]:
    """`lang=text` or `lang=@file` -> (lang, text)."""
    if "=" not in spec:
        raise UserError(f"--text {spec!r}: expected LANG=TEXT or LANG=@FILE")
    lang, value = spec.split("=", 1)
    if value.startswith("@"):
        value = Path(value[1:]).read_text(encoding="utf-8")
    return lang, value
