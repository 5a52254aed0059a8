"""Load what `langadapt chat|serve|webui MODEL [--adapter DIR]` talks to, and start an engine on it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from langadapt.errors import UserError
from langadapt.models import ModelNotFound, load_model, load_tokenizer

log = logging.getLogger(__name__)


def load_for_serving(ref: str, adapter: str | None = None, dtype: str = "auto", device: str | None = None,
                     merge: bool = True, quantization: str | None = None):
    """(model, tokenizer). With `adapter`, the PEFT adapter is applied on top of `ref` and merged
    (merged weights generate as fast as the base model)."""
    try:
        if adapter is None:
            return (load_model(ref, dtype=dtype, device=device, merge_adapter=merge, quantization=quantization),
                    load_tokenizer(ref))
        folder = Path(adapter)
        if not (folder / "adapter_config.json").is_file():
            raise UserError(f"--adapter {adapter}: no adapter_config.json in that folder (not a PEFT adapter)")
        from peft import PeftModel

        model = load_model(ref, dtype=dtype, device=device, quantization=quantization)
        has_own_tokenizer = any((folder / n).exists() for n in ("tokenizer.json", "tokenizer.model"))
        tokenizer = load_tokenizer(adapter if has_own_tokenizer else ref)
        if model.get_input_embeddings().weight.shape[0] < len(tokenizer):
            model.resize_token_embeddings(len(tokenizer))
        model = PeftModel.from_pretrained(model, str(folder))
        if merge:
            model = model.merge_and_unload()
        model.eval()
        return model, tokenizer
    except ModelNotFound as exc:
        raise UserError(str(exc)) from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{adapter or ref}: unreadable JSON config ({exc})") from None


def start_engine(ref: str, adapter: str | None = None, max_batch_size: int = 16, dtype: str = "auto",
                 device: str | None = None, quantization: str | None = None):
    from langadapt.serve.engine import Engine  # deferred: pulls torch and transformers

    model, tokenizer = load_for_serving(ref, adapter, dtype=dtype, device=device, quantization=quantization)
    return Engine(model, tokenizer, max_batch_size=max_batch_size).start()
