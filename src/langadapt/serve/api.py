"""The OpenAI-compatible HTTP API: `langadapt serve MODEL` runs `create_app` under uvicorn.

    from openai import OpenAI
    client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="unused")
    client.chat.completions.create(model="smollm2-135m-instruct", messages=[{"role": "user", "content": "Hi"}])

Endpoints: /health, /v1/models, /v1/chat/completions, /v1/completions (streaming with SSE, n,
stop, max_tokens, logprobs, echo, usage), vLLM's /tokenize, /detokenize and /tokenizer_info
(`langadapt.serve.tokens`), Prometheus /metrics.
Every failure is an OpenAI-style JSON error with its status (400, 401, 404, 405, 413, 415, 429,
503); a stream that fails ends with an error event and `[DONE]`. A client that disconnects
cancels its generation. Tokenising runs on its own thread so a long prompt never stalls the
event loop that streams everyone else's tokens.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from langadapt.config.generation import GenerationConfig
from langadapt.serve import formats
from langadapt.serve.engine import Engine, EngineUnavailable, Output, TokenLogprob
from langadapt.serve.generation import ServeGeneration
from langadapt.serve.guard import ApiError, Guard, Limits, allowed_hosts, read_json
from langadapt.serve.metrics import ServeMetrics
from langadapt.serve.protocol import ChatRequest, CompletionRequest, Sampling
from langadapt.serve.tokens import token_routes

__all__ = ["ApiError", "Limits", "create_app"]


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
               api_key: str | None = None, limits: Limits | None = None, host: str = "127.0.0.1") -> FastAPI:
    """The app; `host` is the address it is bound to (loopback turns on the Host-header check)."""
    defaults = defaults or GenerationConfig()
    limits = limits or Limits()
    tokenizer = engine.tokenizer
    app = FastAPI(title="langadapt", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine
    created = int(time.time())
    # One thread: the tokenizer is used from one place at a time, and never from the event loop.
    prep = ThreadPoolExecutor(max_workers=1, thread_name_prefix="langadapt-tokenize")
    metrics = ServeMetrics(lambda: engine.num_waiting, lambda: engine.num_active)

    async def off_loop(fn: Callable, *args):
        return await asyncio.get_running_loop().run_in_executor(prep, fn, *args)

    def error(exc: ApiError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error(ApiError(404, f"No route {request.url.path}: this server serves /v1/chat/completions, "
                                       "/v1/completions, /v1/models, /tokenize, /detokenize, /metrics, /health.",
                                  code="not_found"))
        if exc.status_code == 405:
            return error(ApiError(405, f"{request.method} is not allowed on {request.url.path}.",
                                  code="method_not_allowed"))
        return error(ApiError(exc.status_code, str(exc.detail)))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", ()) if p != "body"]
        message = f"{'.'.join(loc) or 'body'}: {first.get('msg', 'invalid value')}"
        return error(ApiError(400, message, param=".".join(loc) or None))

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:  # last resort: still the OpenAI shape
        return error(ApiError(500, f"internal error: {type(exc).__name__}", kind="server_error"))

    def check_key(request: Request) -> None:
        # A dependency, not an HTTP middleware: middlewares wrap `receive`, which hides client disconnects.
        if api_key:
            given = request.headers.get("authorization", "")
            if not secrets.compare_digest(given.encode(), f"Bearer {api_key}".encode()):
                raise ApiError(401, "Invalid or missing API key: send `Authorization: Bearer <key>`.",
                               kind="authentication_error", code="invalid_api_key")

    guarded = [Depends(check_key)]

    @app.get("/health")
    async def health() -> Response:
        if not engine.alive:
            return error(ApiError(503, "The generation engine has stopped; restart the server.",
                                  kind="server_error", code="engine_dead"))
        return JSONResponse({"status": "ok", "active_requests": engine.num_active, "waiting": engine.num_waiting})

    @app.get("/openapi.json", dependencies=guarded, include_in_schema=False)
    async def openapi() -> dict:
        return app.openapi()

    @app.get("/metrics", dependencies=guarded, include_in_schema=False)
    async def prometheus() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    @app.get("/v1/models", dependencies=guarded)
    async def models() -> dict:
        return {"object": "list", "data": [
            {"id": name, "object": "model", "created": created, "owned_by": "langadapt",
             "max_model_len": engine.context_length} for name in model_names]}

    def check_model(name: str | None) -> None:
        if name is not None and name not in model_names:
            raise ApiError(404, f"The model `{name}` does not exist. This server serves: {', '.join(model_names)}.",
                           param="model", code="model_not_found")

    def check_ids(ids, param: str) -> list[int]:
        if any(t < 0 or t >= len(tokenizer) for t in ids):
            raise ApiError(400, f"{param}: token ids must be in [0, {len(tokenizer)}).", param=param)
        return list(ids)

    def check_request(req: Sampling) -> None:
        check_model(req.model)
        bad = req.unsupported()
        if bad:
            raise ApiError(400, f"Not supported by this server: {', '.join(bad)}. Send the request without "
                                f"{'it' if len(bad) == 1 else 'them'}.", param=bad[0], code="unsupported_parameter")
        if req.stop is not None:
            stops = [req.stop] if isinstance(req.stop, str) else req.stop
            size = sum(len(s) for s in stops)
            if size > limits.max_stop_chars:
                raise ApiError(413, f"stop: {size} characters over all stop strings, over this server's limit of "
                                    f"{limits.max_stop_chars} (`--max-stop-chars`).", param="stop")
        if req.begin_suppress_tokens:
            check_ids(req.begin_suppress_tokens, "begin_suppress_tokens")

    def gen_config(req: Sampling, max_tokens: int) -> GenerationConfig:
        values = defaults.model_dump()
        values["max_new_tokens"] = max(max_tokens, 1)
        for name in ("temperature", "top_p", "typical_p", "repetition_penalty", "no_repeat_ngram_size",
                     "begin_suppress_tokens", "presence_penalty", "frequency_penalty"):
            if getattr(req, name) is not None:
                values[name] = getattr(req, name)
        if req.top_k is not None:
            values["top_k"] = max(req.top_k, 0)  # OpenAI-style -1 means "no top-k"
        try:
            values["stop"] = req.stop_list()
        except ValueError as exc:
            raise ApiError(400, str(exc), param="stop") from None
        if req.seed is not None:
            values["seed"] = req.seed
        try:
            return ServeGeneration(**values)
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

    def chat_text(messages: list, add_generation_prompt: bool = True) -> str:
        if not getattr(tokenizer, "chat_template", None):
            raise ApiError(400, "This model has no chat template; use /v1/completions with a plain prompt.",
                           param="messages")
        try:
            rendered = [{"role": m.role if m.role != "developer" else "system", "content": m.text()} for m in messages]
            return tokenizer.apply_chat_template(rendered, add_generation_prompt=add_generation_prompt, tokenize=False)
        except ValueError as exc:
            raise ApiError(400, str(exc), param="messages") from None
        except Exception as exc:  # the template itself rejects the conversation (e.g. role order)
            raise ApiError(400, f"messages: the chat template rejected them: {exc}", param="messages") from None

    def chat_jobs(req: ChatRequest) -> list[Job]:
        ids = tokenizer(chat_text(req.messages), add_special_tokens=False).input_ids
        limit = max_new(req.max_completion_tokens or req.max_tokens, len(ids), allow_zero=False)
        want = (req.top_logprobs or 0) if req.logprobs else None
        return [Job(ids, gen_config(req, limit), req.n, want)]

    def completion_jobs(req: CompletionRequest) -> list[Job]:
        if req.suffix:
            raise ApiError(400, "suffix is not supported.", param="suffix", code="unsupported_parameter")
        prompts = formats.split_prompts(req.prompt)
        if not prompts:
            raise ApiError(400, "prompt must not be empty.", param="prompt")
        check_choices(len(prompts) * req.n)
        jobs = []
        for prompt in prompts:
            ids = tokenizer(prompt).input_ids if isinstance(prompt, str) else check_ids(prompt, "prompt")
            if not ids:
                start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
                if start is None:
                    raise ApiError(400, "prompt must not be empty.", param="prompt")
                ids = [start]
            limit = max_new(req.max_tokens, len(ids), allow_zero=req.echo)
            jobs.append(Job(ids, gen_config(req, limit), req.n, req.logprobs, req.echo))
            if limit == 0:
                jobs[-1].config = jobs[-1].config.model_copy(update={"max_new_tokens": 0})
        return jobs

    def check_choices(count: int) -> None:
        if count > limits.max_choices:
            raise ApiError(413, f"This request asks for {count} answers (prompts x n), over this server's limit of "
                                f"{limits.max_choices} (`--max-choices`); split it.", param="n")

    def admit(jobs: list[Job]) -> None:
        """Refuse work the engine cannot take now, before any of it starts."""
        if not engine.alive:
            raise ApiError(503, "The generation engine has stopped; restart the server.", kind="server_error",
                           code="engine_dead")
        count = sum(job.n for job in jobs if job.config.max_new_tokens)
        if count and engine.num_active + count > engine.max_batch_size + limits.max_queue:
            raise ApiError(429, f"The server is busy ({engine.num_active} requests in progress, a queue of "
                                f"{limits.max_queue}); retry later.", kind="rate_limit_error", code="queue_full")
        metrics.prompt_tokens.inc(sum(len(job.prompt_ids) * job.n for job in jobs))

    async def run_job(job: Job, index: int) -> AsyncIterator[Output]:
        config = job.config
        if index and config.seed is not None:  # n answers from one seed should still differ
            config = config.model_copy(update={"seed": config.seed + index})
        if config.max_new_tokens == 0:
            yield Output(finish_reason="length", prompt_tokens=len(job.prompt_ids))
            return
        try:
            async for out in engine.stream(job.prompt_ids, config, job.logprobs):
                metrics.generated_tokens.inc(len(out.token_ids))
                yield out
                if out.error:
                    raise ApiError(500, f"generation failed: {out.error}", kind="server_error", code="generation_error")
        except EngineUnavailable as exc:
            raise ApiError(503, f"The generation engine is not available: {exc}", kind="server_error",
                           code="engine_dead") from None

    async def echo_prefix(job: Job) -> Choice:
        text = await off_loop(lambda: tokenizer.decode(job.prompt_ids, skip_special_tokens=False))
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
        tasks = [asyncio.ensure_future(collect(job, j)) for job in jobs for j in range(job.n)]
        try:
            while True:
                done, pending = await asyncio.wait(tasks, timeout=0.25, return_when=asyncio.FIRST_EXCEPTION)
                if any(t.exception() for t in done):
                    raise next(t.exception() for t in done if t.exception())
                if not pending:
                    return [t.result() for t in tasks]
                if await request.is_disconnected():
                    raise asyncio.CancelledError
        finally:
            for task in tasks:  # reaches each engine.stream, whose `finally` cancels its request
                task.cancel()

    def usage(jobs: list[Job], choices: list[Choice]) -> dict:
        prompt = sum(len(j.prompt_ids) for j in jobs)
        completion = sum(c.generated for c in choices)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    async def parse(request: Request, model: type):
        body = await read_json(request, limits.max_body_bytes)
        if not isinstance(body, dict):
            raise ApiError(400, "Request body must be a JSON object.")
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from None
        except RecursionError:
            raise ApiError(400, "Request body is nested too deeply.") from None

    async def generate(request: Request, req: Sampling, jobs: list[Job], rid: str, stream: Callable,
                       respond: Callable) -> Response:
        admit(jobs)
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            return _sse(stream(include_usage))
        try:
            choices = await gather_or_cancel(request, jobs)
        except asyncio.CancelledError:
            return Response(status_code=499)
        return JSONResponse(respond(choices, usage(jobs, choices)))

    @app.post("/v1/chat/completions", dependencies=guarded)
    async def chat(request: Request) -> Response:
        req = await parse(request, ChatRequest)
        check_request(req)
        check_choices(req.n)
        jobs = await off_loop(chat_jobs, req)
        rid, model = f"chatcmpl-{uuid.uuid4().hex}", req.model
        return await generate(
            request, req, jobs, rid,
            lambda usage_on: formats.chat_stream(rid, model, jobs, run_job, tokenizer, usage_on),
            lambda choices, used: formats.chat_response(rid, model, choices, tokenizer, used))

    @app.post("/v1/completions", dependencies=guarded)
    async def completions(request: Request) -> Response:
        req = await parse(request, CompletionRequest)
        check_request(req)
        jobs = await off_loop(completion_jobs, req)
        rid, model = f"cmpl-{uuid.uuid4().hex}", req.model
        return await generate(
            request, req, jobs, rid,
            lambda usage_on: formats.completion_stream(rid, model, jobs, run_job, echo_prefix, tokenizer, usage_on),
            lambda choices, used: formats.completion_response(rid, model, choices, tokenizer, used))

    token_routes(app, tokenizer, engine.context_length, parse=parse, check_model=check_model, check_ids=check_ids,
                 chat_text=chat_text, off_loop=off_loop, guarded=guarded)
    routes = frozenset(getattr(r, "path", "") for r in app.routes)
    app.add_middleware(Guard, limits=limits, hosts=allowed_hosts(host), metrics=metrics, routes=routes)
    app.state.metrics = metrics
    return app


def _sse(events: AsyncIterator[dict]) -> StreamingResponse:
    async def body() -> AsyncIterator[str]:
        try:
            async for event in events:
                yield f"data: {json.dumps(event, ensure_ascii=False)}\n\n"
        except ApiError as exc:
            yield f"data: {json.dumps(exc.body())}\n\n"
        except Exception as exc:  # the status line is sent: an error event is the only way left to say so
            yield f"data: {json.dumps(ApiError(500, f'internal error: {type(exc).__name__}', kind='server_error').body())}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(body(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
