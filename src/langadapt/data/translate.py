"""Translate an instruction data set (Alpaca, ShareGPT or messages JSONL) through an OpenAI-compatible endpoint.

    langadapt data translate alpaca.jsonl --out data/th --target-language Thai --script Thai \\
        --base-url http://127.0.0.1:8000/v1 --model my-model --concurrency 8

Each text field is sent on its own, with code, URLs and placeholders masked (data/protect.py), so
the record's structure never depends on the model. A record is kept only when every field came
back, kept its markers and passed the quality checks; otherwise it goes to rejects.jsonl with the
reason. Replies are cached in OUT/cache.jsonl: run the same command again after a crash and only
what is missing is sent.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from langadapt import __version__
from langadapt.data import protect
from langadapt.data.llm_client import LLMClient, RequestFailed, load_prompt_template, render_messages
from langadapt.data.llm_output import DataOutputs, file_sha256, now, template_info
from langadapt.data.quality import QualityCheck
from langadapt.data.sft_records import detect_format, read_records, to_messages
from langadapt.errors import UserError

TEMPLATE = Path(__file__).parent / "templates" / "translate.txt"
_ALPACA_FIELDS = ("system", "instruction", "input", "output")


def text_fields(record: dict, fmt: str) -> list[tuple[tuple, str]]:
    """(path inside the record, text) of every non-empty text field, in reading order."""
    if fmt == "alpaca":
        return [((k,), record[k]) for k in _ALPACA_FIELDS if isinstance(record.get(k), str) and record[k].strip()]
    if fmt == "sharegpt":
        return [(("conversations", i, "value"), t["value"]) for i, t in enumerate(record["conversations"])
                if isinstance(t.get("value"), str) and t["value"].strip()]
    return [(("messages", i, "content"), m["content"]) for i, m in enumerate(record["messages"])
            if isinstance(m.get("content"), str) and m["content"].strip()]


def _set(record: dict, path: tuple, value: str) -> None:
    target: Any = record
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def translate_file(input_path: str | Path, out_dir: str | Path, base_url: str, model: str, target_language: str,
                   source_language: str = "English", api_key: str | None = None,
                   template: str | Path | None = None, quality: QualityCheck | None = None,
                   output_format: str = "same", limit: int | None = None, concurrency: int = 4,
                   max_retries: int = 6, timeout: float = 120.0, temperature: float = 0.0,
                   max_tokens: int = 1024, progress: bool = True) -> dict[str, Any]:
    """Translate every record of `input_path`; returns counts and output paths (see DataOutputs)."""
    if output_format not in ("same", "messages"):
        raise UserError(f"--output-format must be `same` or `messages`, got {output_format!r}")
    started = now()
    input_path, out_dir = Path(input_path), Path(out_dir)
    template_path = Path(template) if template else TEMPLATE
    prompt = load_prompt_template(template_path)
    quality = quality or QualityCheck()
    records = read_records(input_path)[:limit] if limit else read_records(input_path)
    if not records:
        raise UserError(f"{input_path}: no records")

    # Every field of every record becomes one prompt; fields with nothing to translate are not sent.
    plan: list[tuple[dict, str, list]] = []
    prompts: list[list[dict]] = []
    for record in records:
        fmt = detect_format(record)
        fields = []
        for path, text in text_fields(record, fmt):
            masked, spans = protect.mask(text)
            slot = None
            if protect.needs_sending(masked):
                slot = len(prompts)
                prompts.append(render_messages(prompt, {"text": masked, "source_language": source_language,
                                                        "target_language": target_language}))
            fields.append((path, text, spans, slot))
        plan.append((record, fmt, fields))

    client = LLMClient(base_url, model, api_key=api_key, cache_path=out_dir / "cache.jsonl", concurrency=concurrency,
                       max_retries=max_retries, timeout=timeout, temperature=temperature, max_tokens=max_tokens)
    try:
        replies = client.complete_many(prompts, progress=progress)
    finally:
        client.close()

    out = DataOutputs(out_dir, source=input_path.name, step="translate")
    for n, (record, fmt, fields) in enumerate(plan):
        origin = f"{input_path.name}:{n + 1}"
        verdict = _translate_record(record, fields, replies, quality)
        if isinstance(verdict, tuple):
            out.reject(n, origin, verdict[0], verdict[1], record)
        else:
            out.keep({"messages": to_messages(verdict, fmt)} if output_format == "messages" else verdict)
    return out.finish({
        "kind": "translate", "langadapt_version": __version__, "started": started,
        "input": {"path": str(input_path.resolve()), "sha256": file_sha256(input_path), "records": len(records)},
        "endpoint": {"base_url": base_url, "model": model, "temperature": temperature, "max_tokens": max_tokens},
        "source_language": source_language, "target_language": target_language,
        "prompt_template": template_info(template_path), "quality": quality.settings(),
        "output_format": output_format, "fields_sent": len(prompts),
        "requests": vars(client.stats),
        "cache": str(out_dir / "cache.jsonl"),
    })


def _translate_record(record: dict, fields: list, replies: list, quality: QualityCheck) -> dict | tuple[str, str]:
    """The translated record, or (reason, detail) for the ledger."""
    result = copy.deepcopy(record)
    new_text = []
    for path, text, spans, slot in fields:
        if slot is None:
            continue
        reply = replies[slot]
        where = ".".join(map(str, path))
        if isinstance(reply, RequestFailed):
            return "request_failed", f"{where}: {reply.error}"
        restored = protect.restore(reply.strip(), spans)
        if restored is None:
            return "placeholder_lost", f"{where}: a code/URL/placeholder marker was dropped or changed"
        bad = quality.field(text, restored)
        if bad:
            return bad[0], f"{where}: {bad[1]}"
        _set(result, path, restored)
        new_text.append(restored)
    if not new_text:
        return result
    bad = quality.text("\n".join(new_text))
    return (bad[0], bad[1]) if bad else result

