"""Incremental detokenisation with stop strings, for streaming answers token by token.

Used by `langadapt.serve.engine`. Text is released only when it can no longer change: a trailing
partial UTF-8 character (decoded as U+FFFD) or a tail that could still grow into a stop string is
held back until the next token settles it.
"""

from __future__ import annotations

from typing import Sequence


class TextTracker:
    def __init__(self, tokenizer, stop: Sequence[str] = ()) -> None:
        self.tokenizer = tokenizer
        self.stop = [s for s in stop if s]
        self.ids: list[int] = []
        self.text = ""
        self.emitted = 0
        self.stopped = False

    def _decode(self) -> str:
        return self.tokenizer.decode(self.ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def push(self, token_id: int) -> str:
        """Add one token; return the newly settled text. Sets `stopped` when a stop string appears."""
        if self.stopped:
            return ""
        self.ids.append(token_id)
        self.text = self._decode()
        if self.stop:
            start = max(0, self.emitted - max(len(s) for s in self.stop))
            hits = [i for i in (self.text.find(s, start) for s in self.stop) if i >= 0]
            if hits:
                self.stopped = True
                cut = max(min(hits), self.emitted)
                self.text = self.text[:cut]
                return self._release(cut)
        if self.text.endswith("\ufffd"):
            return ""
        return self._release(len(self.text) - self._held_tail())

    def _held_tail(self) -> int:
        """Length of the longest text suffix that is a proper prefix of some stop string."""
        held = 0
        for s in self.stop:
            for k in range(min(len(s) - 1, len(self.text)), held, -1):
                if self.text.endswith(s[:k]):
                    held = k
                    break
        return held

    def _release(self, upto: int) -> str:
        if upto <= self.emitted:
            return ""
        piece = self.text[self.emitted : upto]
        self.emitted = upto
        return piece

    def flush(self) -> str:
        """At the end of generation: release whatever is still held."""
        return self._release(len(self.text))
