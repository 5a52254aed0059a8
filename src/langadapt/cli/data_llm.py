"""`langadapt data translate` and `langadapt data synth`: instruction data made through an OpenAI-compatible endpoint.

    langadapt data translate alpaca.jsonl --out data/th --target-language Thai \\
        --base-url http://127.0.0.1:8000/v1 --model my-model
    langadapt data synth docs.jsonl --out data/qa --target-language "Traditional Chinese" --script Han \\
        --base-url http://127.0.0.1:8000/v1 --model my-model

The API key comes from --api-key, the variable named by --api-key-env, or LANGADAPT_DATA_API_KEY;
OPENAI_API_KEY is used only when --base-url is https://api.openai.com, so a key set for OpenAI never
reaches another server. A key is never sent over plain http to another machine.
"""

from __future__ import annotations

import argparse
import json
import sys



def _endpoint_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="Output folder: train.jsonl, rejects.jsonl, provenance.json, cache.jsonl.")
    p.add_argument("--base-url", required=True, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 "
                                                     "(`langadapt serve` works as one).")
    p.add_argument("--model", required=True, help="Model name at the endpoint.")
    p.add_argument("--api-key", help="API key for --base-url only [default: $LANGADAPT_DATA_API_KEY; "
                                     "$OPENAI_API_KEY only for https://api.openai.com].")
    p.add_argument("--api-key-env", default=None,
                   help="Environment variable holding the API key for --base-url (may be unset for local servers) "
                        "[default: LANGADAPT_DATA_API_KEY].")
    p.add_argument("--target-language", required=True, help="Language to write, as the prompt names it, e.g. Thai.")
    p.add_argument("--template", help="Prompt template file ([system]/[user] parts, $placeholders) [default: built-in].")
    p.add_argument("--script", help="Target script for the quality filter: Han, Tibetan, Thai, Latin "
                                    "[default: guessed from --target-language when it is a language tag; none: no check].")
    p.add_argument("--min-script-share", type=float, default=0.5,
                   help="Least share of target-script letters in the new text (0 turns the check off) [default: 0.5].")
    p.add_argument("--limit", type=int, help="Only the first N records/documents.")
    p.add_argument("--concurrency", type=int, default=4, help="Requests in flight at once [default: 4].")
    p.add_argument("--max-retries", type=int, default=6, help="Retries per request on 429/5xx/timeouts [default: 6].")
    p.add_argument("--timeout", type=float, default=120.0, help="Seconds per request [default: 120].")
    p.add_argument("--max-tokens", type=int, help="Most tokens per reply.")
    p.add_argument("--temperature", type=float, help="Sampling temperature.")
    p.add_argument("--quiet", action="store_true", help="No progress bar.")


def register(data_sub) -> None:
    t = data_sub.add_parser("translate", help="Translate an instruction data set through an LLM endpoint.",
                            description="Translate Alpaca, ShareGPT or messages JSONL field by field into the target "
                                        "language, keeping code, URLs and placeholders; cached and resumable.")
    t.add_argument("input", help="Alpaca / ShareGPT / messages JSONL (or JSON list).")
    _endpoint_args(t)
    t.add_argument("--source-language", default="English", help="Language of the input [default: English].")
    t.add_argument("--min-length-ratio", type=float, default=0.2,
                   help="Least translated/source length ratio per field, in characters [default: 0.2].")
    t.add_argument("--max-length-ratio", type=float, default=4.0,
                   help="Largest translated/source length ratio per field [default: 4.0].")
    t.add_argument("--output-format", default="same", choices=["same", "messages"],
                   help="same: records keep their input format; messages: OpenAI messages [default: same].")
    t.set_defaults(func=_translate)

    s = data_sub.add_parser("synth", help="Generate instruction/answer pairs from target-language documents.",
                            description="Ask an LLM endpoint for a question and its answer about each passage "
                                        "(prompt template file); writes Alpaca JSONL.")
    s.add_argument("input", help="Documents: JSONL with a text field, a folder of corpus shards, or a text file.")
    _endpoint_args(s)
    s.add_argument("--text-field", default="text", help="Field holding the document text [default: text].")
    s.add_argument("--min-chars", type=int, default=20, help="Skip (and ledger) shorter documents [default: 20].")
    s.add_argument("--max-chars", type=int, default=2000, help="Cut passages to about this length [default: 2000].")
    s.add_argument("--include-passage", action="store_true", help="Put the passage in the Alpaca `input` field.")
    s.set_defaults(func=_synth)


def _quality(args: argparse.Namespace, with_ratio: bool):
    # deferred: the LLM data modules pull asyncio and the HTTP client, ~50 ms on every `langadapt --help`
    from langadapt.data.quality import QualityCheck, script_for

    script = args.script or script_for(args.target_language)
    if script and script.lower() == "none":
        script = None
    kwargs = {"min_length_ratio": args.min_length_ratio, "max_length_ratio": args.max_length_ratio} if with_ratio else {}
    return QualityCheck(script=script, min_script_share=args.min_script_share, **kwargs)


def _common(args: argparse.Namespace) -> dict:
    from langadapt.data.llm_client import resolve_api_key  # deferred: see _quality

    extra = {k: getattr(args, k) for k in ("max_tokens", "temperature") if getattr(args, k) is not None}
    key, source = resolve_api_key(args.base_url, args.api_key or None, args.api_key_env)
    if "OPENAI_API_KEY is set" in source:  # say why no key is sent, never the key
        print(f"note: API key for {args.base_url}: {source}; use --api-key or LANGADAPT_DATA_API_KEY", file=sys.stderr)
    return dict(base_url=args.base_url, model=args.model, target_language=args.target_language,
                api_key=key, template=args.template, limit=args.limit,
                concurrency=args.concurrency, max_retries=args.max_retries, timeout=args.timeout,
                progress=not args.quiet, **extra)


def _report(result: dict) -> int:
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _translate(args: argparse.Namespace) -> int:
    from langadapt.data.translate import translate_file  # deferred: see _quality

    return _report(translate_file(args.input, args.out, source_language=args.source_language,
                                  quality=_quality(args, True), output_format=args.output_format, **_common(args)))


def _synth(args: argparse.Namespace) -> int:
    from langadapt.data.synth import synth_file  # deferred: see _quality

    return _report(synth_file(args.input, args.out, quality=_quality(args, False), text_field=args.text_field,
                              min_chars=args.min_chars, max_chars=args.max_chars,
                              include_passage=args.include_passage, **_common(args)))
