"""Extension of a metaspace tokenizer with byte fallback (Llama-2, from its vocab GGUF) on Tibetan
text, and of the matching SentencePiece tokenizer.model."""

from __future__ import annotations

import string
from itertools import islice

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langadapt.config.tokenizer import TokenizerConfig
from langadapt.tokenizer.extend import extend_tokenizer
from langadapt.tokenizer.extend_hf import save_tokenizer, unreachable_pieces
from langadapt.tokenizer.texts import iter_texts

GGUF = "ggml-vocab-llama-spm.gguf"


@pytest.fixture(scope="module")
def llama2():
    from transformers import AutoTokenizer

    from langadapt.data.fetch import fetch

    return AutoTokenizer.from_pretrained(str(fetch("llama-vocab")), gguf_file=GGUF)


@pytest.fixture(scope="module")
def tibetan():
    from langadapt.data.fetch import fetch

    texts = list(islice(iter_texts([fetch("dz-text")]), 400))
    held = list(iter_texts([fetch("udhr") / "bo.jsonl"]))[:10]
    return texts, held


@pytest.fixture(scope="module")
def extended(llama2, tibetan, tmp_path_factory):
    ext = extend_tokenizer(llama2, tibetan[0], TokenizerConfig(new_tokens=600), progress=False)
    tok = save_tokenizer(llama2, ext.extended, tmp_path_factory.mktemp("llama2-ext"))
    return ext, tok


def test_new_characters_become_atoms_and_ids_follow_base(extended, llama2):
    ext, tok = extended
    assert not ext.base.byte_level and ext.base.byte_fallback
    assert ext.learned.new_chars, "Tibetan letters missing from Llama-2 should be added as pieces"
    assert all(len(c) == 1 and c not in ext.base.vocab for c in ext.learned.new_chars)
    assert ext.first_id == len(llama2) == 32000 and len(tok) == 32000 + len(ext.pieces)
    assert all(ext.extended.vocab[p] == i for p, i in ext.base.vocab.items())
    assert ext.extended.merges[: len(ext.base.merges)] == ext.base.merges
    assert unreachable_pieces(ext.extended, ext.pieces) == []
    assert not any(p.startswith("<0x") for p in ext.pieces)


def test_tibetan_compresses_and_english_is_unchanged(extended, llama2, tibetan):
    from langadapt.data.fetch import fetch

    _, tok = extended
    _, held = tibetan
    before = sum(len(llama2.encode(t)) for t in held)
    after = sum(len(tok.encode(t)) for t in held)
    assert after < 0.6 * before
    for text in list(iter_texts([fetch("udhr") / "en.jsonl"]))[:15]:
        assert tok.encode(text) == llama2.encode(text)


_MIXED = st.lists(
    st.one_of(
        st.sampled_from(list("ཀཁགངཅཆཇཉཏཐདནཔཕབམ་།ིེོུྱྲ")),
        st.sampled_from(["😀", "中文", "é", "\u200b", "ÿ"]),
        st.sampled_from([" ", "  ", "\t", "\n", "\x00", "\x1f"]),
        st.text(alphabet=string.printable, max_size=5),
    ),
    max_size=25,
).map("".join)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_MIXED)
def test_round_trip_matches_base_behaviour(extended, llama2, text):
    # Llama-2's decoder strips the one leading space its pre-tokenizer adds; whatever the base
    # returns for a text, the extension must return too, and it is the text itself when it does
    # not start with a space.
    _, tok = extended
    decoded = tok.decode(tok.encode(text, add_special_tokens=False))
    assert decoded == llama2.decode(llama2.encode(text, add_special_tokens=False))
    if not text.startswith(" "):
        assert decoded == text


def test_sentencepiece_model_extended_in_step(extended, llama2, tibetan):
    import sentencepiece as spm

    from langadapt.data.fetch import fetch
    from langadapt.tokenizer.extend_spm import extend_spm_bytes, spm_from_gguf

    ext, tok = extended
    base_proto = spm_from_gguf(fetch("llama-vocab") / GGUF)
    base_sp = spm.SentencePieceProcessor(model_proto=base_proto)
    sample = "All human beings are born free.  Tabs\tand 中文 😀"
    assert base_sp.encode(sample) == llama2.encode(sample, add_special_tokens=False)

    sp = spm.SentencePieceProcessor(model_proto=extend_spm_bytes(base_proto, ext.pieces, ext.first_id))
    assert sp.get_piece_size() == len(tok)
    assert [sp.id_to_piece(i) for i in range(32000)] == [base_sp.id_to_piece(i) for i in range(32000)]
    assert all(sp.piece_to_id(p) == ext.extended.vocab[p] for p in ext.pieces)
    assert sp.encode(sample) == base_sp.encode(sample)
    _, held = tibetan
    for text in held:
        ids = sp.encode(text)
        assert sp.decode(ids) == text
        assert len(ids) < 0.6 * len(base_sp.encode(text))


def test_extend_model_writes_tokenizer_model_when_base_ships_one(llama2, tibetan, tmp_path):
    import json

    import sentencepiece as spm
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from langadapt.data.fetch import fetch
    from langadapt.models.tiny import TINY_CONFIG
    from langadapt.tokenizer.extend import extend_model
    from langadapt.tokenizer.extend_spm import spm_from_gguf

    base_dir = tmp_path / "llama2-tiny"
    llama2.save_pretrained(base_dir)
    (base_dir / "tokenizer.model").write_bytes(spm_from_gguf(fetch("llama-vocab") / GGUF))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=32000, bos_token_id=1, eos_token_id=2, **{**TINY_CONFIG, "tie_word_embeddings": False})
    LlamaForCausalLM(config).save_pretrained(base_dir)
    corpus = tmp_path / "bo.jsonl"
    corpus.write_text("\n".join(json.dumps({"text": t}, ensure_ascii=False) for t in tibetan[0][:200]), encoding="utf-8")

    ext, info = extend_model(str(base_dir), [corpus], TokenizerConfig(new_tokens=200, method="sentencepiece"), tmp_path / "out")
    assert info["sentencepiece_model"] is True and info["tied_embeddings"] is False
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "out" / "tokenizer.model"))
    tok = AutoTokenizer.from_pretrained(tmp_path / "out")
    assert sp.get_piece_size() == len(tok) == 32000 + len(ext.pieces)
    text = tibetan[1][0]
    assert sp.decode(sp.encode(text)) == text and len(sp.encode(text)) < len(llama2.encode(text))
