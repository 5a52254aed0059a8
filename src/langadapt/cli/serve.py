"""`langadapt chat`, `langadapt serve`, `langadapt webui`: talk to a model after any stage."""

from __future__ import annotations

import argparse
import os

from langadapt.cli.common import add_config_flags, collect_config_flags
from langadapt.config.generation import GenerationConfig
from langadapt.config.load import apply_overrides, load_recipe
from langadapt.errors import UserError, require
from langadapt.serve.guard import Limits


def _model_args(p: argparse.ArgumentParser, optional: bool = False) -> None:
    p.add_argument("model", nargs="?" if optional else None,
                   help="Alias, local model folder, GGUF file, adapter folder or Hub id.")
    p.add_argument("--adapter", help="PEFT adapter folder applied on top of MODEL (merged for speed).")
    p.add_argument("--dtype", default="auto", choices=["auto", "fp32", "bf16", "fp16"], help="Weights dtype [default: auto].")
    p.add_argument("--device", help="torch device, e.g. cuda or cpu [default: where the model loads].")
    p.add_argument("--load-in", choices=["8bit", "4bit"],
                   help="Load the weights in 8-bit or 4-bit (bitsandbytes; needs a CUDA GPU and the qlora extra).")
    p.add_argument("--recipe", help="Recipe YAML whose `generation` section gives the defaults.")
    p.add_argument("overrides", nargs="*", default=[], metavar="generation.key=value",
                   help="Generation overrides, e.g. generation.stop='[\"###\"]' generation.begin_suppress_tokens=[2].")
    add_config_flags(p, GenerationConfig, "generation")


def generation_config(args: argparse.Namespace) -> GenerationConfig:
    """Recipe defaults, then `generation.*` overrides, then the generated flags."""
    from pydantic import ValidationError

    overrides = list(args.overrides) + collect_config_flags(args)
    bad = [o for o in overrides if not o.startswith("generation.")]
    if bad:
        raise UserError(f"only generation.* overrides apply here, got: {' '.join(bad)}")
    base = load_recipe(args.recipe).generation.model_dump() if args.recipe else {}
    data = apply_overrides({"generation": base}, overrides)["generation"]
    try:
        return GenerationConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise UserError(f"generation.{'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def _chat(args: argparse.Namespace) -> int:
    from langadapt.serve.chat import run_chat  # deferred: the serving code is for running; `--help` builds every parser

    return run_chat(args.model, args.adapter, generation_config(args), prompt=args.prompt, system=args.system,
                    mode=args.mode, dtype=args.dtype, device=args.device, quantization=args.load_in)


def _serve(args: argparse.Namespace) -> int:
    # deferred: see _chat
    from langadapt.serve.loading import start_engine
    from langadapt.serve.server import serve
    from langadapt.serve.vllm import engine_flags, serve_with_vllm

    config = generation_config(args)
    api_key = args.api_key or os.environ.get("LANGADAPT_API_KEY")
    names = args.served_model_name or [args.model]
    if args.engine == "vllm":
        if args.load_in:
            raise UserError("--load-in applies to the built-in engine; vLLM chooses its own quantization")
        extra = engine_flags(args.engine_arg or [])  # checked before vllm is imported or the model merged
        return serve_with_vllm(args.model, args.adapter, host=args.host, port=args.port, api_key=api_key,
                               served_names=names, dtype=args.dtype, extra=extra)
    if args.engine_arg:
        raise UserError("--engine-arg applies to --engine vllm; the built-in engine takes its own flags")
    limits = Limits(max_body_bytes=args.max_body_bytes, max_choices=args.max_choices, max_queue=args.max_queue,
                    max_stop_chars=args.max_stop_chars)
    engine = start_engine(args.model, args.adapter, max_batch_size=args.max_batch_size, dtype=args.dtype,
                          device=args.device, quantization=args.load_in)
    try:
        serve(engine, names, host=args.host, port=args.port, api_key=api_key, defaults=config,
              log_level=args.log_level, limits=limits)
    finally:
        engine.shutdown()
    return 0


def _webui(args: argparse.Namespace) -> int:
    # deferred: see _chat
    from langadapt.serve.judge_ui import run_judge_ui
    from langadapt.serve.webui import run_webui

    require("gradio", "webui", "langadapt webui")
    if args.judge:
        return run_judge_ui(args.judge, args.judge_out, host=args.host, port=args.port, seed=args.judge_seed)
    if not args.model:
        raise UserError("webui: pass a MODEL (or --judge PAIRS.jsonl for blind judging)")
    return run_webui(args.model, args.adapter, generation_config(args), compare=args.compare,
                     compare_adapter=args.compare_adapter, host=args.host, port=args.port, dtype=args.dtype,
                     device=args.device, quantization=args.load_in)


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("expected 1 or more, got 0")
    return value


def register(sub) -> None:
    p = sub.add_parser("chat", help="Talk to a model in the terminal.", description=(
        "Interactive chat with streaming answers and multi-turn history. In the session: /reset, /show, "
        "/set KEY VALUE (e.g. /set temperature 0.2), /system TEXT, /quit."))
    _model_args(p)
    p.add_argument("--prompt", help="Answer this one prompt and exit (no interactive session).")
    p.add_argument("--system", help="System prompt for the conversation.")
    p.add_argument("--mode", default="auto", choices=["auto", "chat", "completion"],
                   help="chat uses the chat template; completion continues plain text (base models). "
                        "auto: chat when the tokenizer has a chat template [default: auto].")
    p.set_defaults(func=_chat)

    p = sub.add_parser("serve", help="OpenAI-compatible HTTP API.", description=(
        "OpenAI-compatible server: /v1/chat/completions, /v1/completions, /v1/models, /health, vLLM's "
        "/tokenize, /detokenize and /tokenizer_info, Prometheus /metrics. Concurrent requests are batched "
        "together; every error is an OpenAI-style JSON error, and the limits below answer 413 or 429."))
    _model_args(p)
    p.add_argument("--host", default="127.0.0.1", help="Address to bind [default: 127.0.0.1, this machine only].")
    p.add_argument("--port", type=int, default=8000, help="Port [default: 8000].")
    p.add_argument("--api-key", help="Require `Authorization: Bearer KEY` (or set LANGADAPT_API_KEY).")
    p.add_argument("--served-model-name", action="append", help="Name(s) clients use as `model` [default: MODEL].")
    p.add_argument("--max-batch-size", type=int, default=16, help="Most requests generated together [default: 16].")
    p.add_argument("--engine", default="langadapt", choices=["langadapt", "vllm"],
                   help="langadapt: built-in engine (CPU or GPU); vllm: hand the model to vLLM's server (GPU).")
    p.add_argument("--engine-arg", action="append", metavar="KEY[=VALUE]",
                   help="Extra vLLM engine flag, repeatable: --engine-arg gpu-memory-utilization=0.8 "
                        "--engine-arg enforce-eager (--engine vllm only).")
    limits = Limits()
    p.add_argument("--max-body-bytes", type=_positive, default=limits.max_body_bytes,
                   help=f"Largest request body; bigger ones get 413 [default: {limits.max_body_bytes}].")
    p.add_argument("--max-choices", type=_positive, default=limits.max_choices,
                   help=f"Most answers per request, prompts x n; more get 413 [default: {limits.max_choices}].")
    p.add_argument("--max-queue", type=_non_negative, default=limits.max_queue,
                   help=f"Most requests waiting beyond the running batch; more get 429 [default: {limits.max_queue}].")
    p.add_argument("--max-stop-chars", type=_non_negative, default=limits.max_stop_chars,
                   help=f"Most characters over a request's stop strings; more get 413 [default: {limits.max_stop_chars}].")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=_serve)

    p = sub.add_parser("webui", help="Gradio chat page with side-by-side mode.", description=(
        "Chat page in the browser with the generation options; --compare adds a side-by-side tab that "
        "sends one prompt to two models (e.g. base and adapted). Needs `pip install 'langadapt[webui]'`."))
    _model_args(p, optional=True)
    p.add_argument("--compare", help="Second model for the side-by-side tab.")
    p.add_argument("--compare-adapter", help="Adapter applied on top of --compare (or on MODEL when --compare is absent).")
    p.add_argument("--host", default="127.0.0.1", help="Address to bind [default: 127.0.0.1].")
    p.add_argument("--port", type=int, default=7860, help="Port [default: 7860].")
    p.add_argument("--judge", metavar="PAIRS.jsonl",
                   help="Blind side-by-side judging of recorded answers instead of chat (no MODEL): PAIRS.jsonl holds "
                        "{id, prompt, answers: {model: text, model2: text}} or an eval results.json.")
    p.add_argument("--judge-out", default="human-judgements.jsonl",
                   help="JSONL the choices are appended to (judged items are skipped on restart) [default: human-judgements.jsonl].")
    p.add_argument("--judge-seed", type=int, default=0, help="Seed of the per-item left/right order [default: 0].")
    p.set_defaults(func=_webui)
