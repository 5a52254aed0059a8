"""Character classes shared by the CJK normalisers and filters (regex class bodies and a Han matcher).

Han and kana come from the languages registry (`langadapt.languages`), the one definition the
script filter and the evaluation unit splitter use too; the CJK rules add the radicals and bopomofo.
"""

from __future__ import annotations

import re

from langadapt.languages import HAN as _HAN
from langadapt.languages import KANA as _KANA

HAN = _HAN.char_class
# Han, CJK and Kangxi radicals, kana and bopomofo: the characters CJK spacing and punctuation rules treat as CJK.
CJK = HAN + "\u2e80-\u2fdf" + _KANA.char_class + "\u3100-\u312f\u31a0-\u31bf"
# Full-width and CJK punctuation count as CJK context for punctuation rules: 「你好」, 吃飯。
CJK_PUNCT = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
HAN_RE = re.compile(f"[{HAN}]")
