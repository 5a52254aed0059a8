"""The `eval` section: which tasks, on which models, with which metrics."""

from __future__ import annotations

from pydantic import Field

from langadapt.config.base import Section


class JudgeSettings(Section):
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint of the judge model, e.g. `http://127.0.0.1:8000/v1`.")
    model: str | None = Field(None, description="Judge model name at that endpoint.")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the judge's API key.")
    template: str | None = Field(None, description="Judge prompt template file (default: the built-in pairwise template).")


class EvalConfig(Section):
    enabled: bool = Field(True, description="Run this stage.")
    tasks: list[str] = Field(default_factory=lambda: ["udhr-bpc"], description="Built-in task names or task files (YAML/JSONL).")
    languages: list[str] | None = Field(None, description="Languages for bits per character (default: the recipe's languages plus `en`).")
    compare: list[str] = Field(default_factory=lambda: ["base", "tokenizer", "pretrain", "sft"], description="Models to score side by side: the base and the output of each listed stage that ran.")
    max_chars: int = Field(20_000, ge=100, description="Most characters of held-out text scored per language.")
    window: int = Field(1024, ge=16, description="Sliding-window length in tokens for long documents.")
    stride: int = Field(512, ge=1, description="Tokens the window advances; tokens scored once each with this much left context.")
    batch_size: int = Field(8, ge=1, description="Windows or prompts per forward pass.")
    max_examples: int = Field(100, ge=1, description="Most examples per generation or multiple-choice task.")
    few_shot: int = Field(3, ge=0, description="Examples shown before each multiple-choice question.")
    judge: JudgeSettings = Field(default_factory=JudgeSettings, description="LLM-judge endpoint for pairwise comparison.")
