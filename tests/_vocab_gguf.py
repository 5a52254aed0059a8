"""Write a vocabulary-only GGUF (tokenizer metadata, no tensors) like llama.cpp's ggml-vocab-*.gguf files."""

from __future__ import annotations

import json
from pathlib import Path


def write_vocab_gguf(tokenizer_dir: Path, out: Path, hidden: int = 4096, layers: int = 32) -> Path:
    """From a byte-level BPE tokenizer.json; the hyperparameters are those of a full-size model (Llama-2-7B by default)."""
    import gguf

    tj = json.loads((tokenizer_dir / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = dict(tj["model"]["vocab"])
    for added in tj["added_tokens"]:
        vocab[added["content"]] = added["id"]
    tokens = [""] * (max(vocab.values()) + 1)
    for text, i in vocab.items():
        tokens[i] = text
    special = {a["id"] for a in tj["added_tokens"] if a.get("special")}
    merges = [" ".join(m) if isinstance(m, list) else m for m in tj["model"]["merges"]]
    cfg = json.loads((tokenizer_dir / "config.json").read_text(encoding="utf-8"))
    w = gguf.GGUFWriter(str(out), "llama")
    w.add_name("vocab only")
    w.add_context_length(4096)
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(hidden * 11008 // 4096)
    w.add_head_count(32)
    w.add_head_count_kv(32)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(hidden // 32)
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("smollm")
    w.add_token_list(tokens)
    w.add_token_types([3 if i in special else 1 for i in range(len(tokens))])
    w.add_token_merges(merges)
    w.add_bos_token_id(cfg.get("bos_token_id") or 0)
    w.add_eos_token_id(cfg.get("eos_token_id") or 0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


def write_spm_vocab_gguf(lines: list[str], out: Path, vocab_size: int = 400) -> Path:
    """A Llama-2-style (SentencePiece BPE, byte fallback) vocabulary-only GGUF, trained on `lines`."""
    import io

    import gguf
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf, model_type="bpe",
                                   vocab_size=vocab_size, byte_fallback=True, character_coverage=1.0, unk_id=0,
                                   bos_id=1, eos_id=2, pad_id=-1, normalization_rule_name="identity",
                                   remove_extra_whitespaces=False, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    n = sp.get_piece_size()
    types = [2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 6 if sp.is_byte(i) else 1 for i in range(n)]
    w = gguf.GGUFWriter(str(out), "llama")
    w.add_name("vocab only (spm)")
    w.add_context_length(4096)
    w.add_embedding_length(4096)
    w.add_block_count(32)
    w.add_feed_forward_length(11008)
    w.add_head_count(32)
    w.add_head_count_kv(32)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(128)
    w.add_vocab_size(n)
    w.add_tokenizer_model("llama")
    w.add_token_list([sp.id_to_piece(i) for i in range(n)])
    w.add_token_scores([sp.get_score(i) for i in range(n)])
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out
