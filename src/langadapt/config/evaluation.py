"""The `eval` section: which tasks, on which models, with which metrics."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from langadapt import languages
from langadapt.choices import closest
from langadapt.config.base import Section
from langadapt.config.generation import GenerationConfig
from langadapt.eval import tasks as eval_tasks

TASK_FILE_SUFFIXES = (".jsonl", ".yaml", ".yml")


class JudgeSettings(Section):
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint of the judge model, e.g. `http://127.0.0.1:8000/v1`; unset disables the judge.")
    model: str | None = Field(None, description="Judge model name at that endpoint.")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the judge's API key (may be unset for local servers). OPENAI_API_KEY, the default, is only sent to https://api.openai.com; a key is never sent over plain http to another machine.")
    template: str | None = Field(None, description="Judge prompt template file (default: the built-in pairwise template).")
    max_examples: int = Field(50, ge=1, description="Most answer pairs sent to the judge per generation task.")
    timeout: float = Field(120.0, gt=0, description="Seconds to wait for one judge reply.")


def _eval_generation() -> GenerationConfig:
    return GenerationConfig(temperature=0.0, max_new_tokens=128)


class EvalConfig(Section):
    enabled: bool = Field(True, description="Run this stage.")
    tasks: list[str] = Field(default_factory=lambda: ["udhr-bpc"], description=f"Registered task names ({', '.join(eval_tasks.names())}, and those a registered task kind brings) or task files (YAML/JSONL); lm-evaluation-harness task names with backend lm-eval.")
    languages: list[str] | None = Field(None, description=f"Languages for bits per character and translation (default: the recipe's languages plus its base language; on the command line: {', '.join(languages.udhr_defaults())}).")
    compare: list[str] = Field(default_factory=lambda: ["base", "tokenizer", "pretrain", "sft"], description="Models to score side by side: the base and the output of each listed stage that ran.")
    bpc_only: list[str] = Field(default_factory=lambda: ["tokenizer"], description="Models of `compare` scored on bits-per-character tasks only, not on generation or multiple choice: the model right after the tokenizer stage is untrained, and its bits per character already say how far its new rows start from the base.")
    backend: Literal["native", "lm-eval"] = Field("native", description="`native` runs langadapt's tasks; `lm-eval` hands the tasks to lm-evaluation-harness.")
    dtype: Literal["auto", "fp32", "bf16", "fp16"] = Field("fp32", description="Dtype models are loaded in for evaluation (fp32 on CPU).")
    load_in: Literal["8bit", "4bit"] | None = Field(None, description="Load the models with 8-bit or 4-bit weights (bitsandbytes; needs a CUDA GPU) to fit larger models in memory.")
    max_chars: int = Field(5_000, ge=100, description="Most characters of text scored per language (UDHR: the same articles in every language, up to this many characters in the longest) and per held-out source corpus (heldout-bpc: sampled evenly from each source's held-out documents).")
    window: int = Field(1024, ge=16, description="Sliding-window length in tokens for long documents.")
    stride: int = Field(512, ge=1, description="Tokens the window advances; tokens scored once each with this much left context.")
    batch_size: int = Field(8, ge=1, description="Windows or prompts per forward pass.")
    max_examples: int = Field(100, ge=1, description="Most examples per generation or multiple-choice task.")
    answer_bpc: bool = Field(True, description="Generation tasks also score bits per character of the reference answer after the prompt (`answer_bpc`, lower is better): it ranks models whose generated answers all score near zero.")
    few_shot: int = Field(3, ge=0, description="Examples shown before each multiple-choice question.")
    chat: bool | None = Field(None, description="Wrap generation prompts in the tokenizer's chat template (default: when the tokenizer has one).")
    generation: GenerationConfig = Field(default_factory=_eval_generation, description="Decoding for generation tasks; greedy (temperature 0) by default so scores are reproducible.")
    judge: JudgeSettings = Field(default_factory=JudgeSettings, description="LLM-judge endpoint for pairwise comparison.")

    @model_validator(mode="after")
    def _known_tasks(self) -> EvalConfig:
        """Native tasks are registered names (read when checked, so a task kind registered later counts) or files."""
        if self.backend != "native":
            return self
        names = eval_tasks.names()
        for task in self.tasks:
            if task not in names and not task.endswith(TASK_FILE_SUFFIXES):
                close = closest(task, names)
                raise PydanticCustomError(
                    "unknown_task", "tasks: unknown task {task}: not a registered task ({names}) nor a task file ({suffixes}){hint}",
                    {"task": repr(task), "names": ", ".join(names), "suffixes": ", ".join(TASK_FILE_SUFFIXES),
                     "hint": f", did you mean {close}?" if close else ""})
        return self
