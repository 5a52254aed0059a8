"""Request bodies of the OpenAI-compatible API (the fields `langadapt serve` understands).

Unknown fields are accepted and ignored, as OpenAI clients send more than a small server uses,
except the ones that change what a correct answer is (`tools`, `response_format`, `logit_bias`,
`best_of` > 1, ...): those are refused by name, since ignoring them gives a wrong answer with no
error. The generation options of `langadapt.config.generation` that OpenAI lacks (top_k,
typical_p, repetition_penalty, no_repeat_ngram_size, begin_suppress_tokens) are accepted as
extra fields, the way vLLM accepts them. Every number is range-checked here so that no request
can put NaN into the batch it shares with others.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SEED_RANGE = 2**63
"""Seeds are signed 64-bit integers, as in OpenAI's API."""


class _Base(BaseModel):
    model_config = ConfigDict(extra="ignore", protected_namespaces=(), allow_inf_nan=False)


class StreamOptions(_Base):
    include_usage: bool = False


class Sampling(_Base):
    model: str
    max_tokens: int | None = Field(None, description="Most tokens to generate; defaults to the server's setting.")
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=-1)
    typical_p: float | None = Field(None, gt=0.0, le=1.0)
    # Far from 1 the penalty divides logits by a tiny number (inf, then NaN): bounded like vLLM's.
    repetition_penalty: float | None = Field(None, ge=0.01, le=100.0)
    presence_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    no_repeat_ngram_size: int | None = Field(None, ge=0, le=1024)
    begin_suppress_tokens: list[int] | None = Field(None, max_length=1024)
    n: int = Field(1, ge=1, le=16)
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=-SEED_RANGE, lt=SEED_RANGE)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None

    # Accepted only with the value that means "off"; anything else is refused by name.
    tools: list[Any] | None = None
    tool_choice: Any = None
    functions: list[Any] | None = None
    function_call: Any = None
    response_format: dict[str, Any] | None = None
    logit_bias: dict[str, Any] | None = None
    best_of: int | None = None

    def unsupported(self) -> list[str]:
        """Names of the fields this server cannot honour as sent."""
        bad = [name for name in ("tools", "functions", "logit_bias") if getattr(self, name)]
        if self.tool_choice not in (None, "none"):
            bad.append("tool_choice")
        if self.function_call not in (None, "none"):
            bad.append("function_call")
        if self.response_format and self.response_format.get("type", "text") != "text":
            bad.append("response_format")
        if self.best_of is not None and self.best_of != 1 and self.best_of != self.n:
            bad.append("best_of")
        return bad

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop)
        if len(stops) > 16:
            raise ValueError("stop: at most 16 stop strings")
        return stops


class ChatMessage(_Base):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        parts = []
        for part in self.content:
            if part.get("type") != "text":
                raise ValueError(f"messages: content part of type {part.get('type')!r} is not supported (text only)")
            parts.append(str(part.get("text", "")))
        return "".join(parts)


class ChatRequest(Sampling):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = None
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)


class CompletionRequest(Sampling):
    prompt: str | list[str] | list[int] | list[list[int]]
    echo: bool = False
    logprobs: int | None = Field(None, ge=0, le=20)
    suffix: str | None = None


class TokenizeRequest(_Base):
    """vLLM's /tokenize body: a plain prompt, or chat messages rendered with the chat template."""

    model: str | None = None
    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    add_special_tokens: bool | None = None
    add_generation_prompt: bool = True
    return_token_strs: bool = False


class DetokenizeRequest(_Base):
    model: str | None = None
    tokens: list[int]
