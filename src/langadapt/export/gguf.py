"""GGUF export for llama.cpp, Ollama and LM Studio: one file from an exported (merged) checkpoint.

    langadapt export --run-dir runs/demo-zh-tw --out exports/demo --format gguf --gguf-type q8_0

    from langadapt.export.gguf import write_gguf
    result = write_gguf("exports/demo", "exports/demo/demo-q8_0.gguf", "q8_0")

Written with gguf-py's GGUFWriter and quantisers rather than llama.cpp's converter script, because
the converter refuses an extended byte-level tokenizer (see gguf_vocab.py for why) and is not an
installable package. Llama-family checkpoints (Llama, SmolLM, Mistral without sliding window) are
handled; tied embeddings write no `output.weight`, which is how llama.cpp and transformers both read
a tied head. The file is checked by loading it back through transformers' GGUF loader (`verify_gguf`): the same
token ids on the given texts and logits within the type's tolerance.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from langadapt.errors import UserError
from langadapt.export.gguf_vocab import GGUFVocab, read_vocab

GGUF_TYPES = ("f32", "f16", "bf16", "q8_0")
# Largest logit difference, relative to the largest logit magnitude of the text, accepted when the file is
# read back. Relative to the largest logit rather than the spread, because fitted new output rows can
# give a few logits far above the rest, and quantisation error grows with them. q8_0: SmolLM2-135M with 300
# new pieces measured 0.056 (greedy continuations unchanged), so 0.1; the top-1 and token-id checks stay exact.
TOLERANCE = {"f32": 1e-5, "f16": 5e-3, "bf16": 2e-2, "q8_0": 0.1}
ARCHITECTURES = {"LlamaForCausalLM", "MistralForCausalLM"}


@dataclass
class GGUFResult:
    path: Path
    gguf_type: str
    pre_tokenizer: str | None
    tokenizer_model: str
    n_tokens: int
    bytes: int
    seconds: float
    verification: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["path"] = str(self.path)
        return out


def _file_type(gguf: Any, gguf_type: str):
    return {"f32": gguf.LlamaFileType.ALL_F32, "f16": gguf.LlamaFileType.MOSTLY_F16,
            "bf16": gguf.LlamaFileType.MOSTLY_BF16, "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0}[gguf_type]


def _check_config(config: dict, folder: Path) -> None:
    archs = set(config.get("architectures") or [])
    if not archs & ARCHITECTURES:
        raise UserError(f"{folder}: GGUF export handles {sorted(ARCHITECTURES)}, not {sorted(archs) or 'an unnamed architecture'}")
    scaling = config.get("rope_scaling") or {}
    rope_type = scaling.get("rope_type") or scaling.get("type") or (config.get("rope_parameters") or {}).get("rope_type")
    if rope_type not in (None, "default"):
        raise UserError(f"{folder}: rope scaling {rope_type!r} is not written to GGUF by this exporter")
    if config.get("sliding_window"):
        raise UserError(f"{folder}: sliding-window attention is not written to GGUF by this exporter")
    if config.get("attention_bias") or config.get("mlp_bias"):
        raise UserError(f"{folder}: attention or MLP biases are not written to GGUF by this exporter")


def _rope_theta(config: dict) -> float:
    params = config.get("rope_parameters") or {}
    return float(params.get("rope_theta") or config.get("rope_theta") or 10000.0)


def _unrotate(weight, n_head: int):
    """HF stores q/k rows in halves for rotate_half; llama.cpp's Llama rope wants each pair side by side."""
    rows = weight.shape[0]
    return (weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def _add_metadata(writer: Any, config: dict, name: str, gguf_type: str, vocab: GGUFVocab, gguf: Any) -> None:
    heads, kv = config["num_attention_heads"], config.get("num_key_value_heads") or config["num_attention_heads"]
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    writer.add_name(name)
    writer.add_file_type(_file_type(gguf, gguf_type))
    writer.add_context_length(config.get("max_position_embeddings") or 2048)
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv)
    writer.add_layer_norm_rms_eps(config.get("rms_norm_eps") or 1e-5)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_rope_dimension_count(head_dim)
    if head_dim != config["hidden_size"] // heads:
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
    writer.add_vocab_size(len(vocab.tokens))

    writer.add_tokenizer_model(vocab.model)
    if vocab.pre:
        writer.add_tokenizer_pre(vocab.pre)
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    if vocab.scores is not None:
        writer.add_token_scores(vocab.scores)
    if vocab.merges:
        writer.add_token_merges(vocab.merges)
    adders = {"bos": writer.add_bos_token_id, "eos": writer.add_eos_token_id,
              "unk": writer.add_unk_token_id, "pad": writer.add_pad_token_id}
    for key, token_id in vocab.special_ids.items():
        adders[key](token_id)
    writer.add_add_bos_token(vocab.add_bos)
    writer.add_add_eos_token(vocab.add_eos)
    if vocab.model == "llama":
        writer.add_add_space_prefix(vocab.add_space_prefix)
    if vocab.chat_template:
        writer.add_chat_template(vocab.chat_template)


def _tensors(folder: Path):
    """(name, float32 numpy array) for every tensor of the checkpoint's safetensors shards."""
    from safetensors import safe_open

    shards = sorted(folder.glob("*.safetensors"))
    if not shards:
        raise UserError(f"{folder}: no .safetensors weights; export the merged model first (merge on)")
    for shard in shards:
        with safe_open(str(shard), framework="pt") as fh:
            for key in fh.keys():
                yield key, fh.get_tensor(key).float().numpy()


def _quantise(data, gguf_type: str, gguf: Any, n_dims: int):
    """(array, raw dtype) for one tensor; norms and other 1-D tensors stay f32, as llama.cpp expects."""
    import numpy as np

    if n_dims == 1 or gguf_type == "f32":
        return data.astype(np.float32), None
    if gguf_type == "f16":
        return data.astype(np.float16), None
    qtype = gguf.GGMLQuantizationType.BF16 if gguf_type == "bf16" else gguf.GGMLQuantizationType.Q8_0
    block = gguf.GGML_QUANT_SIZES[qtype][0]
    if data.shape[-1] % block:
        return data.astype(np.float16), None  # rows that do not fill whole blocks: f16, as llama.cpp's converter does
    return gguf.quants.quantize(data, qtype), qtype


def write_gguf(folder: str | os.PathLike, out_file: str | os.PathLike, gguf_type: str = "q8_0",
               pre: str | None = None, name: str | None = None) -> GGUFResult:
    """Convert the checkpoint in `folder` (safetensors + tokenizer.json) to one GGUF file at `out_file`."""
    import gguf

    if gguf_type not in GGUF_TYPES:
        raise UserError(f"GGUF type must be one of {', '.join(GGUF_TYPES)}, got {gguf_type!r}")
    started = time.time()
    folder, out_file = Path(folder), Path(out_file)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise UserError(f"{folder}: no config.json; give the folder of an exported model")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    _check_config(config, folder)
    tensors = dict(_tensors(folder))
    embed = tensors.get("model.embed_tokens.weight")
    if embed is None:
        raise UserError(f"{folder}: no model.embed_tokens.weight in the weights")
    vocab = read_vocab(folder, n_rows=embed.shape[0], pre=pre)
    heads = config["num_attention_heads"]
    kv = config.get("num_key_value_heads") or heads
    tied = bool(config.get("tie_word_embeddings", False))
    head = tensors.pop("lm_head.weight", None)
    if head is not None and not tied and not (head.shape == embed.shape and (head == embed).all()):
        tensors["lm_head.weight"] = head  # an untied head is its own tensor; an equal one is the tied case

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config["num_hidden_layers"])
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(f".{out_file.name}.tmp-{os.getpid()}")
    writer = gguf.GGUFWriter(str(tmp), "llama")
    try:
        _add_metadata(writer, config, name or folder.name, gguf_type, vocab, gguf)
        for key, data in tensors.items():
            if key.endswith("rotary_emb.inv_freq"):
                continue
            stem = key[: -len(".weight")] if key.endswith(".weight") else key
            mapped = names.get_name(stem)
            if mapped is None or not key.endswith(".weight"):
                raise UserError(f"{folder}: tensor {key} has no GGUF name for a Llama model")
            if key.endswith("self_attn.q_proj.weight"):
                data = _unrotate(data, heads)
            elif key.endswith("self_attn.k_proj.weight"):
                data = _unrotate(data, kv)
            array, raw = _quantise(data, gguf_type, gguf, data.ndim)
            if raw is None:
                writer.add_tensor(f"{mapped}.weight", array)
            else:
                writer.add_tensor(f"{mapped}.weight", array, raw_shape=array.shape, raw_dtype=raw)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.replace(tmp, out_file)
    finally:
        writer.close()
        if tmp.exists():
            tmp.unlink()
    return GGUFResult(path=out_file, gguf_type=gguf_type, pre_tokenizer=vocab.pre, tokenizer_model=vocab.model,
                      n_tokens=len(vocab.tokens), bytes=out_file.stat().st_size, seconds=round(time.time() - started, 2))


def verify_gguf(gguf_file: str | os.PathLike, folder: str | os.PathLike, texts: Sequence[str],
                gguf_type: str) -> dict:
    """Load the GGUF back through transformers and compare token ids and logits with the checkpoint in `folder`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_file, folder = Path(gguf_file), Path(folder)
    ref_tok = AutoTokenizer.from_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    mismatched = [t for t in texts if tok(t).input_ids != ref_tok(t).input_ids]
    if mismatched:
        raise UserError(f"{gguf_file.name}: the GGUF tokenizer splits {len(mismatched)} of {len(texts)} texts differently "
                        f"from {folder / 'tokenizer.json'}, e.g. {mismatched[0][:60]!r}")
    ref = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    model = AutoModelForCausalLM.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name, dtype=torch.float32).eval()
    worst, top1, total = 0.0, 0, 0
    with torch.no_grad():
        for text in texts:
            ids = torch.tensor([ref_tok(text).input_ids[:256]])
            a, b = ref(ids).logits[0], model(ids).logits[0]
            scale = float(a.abs().max()) or 1.0
            worst = max(worst, float((a - b).abs().max()) / scale)
            top1 += int((a.argmax(-1) == b.argmax(-1)).sum())
            total += a.shape[0]
    result = {"texts": len(texts), "token_ids_equal": True, "max_relative_diff": worst,
              "tolerance": TOLERANCE[gguf_type], "top1_agreement": top1 / max(total, 1)}
    if worst > TOLERANCE[gguf_type]:
        raise UserError(f"{gguf_file.name}: logits read back differ by {worst:.3g} of the largest logit "
                        f"(tolerance {TOLERANCE[gguf_type]:g} for {gguf_type})")
    return result


# Mixed text every check includes: the new pieces of a Chinese extension, English, digits and spacing.
PROBE = "臺北的天氣今天很好，我們去淡水看夕陽吧。The weather in Taipei is nice today: 12 apples, 345 pears.\n\n  Done."


def export_gguf(folder: str | os.PathLike, gguf_type: str = "q8_0", pre: str | None = None, verify: bool = True,
                texts: Sequence[str] = (), log: Any = print) -> GGUFResult:
    """Write `<folder name>-<type>.gguf` into an export folder and check it (run_export records it in
    langadapt_export.json and the card)."""
    folder = Path(folder)
    out = folder / f"{folder.name}-{gguf_type}.gguf"
    log(f"writing {gguf_type} GGUF to {out}")
    result = write_gguf(folder, out, gguf_type, pre=pre)
    if verify:
        log("reloading the GGUF with transformers' GGUF loader and comparing token ids and logits")
        try:
            result.verification = verify_gguf(out, folder, [PROBE, *texts], gguf_type)
        except UserError:
            out.unlink(missing_ok=True)  # a file that fails its check is not left where a user would pick it up
            raise
    return result
