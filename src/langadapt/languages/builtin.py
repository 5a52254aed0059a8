"""The languages langadapt ships: registered when `langadapt.languages` is first imported.

To add a language for good, add one `Language(...)` to `BUILTIN` (or register it from your own code
with `langadapt.languages.register`); nothing else in the package needs an edit. Order matters twice:
clean presets are offered in the order they first appear (the `clean.preset` choices), and the UDHR
tasks score their default languages in this order, English first.
"""

from __future__ import annotations

from langadapt.languages.language import BASIC_STEPS, Language, Preset
from langadapt.languages.script import HAN, KANA, LATIN, THAI, TIBETAN

_FILTERS = ("length", "script", "repetition", "tokens")
# No CJK spacing or punctuation rules outside Chinese; NFC (not NFKC) keeps tsheg and shad as written.
_PLAIN_STEPS = ("nfc", "controls", "width", "whitespace")
# Taiwan typography: half-width letters/digits, full-width punctuation, spaces around Latin text.
_CJK_STEPS = ("nfc", "controls", "width", "cjk_punct", "cjk_spacing", "whitespace")

ZH_HANT = Preset("zh-Hant", _CJK_STEPS, ("length", "script", "simplified", "repetition", "tokens"), "Han", 0.5, 0.5)
ZH_HANS = Preset("zh-Hans", _CJK_STEPS, _FILTERS, "Han", 0.5)
BO = Preset("bo", _PLAIN_STEPS, _FILTERS, "Tibetan", 0.5)
# Thai writes no spaces between words, so nothing may insert any.
TH = Preset("th", _PLAIN_STEPS, _FILTERS, "Thai", 0.5)
EN = Preset("en", BASIC_STEPS, _FILTERS, "Latin", 0.5)

_CONTINUE_BO = "གཤམ་གྱི་ཡི་གེ་མུ་མཐུད་དུ་འབྲི་རོགས།"  # "please continue the text below"

BUILTIN: tuple[Language, ...] = (
    Language("zh-Hant", "Traditional Chinese", (HAN,), ZH_HANT, aliases=("zh-TW", "zh-HK", "zh-MO"),
             script_subtag="Hant", udhr_default=True, greeting="你好",
             sample_text="人人生而自由，在尊嚴和權利上一律平等。", continue_instruction="請接著寫下去。"),
    Language("zh-Hans", "Simplified Chinese", (HAN,), ZH_HANS, aliases=("zh-CN", "zh-SG"), greeting="你好"),
    Language("zh", "Chinese", (HAN,), ZH_HANS, greeting="你好"),
    Language("yue", "Cantonese", (HAN,)),
    Language("ja", "Japanese", (HAN, KANA), greeting="こんにちは"),
    Language("ko", "Korean", greeting="안녕하세요"),
    Language("bo", "Tibetan", (TIBETAN,), BO, udhr_default=True, greeting="བཀྲ་ཤིས་བདེ་ལེགས།",
             sample_text="ཁྱོད་ཀྱི་གདོང་ནི་པད་མ་བཞིན།།མིག་དག་ཨུཏྤལ་སྔོན་པོ་བཞིན།", continue_instruction=_CONTINUE_BO),
    Language("dz", "Dzongkha", (TIBETAN,), BO, udhr_default=True, greeting="ཀུ་ཟུ་ཟང་པོ།",
             continue_instruction=_CONTINUE_BO),
    Language("th", "Thai", (THAI,), TH, udhr_default=True, greeting="สวัสดี",
             sample_text="มนุษย์ทั้งหลายเกิดมามีอิสระและเสมอกันในเกียรติศักดิ์และสิทธิ"),
    Language("en", "English", (LATIN,), EN, udhr_default=True,
             sample_text="All human beings are born free and equal in dignity and rights.",
             continue_instruction="Continue the text."),
    Language("fr", "French", (LATIN,)),
    Language("de", "German", (LATIN,), udhr="de-1996"),  # the UDHR has the 1901 and 1996 spellings
    Language("es", "Spanish", (LATIN,)),
    Language("vi", "Vietnamese", (LATIN,)),
    Language("id", "Indonesian", (LATIN,)),
    Language("ms", "Malay"),
    Language("my", "Burmese"),
    Language("km", "Khmer"),
    Language("lo", "Lao"),
    Language("ne", "Nepali"),
    Language("hi", "Hindi"),
    Language("ug", "Uyghur", udhr="ug-Arab"),  # the UDHR has Arabic- and Latin-script translations
    Language("mn", "Mongolian", udhr="mn-Cyrl"),  # and Cyrillic and Mongolian script here
)
