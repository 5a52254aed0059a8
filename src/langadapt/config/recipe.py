"""A whole adaptation in one typed object: the single source for YAML recipes, CLI options and the model card."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, PrivateAttr

from langadapt.config.base import Section
from langadapt.config.clean import CleanConfig
from langadapt.config.corpus import CorpusSpec
from langadapt.config.evaluation import EvalConfig
from langadapt.config.export import ExportConfig
from langadapt.config.generation import GenerationConfig
from langadapt.config.tokenizer import TokenizerConfig
from langadapt.config.train import PretrainConfig, SftConfig


class HardwareSpec(Section):
    gpu: str | None = Field(None, description="GPU the recipe was written for, e.g. `a10-24gb`, `a100-40gb`, `h100-80gb` (used by `langadapt plan`).")
    num_gpus: int = Field(1, ge=1, description="GPUs per run.")
    strategy: Literal["ddp", "fsdp", "zero2", "zero3"] = Field("ddp", description="How the GPUs share the work, for `langadapt plan` and the launch line: `ddp` replicates the model on every GPU (configs/accelerate/ddp.yaml); `zero2` shards gradients and optimizer state (DeepSpeed ZeRO-2); `zero3` and `fsdp` shard weights too (DeepSpeed ZeRO-3, configs/accelerate/fsdp.yaml), for full fine-tuning of models whose AdamW state does not fit one GPU.")
    architecture: str | None = Field(None, description="Model whose architecture facts plan uses when the base is not on disk yet, e.g. `meta-llama/Llama-2-7b-hf` for a base produced by another recipe.")
    vocab_size: int | None = Field(None, ge=1, description="Vocabulary size plan uses with `architecture` when the base's tokenizer was extended (e.g. 54949).")


class Recipe(Section):
    name: str = Field(description="Run name: outputs go to `<run_dir>/<name>/`.")
    description: str = Field("", description="One paragraph for the model card.")
    base_model: str = Field(description="Hub id, local directory, GGUF file or built-in alias (e.g. `smollm2-135m-instruct`).")
    languages: list[str] = Field(description="Target languages as BCP-47 tags, e.g. `[zh-Hant]`, `[bo]`, `[th]`.")
    base_language: str = Field("en", description="The base model's main language, scored for forgetting.")
    run_dir: str = Field("runs", description="Folder holding every run; relative to the working directory.")
    seed: int = Field(42, description="Global seed.")
    corpora: list[CorpusSpec] = Field(default_factory=list, description="Raw text sources.")
    clean: CleanConfig = Field(default_factory=CleanConfig, description="Corpus cleaning.")
    tokenizer: TokenizerConfig = Field(default_factory=TokenizerConfig, description="Tokenizer extension.")
    pretrain: PretrainConfig = Field(default_factory=PretrainConfig, description="Continual pretraining.")
    sft: SftConfig = Field(default_factory=lambda: SftConfig(enabled=False), description="Instruction tuning.")
    eval: EvalConfig = Field(default_factory=EvalConfig, description="Evaluation.")
    export: ExportConfig = Field(default_factory=ExportConfig, description="Export and model card.")
    generation: GenerationConfig = Field(default_factory=GenerationConfig, description="Default generation options of the result.")
    hardware: HardwareSpec = Field(default_factory=HardwareSpec, description="Hardware the recipe targets.")

    _source: Path | None = PrivateAttr(None)

    @property
    def source(self) -> Path | None:
        """The YAML file this recipe came from, when it came from one."""
        return self._source

    @property
    def base_dir(self) -> Path:
        """Relative corpus paths resolve against the recipe's folder."""
        return self._source.parent if self._source else Path.cwd()

    def run_path(self) -> Path:
        return Path(self.run_dir) / self.name

    def stage_enabled(self, stage: str) -> bool:
        return bool(getattr(self, stage).enabled)
