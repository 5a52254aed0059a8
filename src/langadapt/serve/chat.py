"""Terminal chat: `langadapt chat MODEL [--adapter DIR] [--system TEXT] [--prompt TEXT]`.

Answers stream token by token; the conversation is kept (oldest turns are dropped when it no
longer fits the context). Commands: /reset, /show, /set KEY VALUE, /system TEXT, /help, /quit.
Completion mode (base models, or `--mode completion`) continues each input as plain text.
"""

from __future__ import annotations

import sys
from typing import TextIO

import yaml
from pydantic import ValidationError

from langadapt.config.generation import GenerationConfig
from langadapt.errors import UserError
from langadapt.serve.loading import start_engine

HELP = """commands:
  /reset             forget the conversation
  /show              show the generation options, mode and system prompt
  /set KEY VALUE     change an option, e.g. /set temperature 0.2, /set stop ["###"], /set seed none
  /system TEXT       set the system prompt (and reset); /system alone removes it
  /quit              leave (also Ctrl-D)"""


class ChatSession:
    """Conversation state and prompt building, independent of the terminal."""

    def __init__(self, engine, config: GenerationConfig, system: str | None = None, mode: str = "auto") -> None:
        self.engine = engine
        self.tokenizer = engine.tokenizer
        self.config = config
        self.system = system
        has_template = bool(getattr(self.tokenizer, "chat_template", None))
        if mode == "chat" and not has_template:
            raise UserError("this model's tokenizer has no chat template; use --mode completion")
        self.mode = mode if mode != "auto" else ("chat" if has_template else "completion")
        self.history: list[dict] = []

    def reset(self) -> None:
        self.history = []

    def set_option(self, key: str, value: str) -> str:
        if key not in GenerationConfig.model_fields:
            raise UserError(f"unknown option {key!r}; options: {', '.join(GenerationConfig.model_fields)}")
        parsed = yaml.safe_load(value) if value.strip() else None
        if isinstance(parsed, str) and parsed.lower() == "none":
            parsed = None
        try:
            self.config = GenerationConfig.model_validate({**self.config.model_dump(), key: parsed})
        except ValidationError as exc:
            raise UserError(f"{key}: {exc.errors()[0]['msg']}") from None
        return f"{key} = {getattr(self.config, key)!r}"

    def show(self) -> str:
        lines = [f"mode: {self.mode}", f"system: {self.system!r}"]
        lines += [f"{k}: {v!r}" for k, v in self.config.model_dump().items()]
        return "\n".join(lines)

    def prompt_ids(self, user_text: str) -> list[int]:
        if self.mode == "completion":
            return self.tokenizer(user_text).input_ids
        budget = self.engine.context_length - self.config.max_new_tokens
        history = self.history + [{"role": "user", "content": user_text}]
        while True:
            messages = ([{"role": "system", "content": self.system}] if self.system else []) + history
            text = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            ids = self.tokenizer(text, add_special_tokens=False).input_ids
            if len(ids) <= budget or len(history) <= 1:
                break
            history = history[2:]  # drop the oldest exchange
        if len(ids) > budget:
            raise UserError(f"the message is too long: {len(ids)} tokens, room for {max(budget, 0)}")
        self.history = history[:-1]
        return ids

    def reply(self, user_text: str, out: TextIO) -> str:
        """Stream the answer to `out`; Ctrl-C stops it early and keeps what was said."""
        ids = self.prompt_ids(user_text)
        parts: list[str] = []
        stream = self.engine.stream_sync(ids, self.config)
        try:
            for piece in stream:
                if piece.error:
                    raise UserError(f"generation failed: {piece.error}")
                parts.append(piece.text)
                out.write(piece.text)
                out.flush()
        except KeyboardInterrupt:
            stream.close()
            out.write(" [stopped]")
        out.write("\n")
        out.flush()
        answer = "".join(parts)
        if self.mode == "chat":
            self.history += [{"role": "user", "content": user_text}, {"role": "assistant", "content": answer}]
        return answer

    def command(self, line: str) -> str | None:
        """Handle a /command; returns text to show, or None to quit."""
        name, _, rest = line[1:].partition(" ")
        if name in ("quit", "exit", "q"):
            return None
        if name == "reset":
            self.reset()
            return "(conversation reset)"
        if name == "show":
            return self.show()
        if name == "set":
            key, _, value = rest.strip().partition(" ")
            return self.set_option(key, value)
        if name == "system":
            self.system = rest.strip() or None
            self.reset()
            return f"(system prompt {'set' if self.system else 'removed'}; conversation reset)"
        if name == "help":
            return HELP
        return f"unknown command /{name}; /help lists them"


def run_chat(ref: str, adapter: str | None, config: GenerationConfig, prompt: str | None = None,
             system: str | None = None, mode: str = "auto", dtype: str = "auto", device: str | None = None,
             quantization: str | None = None) -> int:
    print(f"loading {ref}{' + ' + adapter if adapter else ''} ...", file=sys.stderr, flush=True)
    engine = start_engine(ref, adapter, max_batch_size=1, dtype=dtype, device=device, quantization=quantization)
    try:
        session = ChatSession(engine, config, system=system, mode=mode)
        if prompt is not None:
            session.reply(prompt, sys.stdout)
            return 0
        return _repl(session, ref)
    finally:
        engine.shutdown()


def _repl(session: ChatSession, ref: str) -> int:
    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    print(f"{ref} ({session.mode} mode). Type a message; /help for commands, /quit to leave.", flush=True)
    while True:
        try:
            line = input(">>> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line.strip():
            continue
        try:
            if line.startswith("/"):
                shown = session.command(line.strip())
                if shown is None:
                    return 0
                print(shown, flush=True)
            else:
                session.reply(line, sys.stdout)
        except UserError as exc:
            print(f"error: {exc}", flush=True)
