"""One model, many concurrent requests: a background thread that batches them step by step.

    engine = Engine(model, tokenizer).start()
    for out in engine.stream_sync(ids, GenerationConfig(max_new_tokens=32)): print(out.text, end="")

Continuous batching with a KV cache: every step feeds the newest token of every running request
in one forward pass. Requests that arrive meanwhile are prefilled (left-padded) and their cache
rows are joined to the running batch; finished or cancelled requests leave at once and the
leading all-padding columns are trimmed. Models whose cache is not a plain per-token cache
(sliding windows, linear attention) fall back to wave batching: new requests wait for the batch
to drain. `Engine.score` returns prompt-token log-probabilities (for echo + logprobs scoring).

One request never fails another: a row whose sampling goes bad (NaN, an exception in its
processors or its detokenisation) ends that request alone with finish_reason "error"; a failed
prefill ends only the requests it was admitting. Only a failed decoding step, shared by the whole
batch, ends every running request.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import logging
import queue
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable, Iterator, Sequence

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from langadapt.config.generation import GenerationConfig
from langadapt.serve.generation import ChoiceError, Sampler, choose_tokens, top_logprobs
from langadapt.serve.text import TextTracker

log = logging.getLogger(__name__)

TokenLogprob = tuple[int, float, list[tuple[int, float]]]
"""(token id, log-probability, [(top token id, log-probability), ...])."""


@dataclass
class Output:
    """What a request produced since the last Output; `finish_reason` is set on the last one."""

    text: str = ""
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish_reason: str | None = None
    """"stop" (end token or stop string), "length" (max_new_tokens), "error"."""
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class EngineUnavailable(RuntimeError):
    """The engine thread is shut down or dead: no request can be served."""


class Request:
    _ids = itertools.count()

    def __init__(self, engine: "Engine", prompt_ids: Sequence[int], config: GenerationConfig,
                 logprobs: int | None, sink: Callable[[Output], None]) -> None:
        self.id = next(self._ids)
        self.engine = engine
        self.prompt_ids = list(prompt_ids)
        self.config = config
        self.logprobs = logprobs
        self.sink = sink
        self.sampler = Sampler(config, len(self.prompt_ids))
        self.tracker = TextTracker(engine.tokenizer, config.stop)
        self.generated: list[int] = []
        self.position = len(self.prompt_ids)
        self.cancelled = False
        self.done = False

    def cancel(self) -> None:
        """Stop generating for this request (its client went away); safe from any thread."""
        self.cancelled = True
        self.engine._wake()

    def emit(self, out: Output) -> None:
        out.prompt_tokens, out.completion_tokens = len(self.prompt_ids), len(self.generated)
        try:
            self.sink(out)
        except Exception:  # the receiver is gone (closed event loop): nobody is listening any more
            self.cancelled = True


class Engine:
    def __init__(self, model, tokenizer, max_batch_size: int = 16, context_length: int | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_batch_size = max_batch_size
        self.device = next(model.parameters()).device
        config = model.config.get_text_config(decoder=True) if hasattr(model.config, "get_text_config") else model.config
        self.context_length = context_length or int(getattr(config, "max_position_embeddings", 2048) or 2048)
        self.eos_ids = _eos_ids(model, tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(self.eos_ids, default=0)
        self._cv = threading.Condition()
        self._waiting: deque[Request] = deque()
        self._jobs: deque[Callable[[], None]] = deque()
        self._live: set[int] = set()
        self._active: list[Request] = []
        self._cache: DynamicCache | None = None
        self._mask: torch.Tensor | None = None
        self._joinable = True
        self._closed = False
        self._thread: threading.Thread | None = None
        self.steps = 0

    # ----- public API (any thread) -------------------------------------------------------------
    def start(self) -> "Engine":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="langadapt-engine", daemon=True)
            self._thread.start()
            # A daemon thread killed inside a torch call at exit aborts the process; stop it first.
            atexit.register(self.shutdown)
        return self

    def shutdown(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)

    @property
    def alive(self) -> bool:
        """The engine thread is running and accepts requests."""
        return self._thread is not None and self._thread.is_alive() and not self._closed

    @property
    def num_waiting(self) -> int:
        """Requests submitted and not yet admitted to the running batch."""
        with self._cv:
            return len(self._waiting)

    @property
    def num_active(self) -> int:
        """Requests submitted and not yet finished or cancelled (waiting or running)."""
        with self._cv:
            return len(self._live)

    def submit(self, prompt_ids: Sequence[int], config: GenerationConfig, sink: Callable[[Output], None],
               logprobs: int | None = None) -> Request:
        if not prompt_ids:
            raise ValueError("empty prompt")
        req = Request(self, prompt_ids, config, logprobs, sink)
        with self._cv:
            if self._closed:
                raise EngineUnavailable("engine is shut down")
            if self._thread is not None and not self._thread.is_alive():
                raise EngineUnavailable("engine thread has stopped")
            self._live.add(req.id)
            self._waiting.append(req)
            self._cv.notify_all()
        return req

    def stream_sync(self, prompt_ids: Sequence[int], config: GenerationConfig,
                    logprobs: int | None = None) -> Iterator[Output]:
        box: queue.Queue[Output] = queue.Queue()
        req = self.submit(prompt_ids, config, box.put, logprobs)
        try:
            while True:
                out = box.get()
                yield out
                if out.finish_reason:
                    return
        finally:
            req.cancel()

    def generate(self, prompts: Sequence[Sequence[int]], config: GenerationConfig,
                 logprobs: int | None = None) -> list[Output]:
        """Batch helper (eval, scripts): all prompts at once, one merged Output per prompt, in order."""
        boxes = [queue.Queue() for _ in prompts]
        reqs = [self.submit(ids, config, box.put, logprobs) for ids, box in zip(prompts, boxes)]
        results = []
        try:
            for box in boxes:
                total = Output()
                while not total.finish_reason:
                    out = box.get()
                    total.text += out.text
                    total.token_ids += out.token_ids
                    total.logprobs += out.logprobs
                    total.finish_reason, total.error = out.finish_reason, out.error
                    total.prompt_tokens, total.completion_tokens = out.prompt_tokens, out.completion_tokens
                results.append(total)
        finally:
            for req in reqs:
                req.cancel()
        return results

    async def stream(self, prompt_ids: Sequence[int], config: GenerationConfig,
                     logprobs: int | None = None) -> AsyncIterator[Output]:
        """Async outputs of one request; closing the iterator early cancels the request."""
        loop = asyncio.get_running_loop()
        box: asyncio.Queue[Output] = asyncio.Queue()
        req = self.submit(prompt_ids, config, lambda out: loop.call_soon_threadsafe(box.put_nowait, out), logprobs)
        try:
            while True:
                out = await box.get()
                yield out
                if out.finish_reason:
                    return
        finally:
            req.cancel()

    def call(self, fn: Callable[[], object]) -> Future:
        """Run `fn` on the engine thread between steps (the model is never used from two threads)."""
        fut: Future = Future()

        def job() -> None:
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn())
                except Exception as exc:  # handed to the caller through the future
                    fut.set_exception(exc)

        with self._cv:
            self._jobs.append(job)
            self._cv.notify_all()
        return fut

    def score(self, prompt_ids: Sequence[int], top: int = 0) -> Future:
        """Future of the log-probability of every prompt token after the first, with its top alternatives."""
        return self.call(lambda: self._score(list(prompt_ids), top))

    # ----- engine thread ------------------------------------------------------------------------
    def _wake(self) -> None:
        with self._cv:
            self._cv.notify_all()

    def _run(self) -> None:
        with torch.inference_mode():
            while True:
                with self._cv:
                    while not (self._waiting or self._jobs or self._active or self._closed):
                        self._cv.wait()
                    if self._closed:
                        for req in list(self._waiting) + self._active:
                            req.emit(Output(finish_reason="error", error="server shutting down"))
                        return
                    jobs = list(self._jobs)
                    self._jobs.clear()
                    new = self._admit()
                for job in jobs:
                    job()
                if new:
                    try:
                        self._prefill(new)
                    except Exception as exc:  # only the requests being admitted share this forward pass
                        log.exception("prefill failed")
                        self._fail([r for r in new if r not in self._active], exc)
                if self._active:
                    try:
                        self._step()
                    except Exception as exc:  # a failed forward pass must not kill the server
                        log.exception("generation failed")
                        self._fail(self._active, exc)
                        self._active, self._cache, self._mask = [], None, None

    def _fail(self, reqs: list[Request], exc: Exception) -> None:
        for req in reqs:
            if not req.done:
                self._finish(req, Output(finish_reason="error", error=f"{type(exc).__name__}: {exc}"))

    def _admit(self) -> list[Request]:
        new: list[Request] = []
        if self._active and not self._joinable:
            return new
        room = self.max_batch_size - len(self._active)
        while self._waiting and len(new) < room:
            req = self._waiting.popleft()
            if req.cancelled:
                self._live.discard(req.id)
            else:
                new.append(req)
        return new

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: DynamicCache,
                 keep: int = 1) -> torch.Tensor:
        out = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                         position_ids=positions.to(self.device), past_key_values=cache, use_cache=True,
                         logits_to_keep=keep)
        return out.logits[:, -1, :].float()

    def _prefill(self, new: list[Request]) -> None:
        width = max(len(r.prompt_ids) for r in new)
        ids = torch.full((len(new), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(new), width), dtype=torch.long)
        for i, req in enumerate(new):
            ids[i, width - len(req.prompt_ids):] = torch.tensor(req.prompt_ids)
            mask[i, width - len(req.prompt_ids):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache(config=self.model.config)
        logits = self._forward(ids, mask, positions, cache)
        self._joinable = all(type(layer) is DynamicLayer for layer in cache.layers)
        self._merge(cache, mask.to(self.device), new)
        self._accept_all(new, logits)

    def _merge(self, cache: DynamicCache, mask: torch.Tensor, new: list[Request]) -> None:
        if not self._active:
            self._cache, self._mask, self._active = cache, mask, list(new)
            return
        width = max(self._mask.shape[1], mask.shape[1])
        for old_layer, new_layer in zip(self._cache.layers, cache.layers):
            old_layer.keys = torch.cat([_left_pad(old_layer.keys, width), _left_pad(new_layer.keys, width)])
            old_layer.values = torch.cat([_left_pad(old_layer.values, width), _left_pad(new_layer.values, width)])
        self._mask = torch.cat([_left_pad(self._mask, width), _left_pad(mask, width)])
        self._active.extend(new)

    def _step(self) -> None:
        self._drop([r for r in self._active if r.cancelled])
        if not self._active:
            return
        batch = len(self._active)
        ids = torch.tensor([[r.generated[-1]] for r in self._active], dtype=torch.long)
        positions = torch.tensor([[r.position] for r in self._active], dtype=torch.long)
        self._mask = torch.cat([self._mask, self._mask.new_ones((batch, 1))], dim=1)
        logits = self._forward(ids, self._mask, positions, self._cache)
        self.steps += 1
        for req in self._active:
            req.position += 1
        self._accept_all(self._active, logits)

    def _accept_all(self, reqs: list[Request], logits: torch.Tensor) -> None:
        histories = [r.prompt_ids + r.generated for r in reqs]
        chosen = choose_tokens(logits, [r.sampler for r in reqs], histories)
        want = [r.logprobs for r in reqs if r.logprobs is not None]
        details = None
        if want:
            picked = [t if isinstance(t, int) else 0 for t in chosen]
            details = top_logprobs(torch.log_softmax(logits, dim=-1), picked, max(want))
        for i, (req, token) in enumerate(zip(reqs, chosen)):
            if req.cancelled:
                continue
            if isinstance(token, ChoiceError):
                self._finish(req, Output(finish_reason="error", error=str(token)))
                continue
            try:
                self._accept(req, token, details[i] if req.logprobs is not None and details is not None else None)
            except Exception as exc:  # e.g. a tokenizer that cannot decode this id: this request only
                log.exception("request %s failed", req.id)
                self._fail([req], exc)
        self._drop([r for r in reqs if r.done or r.cancelled])

    def _accept(self, req: Request, token: int, detail: tuple | None) -> None:
        req.generated.append(token)
        out = Output(token_ids=[token])
        if detail is not None:
            lp, tops = detail
            out.logprobs = [(token, lp, tops[: req.logprobs])]
        if token in self.eos_ids:
            out.finish_reason = "stop"
        else:
            out.text = req.tracker.push(token)
            if req.tracker.stopped:
                out.finish_reason = "stop"
            elif len(req.generated) >= req.config.max_new_tokens or req.position + 1 >= self.context_length:
                out.finish_reason = "length"
        if out.finish_reason:
            out.text += req.tracker.flush()
            self._finish(req, out)
        else:
            req.emit(out)

    def _finish(self, req: Request, out: Output) -> None:
        req.done = True
        req.emit(out)
        with self._cv:
            self._live.discard(req.id)

    def _drop(self, gone: list[Request]) -> None:
        if not gone:
            return
        with self._cv:
            for req in gone:
                self._live.discard(req.id)
        keep = [i for i, r in enumerate(self._active) if r not in gone]
        if not keep:
            self._active, self._cache, self._mask = [], None, None
            return
        index = torch.tensor(keep, device=self._mask.device)
        self._active = [self._active[i] for i in keep]
        self._cache.batch_select_indices(index)
        self._mask = self._mask.index_select(0, index)
        if self._joinable:
            first = int(self._mask.any(0).nonzero()[0])
            if first > 0:  # columns that are padding in every remaining row
                for layer in self._cache.layers:
                    layer.keys, layer.values = layer.keys[:, :, first:], layer.values[:, :, first:]
                self._mask = self._mask[:, first:]

    def _score(self, ids: list[int], top: int) -> list[TokenLogprob]:
        tensor = torch.tensor([ids], dtype=torch.long, device=self.device)
        logits = self.model(input_ids=tensor, use_cache=False).logits[0, :-1].float()
        logprobs = torch.log_softmax(logits, dim=-1)
        details = top_logprobs(logprobs, ids[1:], top)
        return [(tok, lp, tops) for tok, (lp, tops) in zip(ids[1:], details)]


def _left_pad(t: torch.Tensor, width: int) -> torch.Tensor:
    """Pad dim 1 (mask [B, T]) or dim 2 (keys [B, H, T, D]) on the left with zeros up to `width`."""
    dim = 1 if t.dim() == 2 else 2
    missing = width - t.shape[dim]
    if missing <= 0:
        return t
    shape = list(t.shape)
    shape[dim] = missing
    return torch.cat([t.new_zeros(shape), t], dim=dim)


def _eos_ids(model, tokenizer) -> set[int]:
    ids: set[int] = set()
    gen = getattr(model, "generation_config", None)
    for value in (getattr(gen, "eos_token_id", None), tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif value:
            ids.update(int(v) for v in value)
    return ids
