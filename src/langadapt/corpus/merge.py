"""`langadapt clean merge`: join the outputs of `--shard i/N` jobs into one cleaned corpus.

Use: `merge([Path("part0"), Path("part1")], Path("data/clean"))`. Shards were deduplicated only
within themselves, so documents are read back in shard order and deduplicated once more across
shards (exact and MinHash, with the shards' own settings); cross-shard duplicates go to the merged
rejects.jsonl with step `merge_dedup`, so `input = kept + rejected` still holds over the whole input.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
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
    deduper = Deduper(cfg.dedup)
    shards = ShardWriter(tmp / "corpus", cfg.output_format, cfg.shard_size)
    heldout = JsonlWriter(tmp / "heldout.jsonl")
    rejects = JsonlWriter(tmp / "rejects.jsonl")
    ordinal = 0
    try:
        for folder in shard_dirs:
            with (folder / "rejects.jsonl").open(encoding="utf-8") as fh:
                for line in fh:
                    rejects.write_ledger(json.loads(line))
        with tqdm(desc="merge", unit="doc", disable=not progress) as bar:
            for folder in shard_dirs:
                for held, rows in ((False, read_shards(folder / "corpus")), (True, _jsonl(folder / "heldout.jsonl"))):
                    for row in rows:
                        doc = Document(row["text"], row["id"], row["source"], row["language"], row["role"], row.get("meta") or {})
                        doc.digest = digest_text(doc.text)
                        signer.sign([doc])
                        dup = deduper.check(doc)
                        if dup is not None:
                            rej = Reject(ordinal, doc.source, doc.id, "merge_dedup", dup[0], dup[1], row)
                            rejects.write_ledger(rej.ledger())
                            _unkeep(merged, doc, held, signer if tokenizer and merged.tokens_counted else None, dup[0])
                        else:
                            (heldout.write if held else shards.write)(row)
                        ordinal += 1
                        bar.update(1)
        shards.close()
        heldout.close()
        rejects.close()
        data = merged.to_dict()
        wall = time.perf_counter() - start
        data.update({"wall_seconds": round(wall, 3), "merged_from": [str(d) for d in shard_dirs],
                     "shard": None, "tokenizer": tokenizer, "config": cfg.model_dump(mode="json"),
                     "presets": all_stats[0].get("presets"), "steps": all_stats[0].get("steps"),
                     "shard_files": [p.name for p in shards.files]})
        write_report(data, tmp)
        write_json(tmp / "stats.json", data)
        publish(tmp, out_dir, OUTPUTS)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return data


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
