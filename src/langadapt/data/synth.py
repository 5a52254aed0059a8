"""Instruction/answer pairs written by an LLM from target-language documents (questions about a passage).

    langadapt data synth docs.jsonl --out data/qa --target-language "Traditional Chinese" --script Han \\
        --base-url http://127.0.0.1:8000/v1 --model my-model [--template my-prompt.txt] [--include-passage]

Documents: JSONL with a text field (the cleaned corpus's shards folder works too) or a plain text
file with blank-line separated passages. The prompt template (default templates/synth-qa.txt) gets
`$passage` and `$target_language` and must make the model reply `Question: ...` / `Answer: ...`.
Output is Alpaca JSONL (instruction = question, input = passage when --include-passage, output =
answer) with the same cache, retries, rejects ledger and provenance as `data translate`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from langadapt import __version__
from langadapt.corpus.writers import read_shards
from langadapt.data.llm_client import LLMClient, RequestFailed, load_prompt_template, render_messages
from langadapt.data.llm_output import DataOutputs, now, template_info
from langadapt.data.quality import QualityCheck
from langadapt.data.sft_records import read_records
from langadapt.errors import UserError
from langadapt.textio import data_suffix, open_text

TEMPLATE = Path(__file__).parent / "templates" / "synth-qa.txt"
_QA = re.compile(r"^\W*question\W*:\s*(?P<q>.+?)\s*^\W*answer\W*:\s*(?P<a>.+)", re.S | re.I | re.M)


def read_documents(path: str | Path, text_field: str = "text") -> list[str]:
    path = Path(path)
    if path.is_dir():
        return [str(r.get(text_field) or "") for r in read_shards(path)]
    if not path.is_file():
        raise UserError(f"{path}: no such documents file or folder")
    if data_suffix(path) in (".jsonl", ".json"):  # also a.jsonl.gz, a.jsonl.zst, ...
        rows = read_records(path)
        if rows and text_field not in rows[0]:
            raise UserError(f"{path}: records have no `{text_field}` field (keys: {sorted(rows[0])[:8]}); "
                            "pass --text-field")
        return [str(r.get(text_field) or "") for r in rows]
    with open_text(path) as fh:
        text = fh.read()
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def parse_qa(reply: str) -> tuple[str, str] | None:
    m = _QA.search(reply or "")
    if not m or not m.group("q").strip() or not m.group("a").strip():
        return None
    return m.group("q").strip(), m.group("a").strip()


def synth_file(input_path: str | Path, out_dir: str | Path, base_url: str, model: str, target_language: str,
               api_key: str | None = None, template: str | Path | None = None, quality: QualityCheck | None = None,
               text_field: str = "text", min_chars: int = 20, max_chars: int = 2000, include_passage: bool = False,
               limit: int | None = None, concurrency: int = 4, max_retries: int = 6, timeout: float = 120.0,
               temperature: float = 0.7, max_tokens: int = 512, progress: bool = True) -> dict[str, Any]:
    started = now()
    input_path, out_dir = Path(input_path), Path(out_dir)
    template_path = Path(template) if template else TEMPLATE
    prompt = load_prompt_template(template_path)
    if "$passage" not in prompt[1].template and "${passage}" not in prompt[1].template:
        raise UserError(f"prompt template {template_path}: the [user] part must contain $passage")
    quality = quality or QualityCheck()
    docs = read_documents(input_path, text_field)
    docs = docs[:limit] if limit else docs
    if not docs:
        raise UserError(f"{input_path}: no documents")

    out = DataOutputs(out_dir, source=input_path.name, step="synth")
    slots: list[int | None] = []
    prompts: list[list[dict]] = []
    passages: list[str] = []
    for i, doc in enumerate(docs):
        if len(doc.strip()) < min_chars:
            slots.append(None)
            continue
        slots.append(len(prompts))
        # Long documents are cut at a paragraph or line end before max_chars, not mid-sentence.
        passage = doc.strip()
        if len(passage) > max_chars:
            cut = max(passage.rfind("\n", 0, max_chars), passage.rfind("。", 0, max_chars) + 1,
                      passage.rfind(". ", 0, max_chars) + 1)
            passage = passage[: cut if cut > max_chars // 2 else max_chars]
        passages.append(passage)
        prompts.append(render_messages(prompt, {"passage": passage, "target_language": target_language}))

    client = LLMClient(base_url, model, api_key=api_key, cache_path=out_dir / "cache.jsonl", concurrency=concurrency,
                       max_retries=max_retries, timeout=timeout, temperature=temperature, max_tokens=max_tokens)
    try:
        replies = client.complete_many(prompts, progress=progress)
    finally:
        client.close()

    for i, (doc, slot) in enumerate(zip(docs, slots)):
        origin = f"{input_path.name}:{i + 1}"
        if slot is None:
            out.reject(i, origin, "too_short", f"document under {min_chars} characters", doc)
            continue
        reply = replies[slot]
        if isinstance(reply, RequestFailed):
            out.reject(i, origin, "request_failed", reply.error, doc)
            continue
        qa = parse_qa(reply)
        if qa is None:
            out.reject(i, origin, "unparseable", f"no `Question:` / `Answer:` in the reply: {reply[:120]!r}", doc)
            continue
        bad = quality.text(f"{qa[0]}\n{qa[1]}")
        if bad:
            out.reject(i, origin, bad[0], bad[1], {"text": doc, "reply": reply})
            continue
        out.keep({"instruction": qa[0], "input": passages[slot] if include_passage else "", "output": qa[1]})
    return out.finish({
        "kind": "synth", "langadapt_version": __version__, "started": started,
        "input": {"path": str(input_path.resolve()), "documents": len(docs)},
        "endpoint": {"base_url": base_url, "model": model, "temperature": temperature, "max_tokens": max_tokens},
        "target_language": target_language, "prompt_template": template_info(template_path),
        "quality": quality.settings(), "include_passage": include_passage,
        "requests": vars(client.stats), "cache": str(out_dir / "cache.jsonl"),
    })

