"""Continuation instructions from raw target-language paragraphs: the prompt holds the opening, the answer the rest.

    records = continuation_tasks(texts, instruction="...", min_chars=80, limit=5000)

A stand-in where no instruction set exists for a language (the Tibetan-Alpaca card's 715k
instructions are not public): every answer is real target-language text, not model output.
The split falls on the first sentence end (shad, full stop) after a quarter of the paragraph,
so prompts and answers are whole sentences. The instruction is the language's own, from the
languages registry, in English where it has none.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from langadapt.languages import find as find_language

SENTENCE_END = re.compile(r"[།༎。！？.!?]+\s*")
# Where the registry has no instruction in the language itself (`Language.continue_instruction`).
FALLBACK_LANGUAGE = "en"


def instruction_for(language: str) -> str:
    found = find_language(language)
    if found and found.continue_instruction:
        return found.continue_instruction
    return find_language(FALLBACK_LANGUAGE).continue_instruction  # type: ignore[union-attr]


def split_paragraph(text: str) -> tuple[str, str] | None:
    text = text.strip()
    for match in SENTENCE_END.finditer(text):
        if match.end() >= len(text) // 4 and match.end() < len(text) - 10:
            return text[: match.end()].strip(), text[match.end():].strip()
    return None


def continuation_tasks(texts: Iterable[str], language: str, min_chars: int = 80,
                       limit: int | None = None) -> list[dict[str, Any]]:
    instruction = instruction_for(language)
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
