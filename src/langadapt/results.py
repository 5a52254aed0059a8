"""Typed stage results: the metrics each stage returns, and the one place a manifest becomes one again.

    from langadapt.results import TrainMetrics, stage_metrics
    m = TrainMetrics.from_stage(trainer_metrics)          # a stage building its result: every field must be there
    m = stage_metrics(manifests, "pretrain")              # a reader: TrainMetrics or None when the stage did not run
    m.train_loss, m.hyperparameters["method"]             # attributes, so a renamed field fails loudly
    manifest["metrics"] = m.to_dict()                     # on disk it stays flat JSON

Why: the report, the comparison and the model card used to read these figures from dicts by key,
so a metric renamed in a stage silently dropped a card section. Now a stage builds its metrics
with `from_stage`, which raises when a declared field is missing (a rename in the producer fails
that stage's tests), and readers use attributes (a rename in a reader is an AttributeError).

Manifests on disk stay JSON, and run folders written by earlier versions stay readable:
`from_manifest` needs only each type's `REQUIRED` fields (those every version has written) and
fills the others with None; a missing required one is a ManifestError naming the stage, the key
and the file. Keys a type does not declare are kept in `extra` and written back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from langadapt.errors import UserError


class ManifestError(UserError):
    """A manifest lacks a metric its stage's result type requires."""


@dataclass
class StageMetrics:
    REQUIRED: ClassVar[tuple[str, ...]] = ()
    """Fields every version has written: a manifest without one is an error, not a blank section."""
    OPTIONAL: ClassVar[tuple[str, ...]] = ()
    """Fields the stage writes only in some runs (e.g. held-out figures when there is held-out text)."""
    extra: dict[str, Any] = field(default_factory=dict, kw_only=True)
    """Figures the stage recorded beyond the declared fields (kept in the manifest as they were)."""

    @classmethod
    def declared(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != "extra"]

    @classmethod
    def _build(cls, data: dict[str, Any], required: list[str] | tuple[str, ...], where: str) -> "StageMetrics":
        missing = [k for k in required if k not in data]
        if missing:
            raise ManifestError(f"{where}: no metric {missing[0]!r} (expected by {cls.__name__}"
                                + (f"; also missing {', '.join(missing[1:])}" if missing[1:] else "") + ")")
        names = set(cls.declared())
        return cls(**{k: data.get(k) for k in names}, extra={k: v for k, v in data.items() if k not in names})

    @classmethod
    def from_stage(cls, data: dict[str, Any]) -> "StageMetrics":
        """A stage's own figures: every declared field but the OPTIONAL ones must be present (None is a value)."""
        return cls._build(data, [k for k in cls.declared() if k not in cls.OPTIONAL], f"{cls.__name__} built by its stage")

    @classmethod
    def from_manifest(cls, data: dict[str, Any], where: str = "manifest") -> "StageMetrics":
        """Figures read back from a manifest, possibly written by an earlier version."""
        return cls._build(data or {}, cls.REQUIRED, where)

    def to_dict(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in self.declared()}, **self.extra}


@dataclass
class CleanMetrics(StageMetrics):
    REQUIRED = ("documents_in", "documents_kept", "documents_rejected")
    documents_in: int | None = None
    documents_kept: int | None = None
    documents_rejected: int | None = None
    rejects_by_reason: dict[str, int] | None = None
    chars_in: int | None = None
    chars_out: int | None = None
    tokens_out: int | None = None
    heldout_documents: int | None = None
    train_documents: int | None = None
    invariant_ok: bool | None = None
    wall_seconds: float | None = None
    mb_per_second: float | None = None
    preset: Any = None
    steps: Any = None
    dedup: Any = None
    max_tokens: int | None = None


@dataclass
class TokenizerMetrics(StageMetrics):
    REQUIRED = ("method", "base_vocab_size", "vocab_size", "added_tokens")
    # a tokenizer-only extension (no weights) has no init and no bits/char; by-source figures need held-out text
    OPTIONAL = ("init", "bpc_before", "bpc_after_init", "heldout_source_languages", "tokens_per_char_by_source_before",
                "tokens_per_char_by_source_after", "bpc_by_source_before", "bpc_by_source_after_init")
    method: str | None = None
    base_vocab_size: int | None = None
    vocab_size: int | None = None
    added_tokens: int | None = None
    init: str | None = None
    tokens_per_char_before: dict[str, float] | None = None
    tokens_per_char_after: dict[str, float] | None = None
    bpc_before: dict[str, float] | None = None
    bpc_after_init: dict[str, float] | None = None
    heldout_source_languages: dict[str, str] | None = None
    tokens_per_char_by_source_before: dict[str, float] | None = None
    tokens_per_char_by_source_after: dict[str, float] | None = None
    bpc_by_source_before: dict[str, float] | None = None
    bpc_by_source_after_init: dict[str, float] | None = None


@dataclass
class TrainMetrics(StageMetrics):
    REQUIRED = ("method",)
    method: str | None = None
    global_step: int | None = None
    train_loss: float | None = None
    eval_loss: float | None = None
    eval_loss_start: float | None = None
    train_runtime_s: float | None = None
    train_samples_per_second: float | None = None
    train_steps_per_second: float | None = None
    train_tokens_per_second: float | None = None
    total_flos: float | None = None
    peak_memory_mb: float | None = None
    hardware: str | None = None
    num_parameters: int | None = None
    trainable_parameters: int | None = None
    hyperparameters: dict[str, Any] | None = None
    data: dict[str, Any] | None = None


@dataclass
class EvalMetrics(StageMetrics):
    REQUIRED = ("bpc", "tasks")
    OPTIONAL = ("heldout_bpc", "heldout_bpc_by_source", "heldout_sources", "heldout_bpc_average")
    bpc: dict[str, dict[str, float]] | None = None
    bpb: dict[str, dict[str, float]] | None = None
    bpc_task: str | None = None
    tasks: dict[str, dict[str, dict[str, float]]] | None = None
    bpc_by_task: dict[str, dict[str, dict[str, float]]] | None = None
    heldout_bpc: dict[str, dict[str, float]] | None = None
    heldout_bpc_by_source: dict[str, dict[str, float]] | None = None
    heldout_sources: dict[str, dict[str, Any]] | None = None
    heldout_bpc_average: str | None = None
    models: dict[str, str] | None = None


@dataclass
class ExportMetrics(StageMetrics):
    REQUIRED = ("version",)
    version: str | None = None
    source_reason: str | None = None
    source_stage: str | None = None
    """The training stage whose model was exported (its merged adapter when it has one)."""
    dtype: str | None = None
    merged: bool | None = None
    format: str | None = None
    weights_bytes: int | None = None
    num_parameters: int | None = None
    vocab_size: int | None = None
    source_model: str | None = None
    adapter: str | None = None
