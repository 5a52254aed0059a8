"""What every request to `langadapt serve` passes before it reaches a route: limits, Host and
Content-Type checks, JSON parsing that cannot crash, and the request metrics.

    langadapt serve MODEL --max-body-bytes 4194304 --max-choices 64 --max-queue 256 --max-stop-chars 2048

Why: the server is shared by all its clients, so each of them must only ever get an OpenAI-style
JSON error for its own bad input. The checks are a plain ASGI middleware (not Starlette's
BaseHTTPMiddleware, which wraps `receive` and hides client disconnects). The Host check stops DNS
rebinding (a web page whose name resolves to 127.0.0.1), and requiring `application/json` stops a
page's cross-site `text/plain` POST, which browsers send without asking the server first.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


class ApiError(Exception):
    """An OpenAI-style error: `{"error": {"message", "type", "param", "code"}}` with an HTTP status."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param, self.code = status, message, kind, param, code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


@dataclass(frozen=True)
class Limits:
    """Per-request and per-server limits; each is a `langadapt serve` flag."""

    max_body_bytes: int = 4 * 1024 * 1024
    """Largest request body (413 above): lm-eval batches of token-id prompts fit easily."""
    max_choices: int = 64
    """Most answers one request may ask for, prompts x n (413 above)."""
    max_queue: int = 256
    """Most requests waiting for a place in the running batch (429 above)."""
    max_stop_chars: int = 2048
    """Most characters over all stop strings of one request (413 above): they are searched every token."""


def allowed_hosts(bind: str) -> frozenset[str] | None:
    """Host header names accepted when bound to `bind`; None (any) unless bound to loopback only."""
    return LOOPBACK_NAMES | {bind.lower()} if bind.lower() in LOOPBACK_NAMES else None


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _header(scope: dict, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def is_json(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";")[0].strip().lower() == "application/json"


class Guard:
    """ASGI middleware: Host check, Content-Type and Content-Length of POSTs, request metrics."""

    def __init__(self, app, limits: Limits, hosts: frozenset[str] | None, metrics=None,
                 routes: frozenset[str] = frozenset()) -> None:
        self.app, self.limits, self.hosts, self.metrics, self.routes = app, limits, hosts, metrics, routes

    def _refuse(self, scope: dict) -> ApiError | None:
        host = _header(scope, b"host")
        if self.hosts is not None and host is not None and _host_name(host) not in self.hosts:
            return ApiError(400, f"Host {host!r} is not served here: this server answers only to "
                                 f"{', '.join(sorted(self.hosts))} (a guard against DNS rebinding).",
                            code="invalid_host")
        if scope.get("method") != "POST":
            return None
        if not is_json(_header(scope, b"content-type")):
            return ApiError(415, "Requests must be sent as `Content-Type: application/json`.",
                            code="unsupported_media_type")
        length = _header(scope, b"content-length")
        if length is not None:
            if not length.strip().isdigit():
                return ApiError(400, "Content-Length must be a non-negative integer.")
            if int(length) > self.limits.max_body_bytes:
                return too_large(int(length), self.limits.max_body_bytes)
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), [500]

        async def watch(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body") and self.metrics:
                path = scope.get("path", "")
                self.metrics.observe(path if path in self.routes else "other", status[0], time.perf_counter() - start)

        refused = self._refuse(scope)
        if refused is None:
            await self.app(scope, receive, watch)
            return
        body = json.dumps(refused.body()).encode()
        await watch({"type": "http.response.start", "status": refused.status,
                     "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await watch({"type": "http.response.body", "body": body})


def too_large(size: int, limit: int) -> ApiError:
    return ApiError(413, f"Request body of {size} bytes is over this server's limit of {limit} bytes "
                         "(`langadapt serve --max-body-bytes`).", code="request_too_large")


async def read_json(request, limit: int) -> Any:
    """The body as JSON, or an ApiError: never an exception the parser chose (RecursionError, ...)."""
    chunks, size = [], 0
    async for chunk in request.stream():  # a chunked body has no Content-Length to check up front
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        body = json.loads(raw)
    except RecursionError:
        raise ApiError(400, "Request body is not valid JSON: nested too deeply.") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError, and ints over the digit limit
        raise ApiError(400, f"Request body is not valid JSON: {exc}") from None
    try:
        # A lone surrogate ("\ud800") parses but cannot be tokenized or written back as UTF-8.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "Request body holds a lone UTF-16 surrogate (e.g. \"\\ud800\"), which is not text.") from None
    except RecursionError:
        raise ApiError(400, "Request body is not valid JSON: nested too deeply.") from None
    return body
