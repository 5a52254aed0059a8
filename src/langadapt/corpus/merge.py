"""`langadapt clean merge`: join the outputs of `--shard i/N` jobs into one cleaned corpus.

Use: `merge([Path("part0"), Path("part1")], Path("data/clean"))`. The shards did not deduplicate
(pipeline.py says why), and every document they kept carries its input `ordinal`; the merge reads
the shards' documents (corpus and held-out) back interleaved in input order and deduplicates them
with the shards' own settings, so it keeps exactly the documents, in the order, that an unsharded
run keeps. A duplicate goes to the merged rejects.jsonl with step `merge_dedup` and the cleaned
row as its record, and the ledger is written in input order, so `input = kept + rejected` holds over
the whole input. Memory: one row per shard in flight plus the dedup index (see dedup.py).
"""

from __future__ import annotations

import heapq
import json
import shutil
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

from langadapt.atomic import write_json
from langadapt.config.clean import CleanConfig
from langadapt.corpus.dedup import Deduper
from langadapt.corpus.document import Document, Reject
from langadapt.corpus.pipeline import OUTPUTS, digest_text
from langadapt.corpus.report import CleanStats, length_bin, write_report
from langadapt.corpus.shardcheck import check_shards
from langadapt.corpus.worker import Worker, WorkerSetup
from langadapt.corpus.writers import JsonlWriter, ShardWriter, publish, read_shards
from langadapt.errors import UserError


def _load_stats(folder: Path) -> dict[str, Any]:
    path = folder / "stats.json"
    if not path.is_file():
        raise UserError(f"{folder}: no stats.json, so not a finished `langadapt clean` output")
    return json.loads(path.read_text(encoding="utf-8"))


def merge(shard_dirs: list[Path], out_dir: Path, progress: bool = True) -> dict[str, Any]:
    from tqdm import tqdm

    all_stats = [_load_stats(d) for d in shard_dirs]
    check_shards(shard_dirs, all_stats)
    old = [str(d) for d, s in zip(shard_dirs, all_stats) if not s.get("dedup_deferred")]
    if old:
        raise UserError(f"clean merge: {', '.join(old)} deduplicated within the shard (made by an older langadapt), "
                        "so the merge cannot give what an unsharded run keeps: re-run those shards")
    cfg = CleanConfig.model_validate(all_stats[0]["config"])
    tokenizer = all_stats[0].get("tokenizer")
    start = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".merge-tmp-", dir=out_dir))
    merged = CleanStats()
    for s in all_stats:
        merged.merge(CleanStats.from_dict(s))
    # A cross-shard duplicate moves from kept to rejected: documents_in never changes.
    signer = Worker(WorkerSetup([], [], cfg, tokenizer))
    deduper = Deduper(cfg.dedup, scratch=tmp)
    shards = ShardWriter(tmp / "corpus", cfg.output_format, cfg.shard_size)
    heldout = JsonlWriter(tmp / "heldout.jsonl")
    dup_ledger = JsonlWriter(tmp / "merge-dedup.jsonl")
    try:
        # Each shard's corpus and held-out rows are each in input order; interleaving them all by ordinal
        # gives the input order of every document that passed the filters.
        streams = [_tagged(rows, held) for folder in shard_dirs
                   for held, rows in ((False, read_shards(folder / "corpus")), (True, _jsonl(folder / "heldout.jsonl")))]
        ordered = heapq.merge(*streams, key=lambda item: item[0])
        with tqdm(desc="merge", unit="doc", disable=not progress) as bar:
            while batch := list(islice(ordered, cfg.chunk_size)):
                docs = []
                for _, _, row in batch:
                    doc = Document(row["text"], row["id"], row["source"], row["language"], row["role"], row.get("meta") or {})
                    doc.digest = digest_text(doc.text)
                    docs.append(doc)
                t0 = time.perf_counter()
                signer.sign(docs)
                verdicts = deduper.check_many(docs)
                merged.step_seconds["merge_dedup"] += time.perf_counter() - t0
                for (ordinal, held, row), doc, dup in zip(batch, docs, verdicts):
                    del row["ordinal"]
                    if dup is not None:
                        rej = Reject(ordinal, doc.source, doc.id, "merge_dedup", dup[0], dup[1], row)
                        dup_ledger.write_ledger(rej.ledger())
                        _unkeep(merged, doc, held, signer if tokenizer and merged.tokens_counted else None, dup[0])
                    else:
                        (heldout.write if held else shards.write)(row)
                bar.update(len(batch))
        deduper.close()
        shards.close()
        heldout.close()
        dup_ledger.close()
        _write_rejects(tmp / "rejects.jsonl", [d / "rejects.jsonl" for d in shard_dirs] + [tmp / "merge-dedup.jsonl"])
        (tmp / "merge-dedup.jsonl").unlink()
        data = merged.to_dict()
        wall = time.perf_counter() - start
        data.update({"wall_seconds": round(wall, 3), "merged_from": [str(d) for d in shard_dirs],
                     "shard": None, "dedup_deferred": False, "tokenizer": tokenizer,
                     "config": cfg.model_dump(mode="json"),
                     "presets": all_stats[0].get("presets"), "steps": all_stats[0].get("steps"),
                     "shard_files": [p.name for p in shards.files]})
        write_report(data, tmp)
        write_json(tmp / "stats.json", data)
        publish(tmp, out_dir, OUTPUTS)
    except BaseException:
        deduper.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return data


def _tagged(rows, held: bool):
    for row in rows:
        yield row["ordinal"], held, row


def _write_rejects(path: Path, ledgers: list[Path]) -> None:
    """One ledger in input order from ledgers that are each in input order."""
    out = JsonlWriter(path)
    streams = [((entry["ordinal"], entry) for entry in _jsonl(p)) for p in ledgers]
    for _, entry in heapq.merge(*streams, key=lambda item: item[0]):
        out.write_ledger(entry)
    out.close()


def _unkeep(stats: CleanStats, doc: Document, held: bool, signer: Worker | None, reason: str) -> None:
    tokens = len(signer.tokenizer().backend_tokenizer.encode(doc.text, add_special_tokens=False).ids) if signer else 0
    c = stats.corpus(doc.source)
    for counts in (stats, c):
        counts.documents_kept -= 1
        counts.documents_rejected += 1
        counts.heldout_documents -= int(held)
        counts.chars_out -= len(doc.text)
        counts.tokens_out -= tokens
    stats.rejects_by_reason[reason] += 1
    stats.rejects_by_step["merge_dedup"] += 1
    stats.length_bins[length_bin(len(doc.text))] -= 1


def _jsonl(path: Path):
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                yield json.loads(line)
