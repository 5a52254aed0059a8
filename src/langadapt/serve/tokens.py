"""vLLM's tokenizer routes on `langadapt serve`: POST /tokenize, POST /detokenize, GET /tokenizer_info.

    curl -s 127.0.0.1:8000/tokenize -H 'Content-Type: application/json' -d '{"model": "m", "prompt": "你好"}'

lm-evaluation-harness (`local-completions` with `tokenizer_backend=remote`) and other vLLM clients
count and split text through these instead of loading a tokenizer themselves, which matters most
with an extended vocabulary: the server's tokenizer is the only one that is surely right. The
shapes follow vLLM: {"model", "prompt"} or {"model", "messages"} -> {"count", "max_model_len",
"tokens", "token_strs"}, and {"model", "tokens"} -> {"prompt"}.
"""

from __future__ import annotations

from typing import Callable

from fastapi import FastAPI, Request

from langadapt.serve.guard import ApiError
from langadapt.serve.protocol import DetokenizeRequest, TokenizeRequest


def token_routes(app: FastAPI, tokenizer, context_length: int, *, parse: Callable, check_model: Callable,
                 check_ids: Callable, chat_text: Callable, off_loop: Callable, guarded: list) -> None:
    """Add the three routes to `app`, sharing its parsing, checks, chat rendering and tokenizer thread."""

    @app.post("/tokenize", dependencies=guarded)
    async def tokenize(request: Request) -> dict:
        req = await parse(request, TokenizeRequest)
        check_model(req.model)
        if (req.prompt is None) == (req.messages is None):
            raise ApiError(400, "Send exactly one of `prompt` or `messages`.", param="prompt")

        def run() -> dict:
            if req.messages is not None:  # the rendered template already holds its special tokens
                text, special = chat_text(req.messages, req.add_generation_prompt), False
            else:
                text, special = req.prompt, True
            add = special if req.add_special_tokens is None else req.add_special_tokens
            ids = tokenizer(text, add_special_tokens=add).input_ids
            strs = tokenizer.convert_ids_to_tokens(ids) if req.return_token_strs else None
            return {"count": len(ids), "max_model_len": context_length, "tokens": ids, "token_strs": strs}

        return await off_loop(run)

    @app.post("/detokenize", dependencies=guarded)
    async def detokenize(request: Request) -> dict:
        req = await parse(request, DetokenizeRequest)
        check_model(req.model)
        ids = check_ids(req.tokens, "tokens")
        text = await off_loop(lambda: tokenizer.decode(ids, skip_special_tokens=False,
                                                       clean_up_tokenization_spaces=False))
        return {"prompt": text}

    @app.get("/tokenizer_info", dependencies=guarded)
    async def tokenizer_info() -> dict:
        return {
            "tokenizer_class": type(tokenizer).__name__,
            "eos_token": tokenizer.eos_token, "bos_token": tokenizer.bos_token, "pad_token": tokenizer.pad_token,
            "unk_token": tokenizer.unk_token, "vocab_size": len(tokenizer), "model_max_length": context_length,
            "chat_template": getattr(tokenizer, "chat_template", None),
        }
