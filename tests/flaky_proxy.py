"""An OpenAI-compatible proxy on 127.0.0.1 that fails some requests on purpose and counts every one.

    proxy = FlakyProxy(upstream="http://127.0.0.1:PORT/v1", fail_every=3, throttle_every=4, delay=0.0)
    with proxy.running() as url: ...      # url ends in /v1; proxy.log lists every request and its status

Every `fail_every`-th request gets a 500, every `throttle_every`-th a 429 with `Retry-After: 0`; the
rest go to the upstream server (our own `langadapt serve` app) or, with `answer=callable`, are
answered by that function (messages -> text).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Callable

import httpx
from _loopback import serve_app
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class FlakyProxy:
    def __init__(self, upstream: str | None = None, fail_every: int = 0, throttle_every: int = 0,
                 delay: float = 0.0, answer: Callable[[list[dict]], str] | None = None) -> None:
        self.upstream, self.answer = upstream, answer
        self.fail_every, self.throttle_every, self.delay = fail_every, throttle_every, delay
        self.log: list[dict] = []
        self._lock = threading.Lock()
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._chat)

    async def _chat(self, request: Request):
        body = await request.json()
        with self._lock:
            n = len(self.log) + 1
            entry = {"n": n, "body": body, "status": None}
            self.log.append(entry)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail_every and n % self.fail_every == 0:
            entry["status"] = 500
            return JSONResponse({"error": {"message": "injected failure"}}, status_code=500)
        if self.throttle_every and n % self.throttle_every == 0:
            entry["status"] = 429
            return JSONResponse({"error": {"message": "slow down"}}, status_code=429, headers={"Retry-After": "0"})
        if self.answer is not None:
            text = self.answer(body["messages"])
            entry["status"] = 200
            return {"id": f"p{n}", "object": "chat.completion", "created": 0, "model": body["model"],
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]}
        async with httpx.AsyncClient(timeout=120) as http:
            reply = await http.post(self.upstream.rstrip("/") + "/chat/completions", json=body)
        entry["status"] = reply.status_code
        return JSONResponse(reply.json(), status_code=reply.status_code)

    def served(self, status: int = 200) -> list[dict]:
        return [e["body"] for e in self.log if e["status"] == status]

    def running(self):
        """Serve the proxy on a free loopback port; yields its `/v1` base URL."""
        return serve_app(self.app)
