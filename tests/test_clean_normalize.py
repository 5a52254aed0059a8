"""Normalisers and filters on the seed card's example and a table of cases per script."""

from __future__ import annotations

import pytest

from langadapt.config.clean import CleanConfig
from langadapt.corpus.filters.repetition import RepetitionFilter
from langadapt.corpus.filters.script import ScriptFilter
from langadapt.corpus.filters.simplified import SimplifiedFilter
from langadapt.corpus import normalize
from langadapt.corpus.presets import PRESETS, preset_for_language


def normalise(text: str, preset: str) -> str:
    for _, func in normalize.build(list(PRESETS[preset].normalizers), CleanConfig()):
        text = func(text)
    return text


def test_seed_card_example():
    assert normalise("你好嗎Jack這是我們的10c.c", "zh-Hant") == "你好嗎 Jack 這是我們的 10 c.c"
    assert normalise('他說:"Hello, how are you?"', "zh-Hant") == '他說:"Hello, how are you?"'


@pytest.mark.parametrize("raw, expected", [
    # width: full-width letters and digits become half-width; full-width punctuation stays
    ("ＡＢＣ１２３", "ABC123"),
    ("我有１０００元", "我有 1000 元"),
    ("「你好」，世界！", "「你好」，世界！"),
    # punctuation between Chinese characters turns full-width
    ("今天,我們去吃飯.好嗎?", "今天，我們去吃飯。好嗎？"),
    ("說:「你好」", "說：「你好」"),
    ("他(張三)說", "他（張三）說"),
    ("如下:", "如下："),
    # ... but not inside Latin text, numbers or ellipses
    ("Hello, world. 你好", "Hello, world. 你好"),
    ("圓周率3.14很重要", "圓周率 3.14 很重要"),
    ("價格1,000元", "價格 1,000 元"),
    # spacing between CJK and Latin letters/digits, numbers and units
    ("GPU有80GB記憶體", "GPU 有 80 GB 記憶體"),
    ("版本v1.2.3發佈", "版本 v1.2.3 發佈"),
    ("我用3D印表機和5G網路", "我用 3D 印表機和 5G 網路"),
    ("中文(English)中文", "中文 (English) 中文"),
    # whitespace and control characters
    ("a\u0000b\ufeff  c\r\n\r\n\r\n\r\nd  ", "ab c\n\nd"),
    ("第一行   \n第二行", "第一行\n第二行"),
])
def test_zh_hant_cases(raw, expected):
    assert normalise(raw, "zh-Hant") == expected


THAI = ["สวัสดีครับ ยินดีต้อนรับสู่ประเทศไทย", "ภาษาไทยABC123ไม่มีช่องว่าง", "ราคา100บาท"]
TIBETAN = ["བོད་ཡིག་ནི་བོད་མིའི་ཡི་གེ་ཡིན། ", "བོད་ཡིག་ABC།༢༠༢༤ ཀ་ཁ།", "ཀ༌ཁ་ག།"]


@pytest.mark.parametrize("text", THAI)
@pytest.mark.parametrize("preset", ["zh-Hant", "th"])
def test_thai_untouched(text, preset):
    # Thai has no spaces between words: neither the CJK rules nor the Thai preset may add any.
    assert normalise(text, preset) == text.strip()


@pytest.mark.parametrize("text", TIBETAN)
@pytest.mark.parametrize("preset", ["zh-Hant", "bo"])
def test_tibetan_untouched(text, preset):
    out = normalise(text, preset)
    assert out == text.strip()
    # tsheg (U+0F0B), non-breaking tsheg (U+0F0C) and shad (U+0F0D) all survive (NFKC would fold U+0F0C)
    for mark in "\u0f0b\u0f0c\u0f0d":
        assert out.count(mark) == text.count(mark)


@pytest.mark.parametrize("language, preset", [
    ("zh-TW", "zh-Hant"), ("zh-Hant", "zh-Hant"), ("zh-Hant-TW", "zh-Hant"), ("zh-CN", "zh-Hans"),
    ("bo", "bo"), ("dz", "bo"), ("th", "th"), ("en-US", "en"), ("km", "generic"), (None, "generic"),
])
def test_preset_for_language(language, preset):
    assert preset_for_language(language).name == preset


@pytest.mark.parametrize("text, keep", [
    ("床前明月光，疑是地上霜。舉頭望明月，低頭思故鄉。", True),
    ("皇后在公里外乾燥的地方吃麵，這是台灣。", True),  # Traditional words that s2t alone would touch
    ("我们这是简体中文的句子，不应该出现。", False),
    ("English only", True),
    ("秦川雄帝宅，函谷壯皇居。于是采薇歸故里，雲日隱層闕。", True),  # 于 采 里: Simplified forms that are Traditional characters too
    ("這是繁體中文的段落，寫得很長很長。我们这是简体中文的句子，不应该出现。", False),
])
def test_simplified_filter(text, keep):
    assert (SimplifiedFilter(0.5)(text) is True) == keep


@pytest.mark.parametrize("script, text, keep", [
    ("Han", "這是一段中文句子，裡面有 GPU 和 Python 兩個英文詞。", True),
    ("Han", "This is an English sentence with 一 character", False),
    ("Tibetan", "བོད་ཡིག་ནི་བོད་མིའི་ཡི་གེ་ཡིན།", True),
    ("Thai", "สวัสดีครับ", True),
    ("Thai", "hello world", False),
])
def test_script_filter(script, text, keep):
    assert (ScriptFilter(script, 0.5)(text) is True) == keep


def test_repetition_filter():
    f = RepetitionFilter(0.3, 0.2, 10)
    assert f("買一送一大特價\n" * 10) == (False, "duplicate_lines", f("買一送一大特價\n" * 10)[2])
    assert f("哈" * 200)[1] == "repeated_ngram"
    assert f("床前明月光，疑是地上霜。\n舉頭望明月，低頭思故鄉。") is True
