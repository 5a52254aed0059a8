"""Continuation instructions from raw target-language paragraphs: the prompt holds the opening, the answer the rest.

    records = continuation_tasks(texts, instruction="...", min_chars=80, limit=5000)

A stand-in where no instruction set exists for a language (the Tibetan-Alpaca card's 715k
instructions are not public): every answer is real target-language text, not model output.
The split falls on the first sentence end (shad, full stop) after a quarter of the paragraph,
so prompts and answers are whole sentences.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

SENTENCE_END = re.compile(r"[།༎。！？.!?]+\s*")

# Instruction per script, in the target language where we have one.
INSTRUCTIONS = {
    "bo": "གཤམ་གྱི་ཡི་གེ་མུ་མཐུད་དུ་འབྲི་རོགས།",  # "please continue the text below"
    "dz": "གཤམ་གྱི་ཡི་གེ་མུ་མཐུད་དུ་འབྲི་རོགས།",
    "zh-Hant": "請接著寫下去。",
    "en": "Continue the text.",
}


def split_paragraph(text: str) -> tuple[str, str] | None:
    text = text.strip()
    for match in SENTENCE_END.finditer(text):
        if match.end() >= len(text) // 4 and match.end() < len(text) - 10:
            return text[: match.end()].strip(), text[match.end():].strip()
    return None


def continuation_tasks(texts: Iterable[str], language: str, min_chars: int = 80,
                       limit: int | None = None) -> list[dict[str, Any]]:
    instruction = INSTRUCTIONS.get(language, INSTRUCTIONS["en"])
    records = []
    for text in texts:
        for paragraph in text.split("\n"):
            if len(paragraph) < min_chars:
                continue
            parts = split_paragraph(paragraph)
            if parts:
                records.append({"instruction": instruction, "input": parts[0], "output": parts[1],
                                "task_type": "continuation"})
            if limit and len(records) >= limit:
                return records
    return records
