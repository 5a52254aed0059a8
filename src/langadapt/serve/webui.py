"""Chat page in the browser: `langadapt webui MODEL [--adapter DIR] [--compare MODEL2]`.

A Gradio page with streaming answers and the generation options; with a second model, a
"Side by side" tab sends one prompt to both (e.g. the base model and the adapted one).
Needs the `webui` extra (gradio). `build_app` returns the Blocks for embedding and tests.
"""

from __future__ import annotations

import inspect
import os
import queue
import sys
from typing import Any, Iterator

from langadapt.config.generation import GenerationConfig
from langadapt.serve.chat import ChatSession
from langadapt.serve.loading import start_engine

# The page must not phone home; this is read when gradio is imported.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def _text(content: Any) -> str:
    """Gradio hands message content back as a string, a dict or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or content.get("value") or "")
    if isinstance(content, (list, tuple)):
        return "".join(_text(part) for part in content)
    return "" if content is None else str(content)


def _config(base: GenerationConfig, max_new_tokens, temperature, top_k, top_p, typical_p, repetition_penalty,
            no_repeat_ngram_size, seed, stop) -> GenerationConfig:
    return GenerationConfig.model_validate({
        **base.model_dump(),
        "max_new_tokens": int(max_new_tokens), "temperature": float(temperature), "top_k": int(top_k),
        "top_p": float(top_p), "typical_p": float(typical_p), "repetition_penalty": float(repetition_penalty),
        "no_repeat_ngram_size": int(no_repeat_ngram_size),
        "seed": None if seed in (None, "", -1) else int(seed),
        "stop": [s for s in (stop or "").split("|") if s],
    })


def _prompt(engine, config: GenerationConfig, system: str, history: list[dict], message: str) -> list[int]:
    session = ChatSession(engine, config, system=system or None)
    session.history = [{"role": m["role"], "content": _text(m["content"])} for m in history
                       if m.get("role") in ("user", "assistant")]
    return session.prompt_ids(message)


def stream_many(engines: list, prompts: list[list[int]], config: GenerationConfig) -> Iterator[list[str]]:
    """Stream several engines at once; yields the texts so far after every piece from any of them."""
    box: queue.Queue = queue.Queue()
    reqs = [engine.submit(ids, config, lambda out, i=i: box.put((i, out))) for i, (engine, ids) in
            enumerate(zip(engines, prompts))]
    texts = [""] * len(engines)
    remaining = len(engines)
    try:
        while remaining:
            i, out = box.get()
            texts[i] += out.text if not out.error else f" [error: {out.error}]"
            remaining -= bool(out.finish_reason)
            yield list(texts)
    finally:
        for req in reqs:
            req.cancel()


def build_app(engines: dict[str, Any], defaults: GenerationConfig):
    import gradio as gr

    names = list(engines)
    # Gradio 4-5 default to (user, bot) tuples; 6 only knows role/content messages, which this page uses.
    messages = {"type": "messages"} if "type" in inspect.signature(gr.Chatbot.__init__).parameters else {}
    with gr.Blocks(title="langadapt chat") as demo:
        gr.Markdown(f"### langadapt · {' vs '.join(names)}")
        with gr.Accordion("Generation options", open=False):
            system = gr.Textbox(label="System prompt", elem_id="system")
            with gr.Row():
                options = [
                    gr.Slider(1, 2048, value=defaults.max_new_tokens, step=1, label="max_new_tokens"),
                    gr.Slider(0.0, 2.0, value=defaults.temperature, step=0.05, label="temperature"),
                    gr.Slider(0, 200, value=defaults.top_k, step=1, label="top_k"),
                    gr.Slider(0.01, 1.0, value=defaults.top_p, step=0.01, label="top_p"),
                ]
            with gr.Row():
                options += [
                    gr.Slider(0.01, 1.0, value=defaults.typical_p, step=0.01, label="typical_p"),
                    gr.Slider(0.5, 2.0, value=defaults.repetition_penalty, step=0.05, label="repetition_penalty"),
                    gr.Slider(0, 10, value=defaults.no_repeat_ngram_size, step=1, label="no_repeat_ngram_size"),
                    gr.Number(value=defaults.seed if defaults.seed is not None else -1, precision=0,
                              label="seed (-1: random)"),
                    gr.Textbox(value="|".join(defaults.stop), label="stop strings (separated by |)"),
                ]

        def respond(engine_names: list[str]):
            def handler(message, system_prompt, *args):
                histories = [list(h or []) for h in args[: len(engine_names)]]
                config = _config(defaults, *args[len(engine_names):])
                if not message or not message.strip():
                    yield ("", *histories)
                    return
                picked = [engines[n] for n in engine_names]
                prompts = [_prompt(e, config, system_prompt, h, message) for e, h in zip(picked, histories)]
                for h in histories:
                    h += [{"role": "user", "content": message}, {"role": "assistant", "content": ""}]
                yield ("", *histories)
                for texts in stream_many(picked, prompts, config):
                    for h, text in zip(histories, texts):
                        h[-1] = {"role": "assistant", "content": text}
                    yield ("", *histories)
            return handler

        with gr.Tab("Chat"):
            chatbot = gr.Chatbot(label=names[0], elem_id="chatbot", height=420, **messages)
            message = gr.Textbox(placeholder="Type a message and press Enter", show_label=False, elem_id="message")
            clear = gr.Button("Reset conversation", elem_id="reset")
            message.submit(respond(names[:1]), [message, system, chatbot, *options], [message, chatbot])
            clear.click(lambda: [], None, chatbot)
        if len(names) > 1:
            with gr.Tab("Side by side"):
                with gr.Row():
                    left = gr.Chatbot(label=names[0], elem_id="left", height=420, **messages)
                    right = gr.Chatbot(label=names[1], elem_id="right", height=420, **messages)
                both = gr.Textbox(placeholder="One prompt, both models", show_label=False, elem_id="both")
                clear2 = gr.Button("Reset both", elem_id="reset-both")
                both.submit(respond(names[:2]), [both, system, left, right, *options], [both, left, right])
                clear2.click(lambda: ([], []), None, [left, right])
    return demo


def run_webui(ref: str, adapter: str | None, defaults: GenerationConfig, compare: str | None = None,
              compare_adapter: str | None = None, host: str = "127.0.0.1", port: int = 7860, dtype: str = "auto",
              device: str | None = None, quantization: str | None = None) -> int:
    engines: dict[str, Any] = {}
    first = ref + (f" + {adapter}" if adapter else "")
    print(f"loading {first} ...", file=sys.stderr, flush=True)
    engines[first] = start_engine(ref, adapter, dtype=dtype, device=device, quantization=quantization)
    if compare or compare_adapter:
        second_ref = compare or ref
        second = second_ref + (f" + {compare_adapter}" if compare_adapter else "")
        print(f"loading {second} ...", file=sys.stderr, flush=True)
        engines[second if second != first else second + " (2)"] = start_engine(
            second_ref, compare_adapter, dtype=dtype, device=device, quantization=quantization)
    demo = build_app(engines, defaults)
    try:
        demo.queue(default_concurrency_limit=16).launch(server_name=host, server_port=port, share=False,
                                                        inbrowser=False)
    finally:
        for engine in engines.values():
            engine.shutdown()
    return 0
