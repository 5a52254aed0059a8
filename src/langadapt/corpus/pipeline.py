"""The cleaning stream: read -> (workers: parse, normalise, filter, sign) -> dedup -> split -> write.

Use: `clean(sources, plans, cfg, out_dir, tokenizer="smollm2-135m-instruct")` writes into `out_dir`:
corpus/ (shards), heldout.jsonl, rejects.jsonl, stats.json, report.md, length_histogram.png, and
returns the stats dict. Workers return results in input order, and the held-out split hashes the
text, so any number of workers (and a restart) gives the same files.

A `--shard i/N` run does not deduplicate: whether a document duplicates another can depend on
documents in every other shard (near duplicates are not transitive: C may be dropped for B only
because B was kept, and B's fate is decided by A in another shard). It writes every document that
passed the filters with its input `ordinal`, and `clean merge` deduplicates them all in input
order, exactly as an unsharded run does.

A dead worker (the out-of-memory killer, a signal) stops the run with an error naming how it ended,
and the output folder is left as it was. `multiprocessing.Pool` alone would start a new worker and
wait forever for the lost chunk, so results are awaited in short slices while the workers are
watched. (`concurrent.futures` notices a death itself, but on Python 3.11 its shutdown can then hang
on a full call queue; `Pool.terminate` drains that queue.)
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import signal
import sys
import tempfile
import time
from collections import deque
from itertools import islice
from pathlib import Path
from typing import Any, Iterator

from langadapt.atomic import write_json
from langadapt.config.clean import CleanConfig
from langadapt.corpus.dedup import Deduper
from langadapt.corpus.document import Document, RawRecord, Reject
from langadapt.corpus.readers import Source, read_corpora
from langadapt.corpus.report import CleanStats, write_report
from langadapt.corpus.worker import ChunkResult, CorpusPlan, Worker, WorkerSetup
from langadapt.corpus.writers import JsonlWriter, ShardWriter, UnwritableRecord, publish
from langadapt.errors import UserError

OUTPUTS = ["corpus", "heldout.jsonl", "rejects.jsonl", "report.md", "length_histogram.png", "stats.json"]


def is_heldout(digest: bytes, fraction: float) -> bool:
    return fraction > 0 and int.from_bytes(digest[:8], "big") / 2**64 < fraction


def _chunks(records: Iterator[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    while True:
        chunk = list(islice(records, size))
        if not chunk:
            return
        yield chunk


_WORKER: Worker | None = None


def _init_worker(setup: WorkerSetup) -> None:
    global _WORKER
    _WORKER = Worker(setup)


def _work(chunk: list[RawRecord]) -> ChunkResult:
    assert _WORKER is not None
    return _WORKER.process(chunk)


def _results(setup: WorkerSetup, chunks: Iterator[list[RawRecord]], workers: int) -> Iterator[ChunkResult]:
    """Chunk results in input order; at most 2 chunks per worker in flight so memory stays flat."""
    if workers <= 1:
        worker = Worker(setup)
        for chunk in chunks:
            yield worker.process(chunk)
        return
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    pool = mp.get_context(method).Pool(workers, initializer=_init_worker, initargs=(setup,))
    # Every worker the pool has started, from the first: it replaces a dead one silently, and the dead
    # one's Process object (with its exit code) is only found through this record.
    procs: dict = {p.pid: p for p in getattr(pool, "_pool", [])}
    pending: deque = deque()
    try:
        for chunk in chunks:
            pending.append(pool.apply_async(_work, (chunk,)))
            if len(pending) >= 2 * workers:
                yield _await(pending.popleft(), pool, procs)
        while pending:
            yield _await(pending.popleft(), pool, procs)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def _await(result: Any, pool: Any, procs: dict) -> ChunkResult:
    """The chunk's result; an error as soon as any worker has died, since its chunk would never come back."""
    while not result.ready():
        procs.update({p.pid: p for p in getattr(pool, "_pool", [])})
        dead = [p.exitcode for p in procs.values() if p.exitcode is not None]
        if dead:
            raise UserError(f"clean: a worker process died ({_exit_text(dead)}), so the run stopped; the output folder "
                            "was not changed. If it ran out of memory, rerun with fewer --workers or a smaller --chunk-size")
        result.wait(0.2)
    return result.get()


def _exit_text(codes: list[int]) -> str:
    code = codes[0]
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}" + (", as the out-of-memory killer does" if name == "SIGKILL" else "")
    return f"exit code {code}"


def _progress(enabled: bool):
    from tqdm import tqdm

    return tqdm(desc="clean", unit="doc", unit_scale=True, disable=not enabled, file=sys.stderr, mininterval=0.5)


def clean(sources: list[Source], plans: list[CorpusPlan], cfg: CleanConfig, out_dir: str | Path, *,
          tokenizer: str | None, shard: tuple[int, int] | None = None, progress: bool = True,
          extra_stats: dict[str, Any] | None = None) -> dict[str, Any]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".clean-tmp-", dir=out_dir))
    start = time.perf_counter()
    stats = CleanStats(tokens_counted=cfg.count_tokens or not tokenizer)
    # A shard leaves dedup to the merge, so its workers need no MinHash signatures.
    work_cfg = cfg.model_copy(update={"dedup": cfg.dedup.model_copy(update={"near": False})}) if shard else cfg
    setup = WorkerSetup(sources, plans, work_cfg, tokenizer)
    records: Iterator[RawRecord] = read_corpora(sources, cfg.max_record_bytes)
    if shard is not None:
        index, count = shard
        records = (r for r in records if r.ordinal % count == index)
    deduper = Deduper(cfg.dedup, scratch=tmp) if shard is None else None
    shards = ShardWriter(tmp / "corpus", cfg.output_format, cfg.shard_size)
    heldout = JsonlWriter(tmp / "heldout.jsonl")
    rejects = JsonlWriter(tmp / "rejects.jsonl")
    bar = _progress(progress)
    try:
        for result in _results(setup, _chunks(records, cfg.chunk_size), cfg.workers):
            stats.step_seconds.update(result.seconds)
            stats.changed_by.update(result.changed)
            stats.bytes_in += result.bytes_in
            t0 = time.perf_counter()
            docs = [out for out in result.outcomes if isinstance(out, Document)]
            verdicts = iter(deduper.check_many(docs) if deduper else [None] * len(docs))
            for out in result.outcomes:
                if isinstance(out, Document):
                    dup = next(verdicts)
                    if dup is not None:
                        out = Reject(out.ordinal, out.source, out.origin, "dedup", dup[0], dup[1], out.raw,
                                     extra={"chars_in": out.chars_in})
                if isinstance(out, Document):
                    held = is_heldout(out.digest, cfg.heldout_fraction)
                    row = out.output() if shard is None else {**out.output(), "ordinal": out.ordinal}
                    try:
                        (heldout.write if held else shards.write)(row)
                    except UnwritableRecord as exc:
                        out = Reject(out.ordinal, out.source, out.origin, "write", "unencodable", str(exc), out.raw,
                                     extra={"chars_in": out.chars_in})
                    else:
                        stats.add_kept(out.source, out.chars_in, len(out.text), out.tokens, held)
                        continue
                rejects.write_ledger(out.ledger())
                stats.add_reject(out.source, out.step, out.reason, out.extra.get("chars_in", 0))
            stats.step_seconds["dedup"] += time.perf_counter() - t0
            bar.update(len(result.outcomes))
            elapsed = max(time.perf_counter() - start, 1e-9)
            bar.set_postfix_str(f"{stats.bytes_in / elapsed / 1e6:.2f} MB/s, kept {stats.documents_kept:,}", refresh=False)
        bar.close()
        if deduper:
            deduper.close()
        shards.close()
        heldout.close()
        rejects.close()
        data = stats.to_dict()
        wall = time.perf_counter() - start
        data.update({
            "wall_seconds": round(wall, 3),
            "mb_per_second": round(stats.bytes_in / max(wall, 1e-9) / 1e6, 3),
            "docs_per_second": round(stats.documents_in / max(wall, 1e-9), 1),
            "workers": cfg.workers,
            "shard": f"{shard[0]}/{shard[1]}" if shard else None,
            "dedup_deferred": shard is not None,
            "tokenizer": tokenizer,
            "presets": {src.name: plan.preset for src, plan in zip(sources, plans)},
            "steps": {src.name: plan.normalizers + plan.filters for src, plan in zip(sources, plans)},
            "config": cfg.model_dump(mode="json"),
            "shard_files": [p.name for p in shards.files],
        })
        if extra_stats:
            data.update(extra_stats)
        write_report(data, tmp)
        write_json(tmp / "stats.json", data)
        publish(tmp, out_dir, OUTPUTS)
    except BaseException:
        bar.close()
        if deduper:
            deduper.close()
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return data


def digest_text(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()
