"""Character classes shared by the CJK normalisers and filters."""

from __future__ import annotations

import re

# Han ideographs (BMP blocks, compatibility, extensions B and later), kana and bopomofo.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
CJK = HAN + "\u2e80-\u2fdf\u3040-\u30ff\u3100-\u312f\u31a0-\u31bf"
# Full-width and CJK punctuation count as CJK context for punctuation rules: 「你好」, 吃飯。
CJK_PUNCT = "\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
HAN_RE = re.compile(f"[{HAN}]")
