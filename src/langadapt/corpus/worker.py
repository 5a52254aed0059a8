"""The per-record work: decode, parse, extract text, normalise, filter, count tokens, sign for dedup.

Runs in worker processes (or inline with one worker). Use: `Worker(setup).process(chunk)` returns a
`ChunkResult` whose outcomes are in the chunk's order, one `Document` or `Reject` per raw record.

No record can stop the run: what the JSON parser refuses (an integer of thousands of digits, nesting
deeper than the recursion limit), text that cannot be written as UTF-8 (a lone surrogate from a `\ud800`
escape) and any error a normaliser or filter raises on one record each become that record's reject
with the reason, so `input = kept + rejected` holds whatever the input.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from langadapt.config.clean import CleanConfig
from langadapt.corpus.document import Document, RawRecord, Reject
from langadapt.corpus import filters, normalize
from langadapt.corpus.filters import FilterContext
from langadapt.corpus.minhash import MinHasher
from langadapt.corpus.presets import PRESETS
from langadapt.corpus.readers import Source
from langadapt.models import load_tokenizer


@dataclass
class CorpusPlan:
    """What runs on one corpus: its preset and the resolved normaliser and filter names."""

    preset: str
    normalizers: list[str]
    filters: list[str]


@dataclass
class WorkerSetup:
    sources: list[Source]
    plans: list[CorpusPlan]
    cfg: CleanConfig
    tokenizer: str | None


@dataclass
class ChunkResult:
    outcomes: list[Any]
    seconds: Counter = field(default_factory=Counter)
    changed: Counter = field(default_factory=Counter)
    bytes_in: int = 0


class _Missing(KeyError):
    pass


class _Fields(dict):
    """format_map mapping: lists join with newlines, a missing field raises a catchable error."""

    def __missing__(self, key: str) -> Any:
        raise _Missing(key)

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        if isinstance(value, list):
            return "\n".join(str(v) for v in value)
        return value


class Worker:
    def __init__(self, setup: WorkerSetup):
        self.setup = setup
        self.cfg = setup.cfg
        self._tokenizer = None
        self._steps: dict[int, tuple[list, list]] = {}
        self._minhasher = None
        self.load_seconds = 0.0

    # -- set-up, lazily so that a worker only builds what its records need --
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            t0 = time.perf_counter()
            self._tokenizer = load_tokenizer(self.setup.tokenizer)
            self.load_seconds = time.perf_counter() - t0
        return self._tokenizer

    def steps(self, corpus: int) -> tuple[list, list]:
        if corpus not in self._steps:
            plan = self.setup.plans[corpus]
            loader = self.tokenizer if self.setup.tokenizer else None
            self._steps[corpus] = (normalize.build(plan.normalizers, self.cfg),
                                   filters.build(plan.filters, FilterContext(self.cfg, PRESETS[plan.preset], loader)))
        return self._steps[corpus]

    # -- record to document --
    def extract(self, rec: RawRecord) -> Document | Reject:
        src = self.setup.sources[rec.corpus]
        spec = src.spec

        def reject(step: str, reason: str, detail: str, record: Any = None, record_bytes: bytes | None = None, **extra: Any) -> Reject:
            return Reject(rec.ordinal, src.name, rec.origin, step, reason, detail, record, record_bytes, extra)

        if rec.reject is not None:
            return reject("read", rec.reject[0], rec.reject[1], bytes=rec.size, sha256=rec.sha256,
                          head_base64=base64.b64encode(rec.head).decode("ascii"))
        data = rec.data
        if isinstance(data, bytes):
            try:
                raw: Any = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                return reject("read", "invalid_utf8", f"{exc.reason} at byte {exc.start}", record_bytes=data)
            if rec.kind == "json":
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError as exc:
                    return reject("parse", "invalid_json", f"{exc.msg} at line {exc.lineno} column {exc.colno}", raw)
                except RecursionError:
                    return reject("parse", "invalid_json", "nested too deeply to parse", raw)
                except ValueError as exc:  # e.g. an integer longer than sys.get_int_max_str_digits()
                    return reject("parse", "invalid_json", str(exc).split(";")[0], raw)
            else:
                row = None
        else:
            raw, row = data, data
        if isinstance(row, dict) and "__not_an_object__" in row and len(row) == 1:
            raw, row = row["__not_an_object__"], [row["__not_an_object__"]]
        meta: dict[str, Any] = {}
        if row is None:
            text = raw
        elif not isinstance(row, dict):
            return reject("parse", "not_an_object", f"expected a JSON object, got {type(row).__name__}", raw)
        elif spec.template is not None:
            try:
                text = spec.template.format_map(_Fields(row))
            except _Missing as exc:
                return reject("parse", "missing_field", f"template field {exc.args[0]!r} missing", raw)
            except (ValueError, IndexError, AttributeError) as exc:
                return reject("parse", "bad_template", str(exc), raw)
            # Fields the template folded into the text are not repeated; scalars (author, title) stay as metadata.
            meta = {k: v for k, v in row.items() if not (isinstance(v, (list, dict)) and "{" + k in spec.template)}
        else:
            if spec.text_field not in row or row[spec.text_field] is None:
                return reject("parse", "missing_field", f"field {spec.text_field!r} missing", raw)
            value = row[spec.text_field]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = "\n".join(value)
            if not isinstance(value, str):
                return reject("parse", "bad_field_type", f"field {spec.text_field!r} is {type(value).__name__}, not text", raw)
            text = value
            meta = {k: v for k, v in row.items() if k != spec.text_field}
        if not text.strip():
            return reject("parse", "empty", "no text", raw)
        problem = _unwritable(text, meta)
        if problem:
            return reject("parse", "unencodable", problem, raw)
        return Document(text=text, id=f"{src.name}:{rec.origin}", source=src.name, language=src.language,
                        role=spec.role, meta=meta, ordinal=rec.ordinal, origin=rec.origin, raw=raw, chars_in=len(text))

    def process(self, chunk: list[RawRecord]) -> ChunkResult:
        result = ChunkResult(outcomes=[])
        clock = time.perf_counter
        pending: dict[int, list[int]] = {}
        for rec in chunk:
            t0 = clock()
            try:
                out = self.extract(rec)
            except Exception as exc:  # one record's surprise must not cost the other records of the run
                out = self._failed(rec, "parse", exc)
            result.seconds["read"] += clock() - t0
            result.bytes_in += rec.size or (len(out.text.encode("utf-8")) if isinstance(out, Document) else 0)
            if isinstance(out, Document):
                try:
                    out = self.normalise_and_filter(out, result)
                except Exception as exc:
                    out = self._rejected(out, "normalize", (False, "step_error", _describe(exc)))
            if isinstance(out, Document) and any(f.batched for f in self.steps(rec.corpus)[1]):
                pending.setdefault(rec.corpus, []).append(len(result.outcomes))
            result.outcomes.append(out)
        for corpus, positions in pending.items():
            for flt in (f for f in self.steps(corpus)[1] if f.batched):
                positions = [p for p in positions if isinstance(result.outcomes[p], Document)]
                t0 = clock()
                verdicts, counts = self._check_batch(flt, [result.outcomes[p].text for p in positions])
                result.seconds[flt.name] += clock() - t0
                for p, verdict, n in zip(positions, verdicts, counts):
                    doc = result.outcomes[p]
                    doc.tokens = n if isinstance(n, int) else None
                    if verdict is not True:
                        result.outcomes[p] = self._rejected(doc, flt.name, verdict)
        # Loading the tokenizer is set-up, not per-document work: report it apart from the token filter.
        result.seconds["load_tokenizer"] += self.load_seconds
        result.seconds["tokens"] -= self.load_seconds
        self.load_seconds = 0.0
        t0 = clock()
        self.sign([doc for doc in result.outcomes if isinstance(doc, Document)])
        result.seconds["dedup_signature"] += clock() - t0
        return result

    def normalise_and_filter(self, doc: Document, result: ChunkResult) -> Document | Reject:
        normalizers, filters = self.steps(self._corpus_of(doc))
        clock = time.perf_counter
        text = doc.text
        for name, func in normalizers:
            t0 = clock()
            new = func(text)
            result.seconds[name] += clock() - t0
            if new != text:
                result.changed[name] += 1
            text = new
        doc.text = text
        if not text:
            return self._rejected(doc, "normalize", (False, "empty", "nothing left after normalising"))
        for flt in filters:
            if flt.batched:
                continue
            t0 = clock()
            verdict = flt(text)
            result.seconds[flt.name] += clock() - t0
            if verdict is not True:
                return self._rejected(doc, flt.name, verdict)
        return doc

    @staticmethod
    def _check_batch(flt: Any, texts: list[str]) -> tuple[list, list]:
        """A batched filter's verdicts; when the batch raises, each text alone, so only the one at fault is rejected."""
        try:
            return flt.check_batch(texts)
        except Exception:
            verdicts, counts = [], []
            for text in texts:
                try:
                    v, c = flt.check_batch([text])
                    verdicts.append(v[0])
                    counts.append(c[0])
                except Exception as exc:
                    verdicts.append((False, "step_error", _describe(exc)))
                    counts.append(None)
            return verdicts, counts

    def _failed(self, rec: RawRecord, step: str, exc: Exception) -> Reject:
        name = self.setup.sources[rec.corpus].name if rec.corpus < len(self.setup.sources) else ""
        record, record_bytes = (None, rec.data) if isinstance(rec.data, bytes) else (rec.data, None)
        return Reject(rec.ordinal, name, rec.origin, step, "step_error", _describe(exc), record, record_bytes)

    def _corpus_of(self, doc: Document) -> int:
        return self._corpus_index[doc.source]

    @property
    def _corpus_index(self) -> dict[str, int]:
        if not hasattr(self, "_names"):
            self._names = {src.name: i for i, src in enumerate(self.setup.sources)}
        return self._names

    @staticmethod
    def _rejected(doc: Document, step: str, verdict: Any) -> Reject:
        reason = verdict[1] if len(verdict) > 1 else step
        detail = verdict[2] if len(verdict) > 2 else ""
        return Reject(doc.ordinal, doc.source, doc.origin, step, reason, detail, doc.raw,
                      extra={"chars_in": doc.chars_in, **({"tokens": doc.tokens} if doc.tokens is not None else {})})

    def sign(self, docs: list[Document]) -> None:
        """Exact hash always (dedup and held-out split use it); MinHash signatures, one numpy pass per chunk, when near-dedup is on."""
        for doc in docs:
            doc.digest = hashlib.blake2b(doc.text.encode("utf-8"), digest_size=16).digest()
        dd = self.cfg.dedup
        if not dd.near or not docs:
            return
        if self._minhasher is None:
            self._minhasher = MinHasher(num_perm=dd.num_perm, ngram=dd.ngram, seed=1)
        for doc, signature in zip(docs, self._minhasher.signatures([doc.text for doc in docs])):
            doc.minhash = signature


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def _unwritable(text: str, meta: dict[str, Any]) -> str:
    """Why this text or metadata cannot be written as UTF-8 JSON, or '' when it can."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"text is not valid Unicode: lone surrogate U+{ord(text[exc.start]):04X} at character {exc.start}"
    if not meta:
        return ""
    try:
        json.dumps(meta, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError as exc:
        return "metadata is not valid Unicode: it holds a lone surrogate"
    except (ValueError, TypeError, RecursionError) as exc:
        return f"metadata cannot be written as JSON: {_describe(exc)}"
    return ""
