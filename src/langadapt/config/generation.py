"""Generation options shared by chat, serve, webui and the eval stage."""

from __future__ import annotations

from pydantic import Field

from langadapt.config.base import Section


class GenerationConfig(Section):
    max_new_tokens: int = Field(256, ge=1, description="Most tokens to generate per answer.")
    temperature: float = Field(0.7, ge=0.0, description="Sampling temperature; 0 means greedy decoding.")
    top_k: int = Field(50, ge=0, description="Keep only the k most likely tokens (0 disables).")
    top_p: float = Field(0.95, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    typical_p: float = Field(1.0, gt=0.0, le=1.0, description="Locally typical sampling mass (1.0 disables).")
    repetition_penalty: float = Field(1.0, gt=0.0, description="Penalty >1 discourages repeating tokens.")
    no_repeat_ngram_size: int = Field(0, ge=0, description="Forbid repeating any n-gram of this size (0 disables).")
    begin_suppress_tokens: list[int] = Field(default_factory=list, description="Token ids forbidden as the first generated token.")
    stop: list[str] = Field(default_factory=list, description="Stop strings; generation ends before them.")
    seed: int | None = Field(None, description="Random seed for sampling; None leaves it unseeded.")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def to_hf_kwargs(self) -> dict:
        """Keyword arguments for `model.generate` (stop strings are handled by the caller's streamer)."""
        kwargs: dict = {"max_new_tokens": self.max_new_tokens, "repetition_penalty": self.repetition_penalty}
        if self.greedy:
            kwargs["do_sample"] = False
        else:
            kwargs.update(do_sample=True, temperature=self.temperature, top_k=self.top_k, top_p=self.top_p,
                          typical_p=self.typical_p)
        if self.no_repeat_ngram_size:
            kwargs["no_repeat_ngram_size"] = self.no_repeat_ngram_size
        if self.begin_suppress_tokens:
            kwargs["begin_suppress_tokens"] = list(self.begin_suppress_tokens)
        return kwargs
