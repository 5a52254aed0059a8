"""The cleaning stream's fast paths give exactly what the slow paths give.

Skipping pangu on text it cannot change, the one-search prechecks of the normalisers, vectorised
MinHash signatures, and the token cutoff that tokenises only documents near the limit.
"""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pangu
import pytest

from langadapt.config.clean import CleanConfig
from langadapt.config.corpus import CorpusSpec
from langadapt.corpus.filters.tokens import TokenFilter, bytes_bound_tokens
from langadapt.corpus.minhash import MinHasher
from langadapt.corpus.normalize import punctuation, spacing, whitespace, width
from langadapt.corpus.stage import clean_files

MIXED = [
    "你好嗎Jack這是我們的10c.c", "床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。", "「你好」，世界！", "今天,我們去吃飯.好嗎?",
    "他(張三)說", "價格1,000元", "用 GPU 跑 Python", "　　第一章\n\n\n正文  開始 ", "a\tb\r\nc\u2028d", "ＡＢＣ１２３", "中文…英文",
    "中文‧文字", "他說“好”", "臺北·台北", "α粒子", "①②③", "", " ", "\n", "x", "中", "中 文\n", "路徑/usr/bin在此", "價錢$5元",
]


def _random_texts(alphabet: str, n: int = 400, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(n)]


def test_pangu_skip_only_where_pangu_changes_nothing():
    # Han, CJK and full-width punctuation (including pangu's own full-width characters), spaces, line breaks.
    inert = "床前明月光疑是地上霜舉頭望低思故鄉𠀀𪚥，。、；：！？「」『』（）《》〈〉【】〔〕　 \n＋＝／｜－"
    texts = _random_texts(inert) + [t for t in MIXED if not spacing._NEEDS_PANGU.search(t)]
    for text in texts:
        assert pangu.space_text(text) == text
        assert spacing.cjk_latin_spacing(text) == text
    for text in MIXED + _random_texts(inert + "aZ9.,:;!?'\"()[]<>+-*=#@~|/\\%$&·…‧“”", seed=1):
        expected = spacing.number_unit_spacing(pangu.space_text(text)) if spacing._HAS_CJK.search(text) else text
        assert spacing.cjk_latin_spacing(text) == expected


def _slow_whitespace(text: str) -> str:
    for pattern, repl in ((whitespace._BREAKS, "\n"), (whitespace._SPACES, " "), (whitespace._TRAILING, ""), (whitespace._BLANKS, "\n\n")):
        text = pattern.sub(repl, text)
    return text.strip()


def _slow_punctuation(text: str) -> str:
    text = punctuation._BETWEEN.sub(punctuation._full, text)
    text = punctuation._LINE_END.sub(punctuation._full, text)
    return punctuation._PARENS.sub(punctuation._parens, text)


def test_normaliser_prechecks_change_nothing():
    alphabet = "中文字，。 \n\t\r\u3000\u00a0\u2028\x85,.;:!?()ａＺ０９aZ"
    for text in MIXED + _random_texts(alphabet, seed=2):
        assert whitespace.clean_whitespace(text) == _slow_whitespace(text)
        assert punctuation.cjk_punctuation(text) == _slow_punctuation(text)
        assert width.halfwidth_alnum(text) == text.translate(width._TABLE)


def _reference_signature(hasher: MinHasher, text: str) -> np.ndarray:
    """The definition, one n-gram at a time: min over distinct n-grams of each hash function."""
    n = hasher.ngram
    text = text if len(text) >= n else text + "\uffff" * (n - len(text))
    values = []
    for gram in {text[i:i + n] for i in range(len(text) - n + 1)}:
        x = 0
        for ch in gram:
            x = (x * 0x100000001B3 + ord(ch)) % 2**64
        x ^= x >> 30
        x = x * 0xBF58476D1CE4E5B9 % 2**64
        x ^= x >> 27
        x = x * 0x94D049BB133111EB % 2**64
        x ^= x >> 31
        values.append(x)
    xs = np.array(values, dtype=np.uint64)[None, :]
    return ((hasher._a * xs + hasher._b) >> np.uint64(32)).min(axis=1).astype(np.uint32)


def test_minhash_matches_definition_and_estimates_jaccard():
    texts = ["", "ab", "abcde", "床前明月光，疑是地上霜。", "x" * 50] + _random_texts("春眠不覺曉處聞啼鳥", n=30, seed=3)
    small = MinHasher(num_perm=32, ngram=5, block=7, group_chars=20)  # tiny blocks and groups: every seam is crossed
    got = small.signatures(texts)
    for text, sig in zip(texts, got):
        assert np.array_equal(sig, _reference_signature(small, text)), text
    assert all(np.array_equal(a, b) for a, b in zip(got, MinHasher(num_perm=32, ngram=5).signatures(texts)))

    rng = random.Random(4)
    base = "".join(rng.choice("春眠不覺曉處處聞啼鳥夜來風雨聲花落知多少") for _ in range(400))
    edited = base[:300] + "白日依山盡黃河入海流" + base[310:]
    grams = [{t[i:i + 5] for i in range(len(t) - 4)} for t in (base, edited)]
    true = len(grams[0] & grams[1]) / len(grams[0] | grams[1])
    a, b = MinHasher(num_perm=256).signatures([base, edited])
    assert abs(float(np.mean(a == b)) - true) < 0.1


def test_token_cutoff_counts_only_near_the_limit(tiny_model_dir):
    from langadapt.models import load_tokenizer

    tok = load_tokenizer(str(tiny_model_dir))
    assert bytes_bound_tokens(tok)
    texts = ["短", "床前明月光，疑是地上霜。" * 3, "這是一段很長的文字，" * 40, "word " * 90, "字" * 101]
    exact = TokenFilter(lambda: tok, 300)
    lazy = TokenFilter(lambda: tok, 300, count_all=False)
    verdicts, counts = exact.check_batch(texts)
    lazy_verdicts, lazy_counts = lazy.check_batch(texts)
    assert lazy_verdicts == verdicts and verdicts[2] is not True
    for text, n, m in zip(texts, counts, lazy_counts):
        assert n <= len(text.encode("utf-8"))
        assert m == (n if len(text.encode("utf-8")) > 300 else None)


def test_bytes_bound_refuses_other_tokenizers():
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    def wrap(pre, norm=None):
        t = Tokenizer(models.BPE())
        t.pre_tokenizer = pre
        if norm is not None:
            t.normalizer = norm
        return PreTrainedTokenizerFast(tokenizer_object=t)

    assert bytes_bound_tokens(wrap(pre_tokenizers.Sequence([pre_tokenizers.Digits(), pre_tokenizers.ByteLevel(add_prefix_space=False)])))
    assert not bytes_bound_tokens(wrap(pre_tokenizers.ByteLevel(add_prefix_space=True)))
    assert not bytes_bound_tokens(wrap(pre_tokenizers.Metaspace()))
    assert not bytes_bound_tokens(wrap(pre_tokenizers.ByteLevel(add_prefix_space=False), normalizers.NFKC()))


def test_count_tokens_off_keeps_every_decision(tmp_path, tiny_model_dir):
    lines = ["床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。", "這是一段很長的文字，" * 40, "白日依山盡，黃河入海流。",
             "我们这是简体中文的句子，不应该出现在繁体语料里。", "床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。"]
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in lines), encoding="utf-8")
    spec = CorpusSpec(name="c", path=str(path))
    runs = {}
    for count in (True, False):
        cfg = CleanConfig(max_tokens=300, heldout_fraction=0.0, repetition_min_chars=1000, count_tokens=count)
        runs[count] = clean_files([spec], cfg, tmp_path / f"out-{count}", languages=["zh-Hant"],
                                  tokenizer=str(tiny_model_dir), progress=False)
        runs[count]["corpus"] = (tmp_path / f"out-{count}" / "corpus" / "part-00000.jsonl").read_text(encoding="utf-8")
    assert runs[True]["rejects_by_reason"] == runs[False]["rejects_by_reason"] == {
        "too_many_tokens": 1, "simplified_chinese": 1, "exact_duplicate": 1}
    assert runs[True]["corpus"] == runs[False]["corpus"]
    assert runs[True]["tokens_out"] > 0 and runs[False]["tokens_out"] is None
    assert runs[False]["corpora"]["c"]["tokens_out"] is None
    assert re.search(r"tokens out: not counted", (tmp_path / "out-False" / "report.md").read_text(encoding="utf-8"))
