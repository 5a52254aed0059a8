"""The OpenAI-compatible HTTP API: `langadapt serve MODEL` runs `create_app` under uvicorn.

    from openai import OpenAI
    client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="unused")
    client.chat.completions.create(model="smollm2-135m-instruct", messages=[{"role": "user", "content": "Hi"}])

Endpoints: /health, /v1/models, /v1/chat/completions, /v1/completions (streaming with SSE, n,
stop, max_tokens, logprobs, echo, usage). Bad input gets an OpenAI-style error body with a 4xx
status; a client that disconnects cancels its generation.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError

from langadapt.config.generation import GenerationConfig
from langadapt.serve import formats
from langadapt.serve.engine import Engine, Output, TokenLogprob
from langadapt.serve.protocol import ChatRequest, CompletionRequest, Sampling


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = status, message, kind, param, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


@dataclass
class Choice:
    """One finished (or streamed) answer."""

    text: str = ""
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish_reason: str | None = None
    generated: int = 0


@dataclass
class Job:
    """One prompt of a request: its ids, settings and how many answers."""

    prompt_ids: list[int]
    config: GenerationConfig
    n: int
    logprobs: int | None
    echo: bool = False


def create_app(engine: Engine, model_names: list[str], defaults: GenerationConfig | None = None,
               api_key: str | None = None) -> FastAPI:
    defaults = defaults or GenerationConfig()
    tokenizer = engine.tokenizer
    app = FastAPI(title="langadapt", docs_url=None, redoc_url=None)
    app.state.engine = engine
    created = int(time.time())

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p != "body"]
        if first.get("type") == "json_invalid":
            message = "Request body is not valid JSON: " + str(first.get("ctx", {}).get("error", first.get("msg", "")))
        else:
            message = f"{'.'.join(loc) or 'body'}: {first.get('msg', 'invalid value')}"
        return JSONResponse(ApiError(400, message, param=".".join(loc) or None).body(), status_code=400)

    def check_key(request: Request) -> None:
        # A dependency, not an HTTP middleware: middlewares wrap `receive`, which hides client disconnects.
        if api_key:
            given = request.headers.get("authorization", "")
            if not secrets.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
                raise ApiError(401, "Invalid or missing API key: send `Authorization: Bearer <key>`.",
                               kind="authentication_error", code="invalid_api_key")

    guarded = [Depends(check_key)]

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "active_requests": engine.num_active}

    @app.get("/v1/models", dependencies=guarded)
    async def models() -> dict:
        return {"object": "list", "data": [
            {"id": name, "object": "model", "created": created, "owned_by": "langadapt",
             "max_model_len": engine.context_length} for name in model_names]}

    def check_model(req: Sampling) -> None:
        if req.model not in model_names:
            raise ApiError(404, f"The model `{req.model}` does not exist. This server serves: {', '.join(model_names)}.",
                           param="model", code="model_not_found")

    def gen_config(req: Sampling, max_tokens: int, index: int) -> GenerationConfig:
        values = defaults.model_dump()
        values["max_new_tokens"] = max(max_tokens, 1)
        for name in ("temperature", "top_p", "typical_p", "repetition_penalty", "no_repeat_ngram_size",
                     "begin_suppress_tokens"):
            if getattr(req, name) is not None:
                values[name] = getattr(req, name)
        if req.top_k is not None:
            values["top_k"] = max(req.top_k, 0)  # OpenAI-style -1 means "no top-k"
        try:
            values["stop"] = req.stop_list()
        except ValueError as exc:
            raise ApiError(400, str(exc), param="stop") from None
        if req.seed is not None:
            values["seed"] = req.seed + index  # n answers from one seed should still differ
        try:
            return GenerationConfig(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise ApiError(400, f"{err['loc'][0]}: {err['msg']}", param=str(err["loc"][0])) from None

    def max_new(requested: int | None, prompt_len: int, allow_zero: bool) -> int:
        ctx = engine.context_length
        if requested is None:
            if prompt_len >= ctx:
                raise ApiError(400, f"This model's maximum context length is {ctx} tokens. However, your prompt has "
                               f"{prompt_len} tokens. Please reduce the length of the prompt.", param="messages",
                               code="context_length_exceeded")
            return min(defaults.max_new_tokens, ctx - prompt_len)
        if requested < 1 and not (allow_zero and requested == 0):
            raise ApiError(400, f"max_tokens must be at least 1, got {requested}"
                           + (" (0 is allowed only with echo=true, to score the prompt)." if requested == 0 else "."),
                           param="max_tokens")
        if prompt_len + requested > ctx:
            raise ApiError(400, f"This model's maximum context length is {ctx} tokens. However, you requested "
                           f"{prompt_len + requested} tokens ({prompt_len} in the prompt, {requested} in the "
                           "completion). Please reduce the length of the prompt or completion.",
                           param="max_tokens", code="context_length_exceeded")
        return requested

    def chat_jobs(req: ChatRequest) -> list[Job]:
        check_model(req)
        if not getattr(tokenizer, "chat_template", None):
            raise ApiError(400, "This model has no chat template; use /v1/completions with a plain prompt.",
                           param="messages")
        try:
            messages = [{"role": m.role if m.role != "developer" else "system", "content": m.text()}
                        for m in req.messages]
            text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        except ValueError as exc:
            raise ApiError(400, str(exc), param="messages") from None
        except Exception as exc:  # the template itself rejects the conversation (e.g. role order)
            raise ApiError(400, f"messages: the chat template rejected them: {exc}", param="messages") from None
        ids = tokenizer(text, add_special_tokens=False).input_ids
        limit = max_new(req.max_completion_tokens or req.max_tokens, len(ids), allow_zero=False)
        want = (req.top_logprobs or 0) if req.logprobs else None
        return [Job(ids, gen_config(req, limit, 0), req.n, want)]

    def completion_jobs(req: CompletionRequest) -> list[Job]:
        check_model(req)
        if req.suffix:
            raise ApiError(400, "suffix is not supported.", param="suffix")
        prompts = formats.split_prompts(req.prompt)
        if not prompts:
            raise ApiError(400, "prompt must not be empty.", param="prompt")
        jobs = []
        for prompt in prompts:
            if isinstance(prompt, str):
                ids = tokenizer(prompt).input_ids
            else:
                if any(t < 0 or t >= len(tokenizer) for t in prompt):
                    raise ApiError(400, f"prompt: token ids must be in [0, {len(tokenizer)}).", param="prompt")
                ids = list(prompt)
            if not ids:
                start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
                if start is None:
                    raise ApiError(400, "prompt must not be empty.", param="prompt")
                ids = [start]
            limit = max_new(req.max_tokens, len(ids), allow_zero=req.echo)
            jobs.append(Job(ids, gen_config(req, limit, 0), req.n, req.logprobs, req.echo))
            if limit == 0:
                jobs[-1].config = jobs[-1].config.model_copy(update={"max_new_tokens": 0})
        return jobs

    async def run_job(job: Job, index: int) -> AsyncIterator[Output]:
        config = job.config
        if index and config.seed is not None:
            config = config.model_copy(update={"seed": config.seed + index})
        if config.max_new_tokens == 0:
            yield Output(finish_reason="length", prompt_tokens=len(job.prompt_ids))
            return
        async for out in engine.stream(job.prompt_ids, config, job.logprobs):
            if out.error:
                raise ApiError(500, f"generation failed: {out.error}", kind="server_error")
            yield out

    async def echo_prefix(job: Job) -> Choice:
        text = tokenizer.decode(job.prompt_ids, skip_special_tokens=False)
        if job.logprobs is None:
            return Choice(text=text)
        scored = await asyncio.wrap_future(engine.score(job.prompt_ids, job.logprobs))
        return Choice(text=text, token_ids=list(job.prompt_ids), logprobs=[None] + scored)

    async def collect(job: Job, index: int) -> Choice:
        choice = await echo_prefix(job) if job.echo else Choice()
        async for out in run_job(job, index):
            choice.text += out.text
            choice.token_ids += out.token_ids
            choice.logprobs += out.logprobs
            choice.generated += len(out.token_ids)
            choice.finish_reason = out.finish_reason or choice.finish_reason
        return choice

    async def gather_or_cancel(request: Request, jobs: list[Job]) -> list[Choice]:
        task = asyncio.ensure_future(asyncio.gather(*(collect(job, j) for job in jobs for j in range(job.n))))
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.25)
            if done:
                return task.result()
            if await request.is_disconnected():
                task.cancel()  # reaches each engine.stream, whose `finally` cancels its request
                raise asyncio.CancelledError

    def usage(jobs: list[Job], choices: list[Choice]) -> dict:
        prompt = sum(len(j.prompt_ids) for j in jobs)
        completion = sum(c.generated for c in choices)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    async def parse(request: Request, model: type[Sampling]) -> Sampling:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"Request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object.")
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None

    @app.post("/v1/chat/completions", dependencies=guarded)
    async def chat(request: Request) -> Response:
        req = await parse(request, ChatRequest)
        jobs = chat_jobs(req)
        rid, model = f"chatcmpl-{uuid.uuid4().hex}", req.model
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            return _sse(formats.chat_stream(rid, model, jobs, run_job, tokenizer, include_usage))
        try:
            choices = await gather_or_cancel(request, jobs)
        except asyncio.CancelledError:
            return Response(status_code=499)
        return JSONResponse(formats.chat_response(rid, model, choices, tokenizer, usage(jobs, choices)))

    @app.post("/v1/completions", dependencies=guarded)
    async def completions(request: Request) -> Response:
        req = await parse(request, CompletionRequest)
        jobs = completion_jobs(req)
        rid, model = f"cmpl-{uuid.uuid4().hex}", req.model
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            return _sse(formats.completion_stream(rid, model, jobs, run_job, echo_prefix, tokenizer, include_usage))
        try:
            choices = await gather_or_cancel(request, jobs)
        except asyncio.CancelledError:
            return Response(status_code=499)
        return JSONResponse(formats.completion_response(rid, model, choices, tokenizer, usage(jobs, choices)))

    return app


def _sse(events: AsyncIterator[dict]) -> StreamingResponse:
    async def body() -> AsyncIterator[str]:
        try:
            async for event in events:
                yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n"
        except ApiError as exc:
            yield f"data: {json.dumps(exc.body())}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

