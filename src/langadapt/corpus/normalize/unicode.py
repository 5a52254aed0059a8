"""Unicode NFC and control-character removal (NFC, not NFKC: NFKC would rewrite full-width punctuation and Tibetan marks)."""

from __future__ import annotations

import re
import unicodedata

from langadapt.corpus.normalize.base import Normalizer

# C0/C1 controls except tab and line breaks, plus the byte-order mark that editors leave at file starts.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufeff]")


def nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def strip_controls(text: str) -> str:
    return _CONTROLS.sub("", text)


NFC = Normalizer("nfc", nfc)
CONTROLS = Normalizer("controls", strip_controls)
