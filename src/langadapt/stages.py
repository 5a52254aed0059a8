"""The stages of `langadapt run`, each described once: what it reads, what it writes, what it depends on.

    from langadapt.stages import stage, STAGES
    result = stage("sft").run(StageContext(recipe, out_dir, run_dir, artifacts))
    stage("sft").upstream          # ("clean", "tokenizer", "pretrain")
    stage_fingerprint(recipe, "sft", upstream_ids, input_files)

Everything the orchestrator (langadapt.pipeline.run), the stage commands in langadapt.cli and the
model card need to know about a stage is read from its `Stage` spec below: the order of the
pipeline is the order of `SPECS`; a stage's upstream is the set of stages whose artifacts it
`needs`; its fingerprint covers its recipe section, the `recipe_keys` it reads beyond it, the
contents of its `input_files` and the identity of its upstream results, so editing any of those
re-runs the stage and everything after it, and nothing else.

Every stage command (`clean`, `tokenizer extend`, `pretrain`, `sft`, `eval`) turns its flags into a
recipe and a `StageContext` and calls the same `stage(name).run(ctx)` as `langadapt run`. What only
a command line chooses (`--model`, `--corpus`, `--heldout`, `--shard`, ...) travels in the context's
optional fields, which the orchestrator leaves at their defaults.

A stage's code is named by dotted path and imported when it runs: the stages pull in torch,
transformers and the data libraries, which `langadapt --help` and the config code must not wait for.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from langadapt.config.recipe import Recipe
from langadapt.errors import UserError
from langadapt.fingerprint import fingerprint_data, fingerprint_path
from langadapt.pipeline.inputs import resolve_corpora
from langadapt.results import CleanMetrics, EvalMetrics, ExportMetrics, StageMetrics, TokenizerMetrics, TrainMetrics

if TYPE_CHECKING:  # deferred: langadapt.rundir imports this module for STAGES, so a real import is a circle
    from langadapt.rundir import RunDir


class StageNotBuilt(UserError):
    """The stage exists in the recipe model but has no implementation in this version."""


def _corpus_files(recipe: Recipe) -> dict[str, str]:
    # size+mtime of the raw corpora (they can be many GB); a corpus not fetched yet is left out
    return {c.name: c.fingerprint for c in resolve_corpora(recipe, fetch_missing=False) if c.ready}


def _local(path: str, base_dir: Path) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base_dir / p


def _sft_files(recipe: Recipe) -> dict[str, str]:
    # content hashes: an SFT file edited in place must re-run sft even when its name is unchanged
    found = {}
    for spec in recipe.sft.datasets:
        if spec.path:
            found[spec.path] = fingerprint_path(_local(spec.path, recipe.base_dir))
        elif spec.hf_dataset and _local(spec.hf_dataset, recipe.base_dir).exists():
            found[spec.hf_dataset] = fingerprint_path(_local(spec.hf_dataset, recipe.base_dir))
    return found


def _eval_files(recipe: Recipe) -> dict[str, str]:
    # task files are read relative to the working directory (langadapt.eval.tasks.load_task)
    if recipe.eval.backend != "native":
        return {}
    return {t: fingerprint_path(Path(t).expanduser()) for t in recipe.eval.tasks if Path(t).expanduser().is_file()}


@dataclass(frozen=True)
class Stage:
    """One stage of the pipeline: its contract with the orchestrator and with the stages around it."""

    name: str
    title: str
    section: str
    """The recipe section holding its settings (`recipe.<section>`, with `enabled`)."""
    target: str
    """"module:function" run with a StageContext, returning a StageResult."""
    metrics: type[StageMetrics]
    """The type of StageResult.metrics, and of the `metrics` its manifest is read back as."""
    needs: tuple[str, ...] = ()
    """Artifacts of earlier stages it reads, as `stage.artifact` (a missing one falls back, e.g. to the base model)."""
    produces: tuple[str, ...] = ()
    """Artifacts its StageResult.outputs promises (`adapter` only from LoRA methods; more may appear, e.g. `gguf`)."""
    recipe_keys: tuple[str, ...] = ()
    """Top-level recipe keys it reads beyond its own section: part of its fingerprint."""
    input_files: Callable[[Recipe], dict[str, str]] | None = None
    """Fingerprints of the files it reads from outside the run folder: part of its fingerprint."""
    files_key: str = "input_files"
    """Key of `input_files` in the fingerprinted config (clean's older name is kept: finished runs stay valid)."""
    trains: bool = False
    """Training stages run on every process under a launcher and resume from checkpoints."""
    derived: Callable[[Recipe], dict[str, Any]] | None = None
    """Settings of its section that it derives from other sections when they are left open: part of its
    fingerprint, so changing what they are derived from re-runs the stage."""

    @property
    def upstream(self) -> tuple[str, ...]:
        wanted = {a.split(".", 1)[0] for a in self.needs}
        return tuple(s for s in STAGES if s in wanted)

    def run(self, ctx: "StageContext") -> "StageResult":
        module_name, func_name = self.target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # Only a missing stage module means "not built"; a missing dependency inside it is a real error.
            if exc.name and module_name.startswith(exc.name):
                raise StageNotBuilt(f"stage {self.name!r} is not built in this version of langadapt") from None
            raise
        return getattr(module, func_name)(ctx)


_MODELS = ("tokenizer.model", "pretrain.model", "pretrain.adapter")


def _tokenizer_derived(recipe: Recipe) -> dict[str, Any]:
    # `new_tokens: auto` sizes the vocabulary for the planned CPT tokens (tokenizer/stage.py)
    cfg = recipe.tokenizer
    planned = recipe.pretrain.planned_tokens() if cfg.new_tokens == "auto" and not cfg.auto_training_tokens else None
    return {"auto_training_tokens": planned} if planned else {}

SPECS: tuple[Stage, ...] = (
    Stage("clean", "Corpus cleaning", "clean", "langadapt.corpus.stage:run", CleanMetrics,
          produces=("corpus", "heldout", "stats"),
          recipe_keys=("base_model", "languages", "corpora"), input_files=_corpus_files, files_key="corpus_files"),
    Stage("tokenizer", "Tokenizer extension", "tokenizer", "langadapt.tokenizer.stage:run", TokenizerMetrics,
          needs=("clean.corpus", "clean.heldout"), produces=("model", "report", "chart", "markdown"),
          recipe_keys=("base_model", "languages", "base_language"), derived=_tokenizer_derived),
    Stage("pretrain", "Continual pretraining", "pretrain", "langadapt.train.stage:run_pretrain", TrainMetrics,
          needs=("clean.corpus", "tokenizer.model"), produces=("model", "adapter", "metrics"),
          recipe_keys=("base_model", "corpora", "seed"), trains=True),
    Stage("sft", "Instruction tuning", "sft", "langadapt.train.stage:run_sft", TrainMetrics,
          needs=("clean.heldout", *_MODELS), produces=("model", "adapter", "metrics"),
          recipe_keys=("base_model", "seed", "generation"), input_files=_sft_files, trains=True),
    Stage("eval", "Evaluation", "eval", "langadapt.eval.stage:run", EvalMetrics,
          needs=("clean.heldout", *_MODELS, "sft.model"), produces=("results", "table"),
          recipe_keys=("base_model", "languages", "base_language", "generation"), input_files=_eval_files),
    # export writes the card from every manifest of the run, so every earlier stage is upstream
    Stage("export", "Export", "export", "langadapt.export.stage:run", ExportMetrics,
          needs=("clean.heldout", *_MODELS, "sft.model", "sft.adapter", "eval.results"), produces=("export", "card"),
          recipe_keys=("base_model", "name", "description", "languages", "generation", "hardware")),
)
STAGES: tuple[str, ...] = tuple(s.name for s in SPECS)
MODEL_STAGES: tuple[str, ...] = tuple(s.name for s in SPECS if "model" in s.produces)
TRAINING: tuple[str, ...] = tuple(s.name for s in SPECS if s.trains)
_BY_NAME = {s.name: s for s in SPECS}


def stage(name: str) -> Stage:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UserError(f"unknown stage {name!r}; stages are {', '.join(STAGES)}") from None


def stage_config(recipe: Recipe, name: str, input_files: dict[str, str] | None = None,
                 upstream_ids: dict[str, Any] | None = None) -> dict:
    """What the stage's fingerprint covers (also stored in its manifest as `config`).

    `input_files` defaults to reading the stage's files now; the orchestrator passes the ones it
    computed once at planning time, so every process of a launched run agrees on them."""
    spec = stage(name)
    data = recipe.model_dump(mode="json")
    config = {spec.section: data[spec.section], **{k: data[k] for k in spec.recipe_keys}}
    if spec.derived and (derived := spec.derived(recipe)):
        config[spec.section] = {**config[spec.section], **derived}
    files = input_files if input_files is not None else (spec.input_files(recipe) if spec.input_files else {})
    if files:
        config[spec.files_key] = files
    ids = upstream_ids or {}
    config["upstream"] = {u: ids[u] for u in spec.upstream if u in ids}
    return config


def stage_fingerprint(recipe: Recipe, name: str, input_files: dict[str, str] | None = None,
                      upstream_ids: dict[str, Any] | None = None) -> tuple[str, dict]:
    """(fingerprint, config) of a stage: a changed setting, input file or upstream result changes it."""
    config = stage_config(recipe, name, input_files, upstream_ids)
    return fingerprint_data(config), config


def stage_metrics(manifests: dict[str, dict], name: str) -> Any:
    """The typed metrics in a stage's manifest (see langadapt.results), or None when the run has none for it."""
    manifest = manifests.get(name)
    if not manifest:
        return None
    return stage(name).metrics.from_manifest(manifest.get("metrics") or {}, f"the {name} stage's manifest.json")


@dataclass
class StageContext:
    recipe: Recipe
    out_dir: Path
    run_dir: RunDir
    artifacts: dict[str, str] = field(default_factory=dict)
    """Outputs of earlier stages as `stage.artifact` -> path, e.g. `clean.corpus`, `tokenizer.model`."""
    model: str | None = None
    """The input model chosen on the command line (`--model`), instead of the run's newest one (the tokenizer
    stage's: instead of `base_model`)."""
    models: dict[str, str] | None = None
    """Models to evaluate chosen on the command line (label -> model), instead of the run's models."""
    corpus: list[str] | None = None
    """Training text chosen on the command line (`tokenizer extend --corpus`), instead of `clean.corpus`."""
    heldout: dict[str, list[str]] | None = None
    """Held-out text files per language chosen on the command line (`tokenizer extend --heldout LANG=PATH`),
    instead of `clean.heldout` (whose records name their own language)."""
    tokenizer_only: bool | None = None
    """`tokenizer extend --tokenizer-only`: extend the tokenizer alone, no model; None: alone exactly when the
    base has no weights (a vocabulary-only GGUF)."""
    shard: tuple[int, int] | None = None
    """`clean --shard i/N`: clean only the records whose position modulo N is i (`clean merge` joins the N outputs)."""
    progress: bool = True
    """Show progress bars (`clean --no-progress` turns them off)."""

    def artifact(self, key: str, default: str | None = None) -> str | None:
        return self.artifacts.get(key, default)

    def latest_model(self, before: str | None = None) -> str:
        """The model given on the command line, else the newest produced before `before` (or overall), else the base."""
        if self.model:
            return self.model
        limit = STAGES.index(before) if before else len(STAGES)
        for name in reversed(MODEL_STAGES):
            if STAGES.index(name) < limit and f"{name}.model" in self.artifacts:
                return self.artifacts[f"{name}.model"]
        return self.recipe.base_model

    def models_for_comparison(self) -> dict[str, str]:
        """`base` plus every stage model, in pipeline order."""
        found = {"base": self.recipe.base_model}
        for name in MODEL_STAGES:
            if f"{name}.model" in self.artifacts:
                found[name] = self.artifacts[f"{name}.model"]
        return found


@dataclass
class StageResult:
    outputs: dict[str, str]
    metrics: StageMetrics
    """The stage's figures; its manifest stores `metrics.to_dict()`."""
