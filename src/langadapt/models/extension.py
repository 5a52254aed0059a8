"""The record a vocabulary extension leaves in a model folder: which token ids are new.

    info = read_extension("runs/x/tokenizer/model")   # {"base_vocab_size": ..., "new_token_ids": [first, end], ...} or None

The tokenizer stage writes it; training copies it into its merged model so later stages (the
`embeddings` method, export, the card) still know the new rows.
"""

from __future__ import annotations

import json
from pathlib import Path

EXTENSION_FILE = "langadapt_extension.json"


def read_extension(model_dir: str | Path) -> dict | None:
    path = Path(model_dir) / EXTENSION_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
