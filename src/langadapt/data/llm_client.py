"""Many chat requests to one OpenAI-compatible endpoint, bounded, retried and cached on disk.

    client = LLMClient("http://127.0.0.1:8000/v1", "my-model", cache_path="out/cache.jsonl", concurrency=4)
    replies = client.complete_many([[{"role": "user", "content": "Hi"}], ...])   # str or RequestFailed each

Every answer is appended to the cache file (one JSON line, flushed and fsynced) the moment it arrives,
keyed by a hash of (model, messages, sampling settings), so a run killed at any point and started
again re-sends only what never came back. 429, 5xx, timeouts and dropped connections are retried
with exponential backoff (a `Retry-After` header wins); other errors fail that one request.

A 200 reply is checked before it is used or cached: `choices` must be a non-empty list whose first
message has text content (a string, or a list of text parts); anything else (`choices: null`, a
missing message, an error object, a lone surrogate) is a bad reply, retried like a 5xx and never
written to the cache, so a broken answer cannot come back from disk on the next run.

The API key goes to the endpoint it was given for and nowhere else: redirects are not followed, a
key is refused over plain http unless the host is this machine (loopback), and `resolve_api_key`
reads OPENAI_API_KEY only for an https URL at api.openai.com (see there).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any, Mapping, Sequence
from urllib.parse import urlsplit

from langadapt.errors import UserError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
KEY_ENV = "LANGADAPT_DATA_API_KEY"
OPENAI_HOST = "api.openai.com"


class BadReply(ValueError):
    """A 200 reply that is not a usable chat completion; retried, never cached."""


def reply_text(body: Any) -> str:
    """The assistant text of a chat-completion body, or BadReply saying what is wrong with it."""
    if not isinstance(body, dict):
        raise BadReply(f"body is {type(body).__name__}, not an object")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        what = "null" if choices is None else "empty" if choices == [] else type(choices).__name__
        error = body.get("error")
        raise BadReply(f"`choices` is {what}, not a non-empty list" + (f" (error: {str(error)[:120]})" if error else ""))
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    if not isinstance(message, dict):
        raise BadReply("`choices[0].message` missing or not an object")
    content = message.get("content")
    if isinstance(content, list):  # content parts, as some servers send: only text parts make a reply
        if not all(isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in content):
            raise BadReply("`content` list holds parts that are not text")
        content = "".join(p["text"] for p in content)
    if not isinstance(content, str):
        raise BadReply(f"`content` is {type(content).__name__}, not text")
    try:
        content.encode("utf-8")
    except UnicodeEncodeError:
        raise BadReply("`content` is not valid Unicode (a lone surrogate)") from None
    return content


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(base_url: str, has_key: bool, url_setting: str = "--base-url",
                   key_setting: str = "--api-key or LANGADAPT_DATA_API_KEY") -> None:
    """Refuse a URL that is not http(s), or an API key over plain http to another machine. The settings'
    names are the ones the caller's user typed (a flag, or a recipe key for the judge), so the message points
    at what to change."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserError(f"{url_setting} {base_url!r}: expected http(s)://HOST[:PORT]/PATH, e.g. http://127.0.0.1:8000/v1")
    if parts.username or parts.password:
        raise UserError(f"{url_setting} must not hold credentials; pass the key with {key_setting}")
    if has_key and parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UserError(f"refusing to send an API key over plain http to {parts.hostname} ({url_setting}): anyone on "
                        "the way could read it. Use https, a server on this machine (127.0.0.1), or no key")


def resolve_api_key(base_url: str, api_key: str | None = None, api_key_env: str | None = None,
                    environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(key, where it came from) for `base_url`, first found of: `api_key`; the variable named by `api_key_env`;
    LANGADAPT_DATA_API_KEY; OPENAI_API_KEY, but only when the endpoint is https://api.openai.com, because that
    variable is usually set for OpenAI and must not leak to whichever server --base-url names."""
    env = os.environ if environ is None else environ
    if api_key:
        return api_key, "--api-key"
    if api_key_env:
        if env.get(api_key_env):
            return env[api_key_env], api_key_env
        return None, f"{api_key_env} (unset)"
    if env.get(KEY_ENV):
        return env[KEY_ENV], KEY_ENV
    parts = urlsplit(base_url)
    if env.get("OPENAI_API_KEY"):
        if parts.scheme == "https" and (parts.hostname or "").lower() == OPENAI_HOST:
            return env["OPENAI_API_KEY"], "OPENAI_API_KEY"
        return None, f"none (OPENAI_API_KEY is set but is only sent to https://{OPENAI_HOST})"
    return None, "none"


@dataclass
class RequestFailed:
    """Stands in for a reply that never came: the record it belongs to goes to the rejects ledger."""
    error: str


@dataclass
class ClientStats:
    requests: int = 0
    """HTTP requests sent, retries included."""
    unique_prompts: int = 0
    cache_hits: int = 0
    """Distinct prompts answered from the cache (a prompt repeated in the input counts once)."""
    retries: int = 0
    bad_replies: int = 0
    """200 replies that were not a usable completion (retried, never cached)."""
    failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def load_prompt_template(path: str | Path) -> tuple[Template, Template]:
    """A template file with an optional `[system]` part and a `[user]` part, `$name` placeholders."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"prompt template {path}: no such file")
    text = path.read_text(encoding="utf-8")
    if "[user]" not in text:
        raise UserError(f"prompt template {path}: needs a [user] section (and optionally [system] before it)")
    system, _, user = text.partition("[user]")
    return Template(system.replace("[system]", "", 1).strip()), Template(user.strip())


def render_messages(template: tuple[Template, Template], values: dict[str, str]) -> list[dict[str, str]]:
    system, user = template
    msgs = [{"role": "system", "content": system.safe_substitute(values)}] if system.template else []
    return msgs + [{"role": "user", "content": user.safe_substitute(values)}]


class ResponseCache:
    """Append-only JSONL of {key, model, reply}; the last line of a killed run may be cut short and is dropped."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self.entries: dict[str, str] = {}
        self._fh = None
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            data = self.path.read_bytes()
            end = data.rfind(b"\n") + 1
            if end < len(data):  # a line cut by a kill: drop it so the next append starts on a fresh line
                with self.path.open("r+b") as fh:
                    fh.truncate(end)
                data = data[:end]
            for line in data.decode("utf-8", errors="replace").splitlines():
                try:
                    row = json.loads(line) if line.strip() else None
                except ValueError:
                    continue  # a damaged line is only a reply to ask for again
                if isinstance(row, dict) and isinstance(row.get("key"), str) and isinstance(row.get("reply"), str):
                    self.entries[row["key"]] = row["reply"]
        self._fh = self.path.open("a", encoding="utf-8")

    @staticmethod
    def key(model: str, messages: Sequence[dict], params: dict[str, Any]) -> str:
        blob = json.dumps([model, list(messages), params], ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def put(self, key: str, model: str, reply: str) -> None:
        self.entries[key] = reply
        if self._fh is not None:
            self._fh.write(json.dumps({"key": key, "model": model, "reply": reply}, ensure_ascii=False) + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class LLMClient:
    def __init__(self, base_url: str, model: str, api_key: str | None = None, cache_path: str | Path | None = None,
                 concurrency: int = 4, max_retries: int = 6, backoff: float = 0.5, max_backoff: float = 30.0,
                 timeout: float = 120.0, temperature: float = 0.0, max_tokens: int = 1024,
                 extra_body: dict[str, Any] | None = None) -> None:
        if not base_url or not model:
            raise UserError("an OpenAI-compatible endpoint needs both --base-url and --model")
        if concurrency < 1:
            raise UserError(f"--concurrency must be at least 1, got {concurrency}")
        check_endpoint(base_url, bool(api_key))
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.base_url, self.model = base_url, model
        self.api_key = api_key
        self.concurrency, self.max_retries = concurrency, max_retries
        self.backoff, self.max_backoff, self.timeout = backoff, max_backoff, timeout
        self.params = {"temperature": temperature, "max_tokens": max_tokens, **(extra_body or {})}
        self.cache = ResponseCache(cache_path)
        self.stats = ClientStats()

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.max_backoff)
            except ValueError:
                pass  # an HTTP date: fall back to our own schedule
        # Full jitter keeps many workers from retrying in lockstep after a shared 429.
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** attempt))

    async def _one(self, http, sem: asyncio.Semaphore, messages: list[dict], key: str) -> str | RequestFailed:
        import httpx

        body = {"model": self.model, "messages": messages, **self.params}
        async with sem:
            for attempt in range(self.max_retries + 1):
                self.stats.requests += 1
                retry_after = None
                try:
                    reply = await http.post(self.url, json=body)
                    if reply.status_code == 200:
                        try:
                            body_in = reply.json()
                        except (ValueError, RecursionError):
                            raise BadReply("body is not JSON") from None
                        text = reply_text(body_in)
                        self.cache.put(key, self.model, text)
                        return text
                    error = f"HTTP {reply.status_code}"
                    if reply.status_code not in RETRY_STATUS:
                        return self._fail(f"{error}: {reply.text[:200]}")
                    retry_after = reply.headers.get("retry-after")
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    error = type(exc).__name__
                except BadReply as exc:
                    error = f"bad reply: {exc}"
                    self.stats.bad_replies += 1
                except Exception as exc:  # one request's surprise must not end the run; its record is rejected
                    return self._fail(f"request error: {type(exc).__name__}: {str(exc)[:200]}")
                if attempt == self.max_retries:
                    return self._fail(f"{error} after {attempt + 1} attempts")
                self.stats.retries += 1
                await asyncio.sleep(self._delay(attempt, retry_after))
        return self._fail("unreachable")

    def _fail(self, error: str) -> RequestFailed:
        self.stats.failures += 1
        kind = error.split(":")[0].split(" after ")[0] if not error.startswith("bad reply") else "bad reply"
        self.stats.errors[kind] = self.stats.errors.get(kind, 0) + 1
        return RequestFailed(error)

    async def _run(self, prompts: list[list[dict]], progress: bool) -> list[str | RequestFailed]:
        import httpx

        keys = [ResponseCache.key(self.model, p, self.params) for p in prompts]
        results: dict[str, str | RequestFailed] = {}
        todo: dict[str, list[dict]] = {}
        for key, prompt in zip(keys, prompts):
            if key in results or key in todo:
                continue  # the same prompt twice in one run is sent once
            if key in self.cache.entries:
                results[key] = self.cache.entries[key]
                self.stats.cache_hits += 1
            else:
                todo[key] = prompt
        self.stats.unique_prompts = len(results) + len(todo)
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        sem = asyncio.Semaphore(self.concurrency)
        bar = None
        if progress and todo:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc=f"requests to {self.model}", unit="req")
        # No redirects: the key must reach only self.url. No proxy settings from the environment for a loopback
        # server, where a proxy would be a second party between us and our own machine.
        local = is_loopback(urlsplit(self.url).hostname or "")
        async with httpx.AsyncClient(headers=headers, timeout=self.timeout, limits=limits, follow_redirects=False,
                                     trust_env=not local) as http:
            async def task(key: str, prompt: list[dict]) -> None:
                results[key] = await self._one(http, sem, prompt, key)
                if bar is not None:
                    bar.update(1)

            await asyncio.gather(*(task(k, p) for k, p in todo.items()))
        if bar is not None:
            bar.close()
        return [results[k] for k in keys]

    def complete_many(self, prompts: list[list[dict]], progress: bool = True) -> list[str | RequestFailed]:
        """Replies in the order of `prompts`: cached ones at once, the rest through the endpoint."""
        return asyncio.run(self._run(prompts, progress))

    def close(self) -> None:
        self.cache.close()
