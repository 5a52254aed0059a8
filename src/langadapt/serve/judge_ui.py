"""Blind side-by-side judging in the browser: `langadapt webui --judge PAIRS.jsonl [--judge-out choices.jsonl]`.

Each page shows one prompt and two models' answers as "A" and "B" in an order drawn per item (from
the seed and the item id, so a reload shows the same order); the person picks A, B or tie and may
say why. Every choice is appended to the output JSONL at once (flushed and fsynced) with the model
names put back, ready for `langadapt eval --human choices.jsonl --judge-results results.json`.

PAIRS.jsonl: one {"id", "prompt", "answers": {"model-1": "...", "model-2": "..."}} per line, or an
eval results.json, whose generation answers are paired like the LLM judge pairs them.
"""

from __future__ import annotations

import json
import os
import random
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from langadapt.errors import UserError

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def pairs_from_results(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Pairs from eval results: each later model's generation answers against the first model's."""
    labels = list(results.get("models") or [])
    pairs = []
    for task, entry in (results.get("tasks") or {}).items():
        if entry.get("kind") != "generation" or len(labels) < 2:
            continue
        base = entry["examples"][labels[0]]
        for label in labels[1:]:
            for i, (mine, theirs) in enumerate(zip(entry["examples"][label], base)):
                pairs.append({"id": f"{task}/{mine.get('id', i)}", "prompt": mine["prompt"],
                              "answers": {label: mine["prediction"], labels[0]: theirs["prediction"]}})
    return pairs


def load_pairs(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such pairs file")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        pairs = pairs_from_results(json.loads(text))
    else:
        pairs = [json.loads(line) for line in text.splitlines() if line.strip()]
    for n, pair in enumerate(pairs, 1):
        answers = pair.get("answers")
        if not isinstance(answers, dict) or len(answers) != 2 or "prompt" not in pair:
            raise UserError(f"{path}: item {n} needs `prompt` and `answers` with exactly two models")
        pair.setdefault("id", str(n))
    if not pairs:
        raise UserError(f"{path}: no pairs to judge")
    return pairs


def shown_order(pair: dict[str, Any], seed: int) -> list[str]:
    """[model shown as A, model shown as B]: a coin flip per item, the same on every reload."""
    models = sorted(pair["answers"])
    if random.Random(f"{seed}:{pair['id']}").random() < 0.5:
        models.reverse()
    return models


class Ledger:
    """The choices file: appended one line per choice; remembers who judged what so each person resumes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: set[tuple[str, str]] = set()
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip().endswith("}"):
                    row = json.loads(line)
                    self.done.add((row.get("rater") or "", str(row["id"])))
        self._lock = threading.Lock()

    def append(self, row: dict[str, Any]) -> None:
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            self.done.add((row.get("rater") or "", str(row["id"])))


def build_judge_app(pairs: list[dict[str, Any]], out_path: str | Path, seed: int = 0):
    import gradio as gr

    ledger = Ledger(out_path)

    def next_index(rater: str) -> int:
        for i, pair in enumerate(pairs):
            if (rater or "", str(pair["id"])) not in ledger.done:
                return i
        return len(pairs)

    def view(i: int, rater: str):
        judged = sum((rater or "", str(p["id"])) in ledger.done for p in pairs)
        progress = f"**{judged} of {len(pairs)} judged**"
        if i >= len(pairs):
            return i, progress + " · all done, thank you.", "", "", ""
        pair = pairs[i]
        a, b = shown_order(pair, seed)
        return i, progress, pair["prompt"], pair["answers"][a], pair["answers"][b]

    def choose(choice: str):
        def handler(i: int, rater: str, reason: str):
            if i is not None and i < len(pairs):
                pair = pairs[i]
                a, b = shown_order(pair, seed)
                ledger.append({"id": str(pair["id"]), "prompt": pair["prompt"], "shown": {"A": a, "B": b},
                               "choice": choice, "winner": {"A": a, "B": b}.get(choice, "tie"),
                               "models": sorted(pair["answers"]), "reason": (reason or "").strip(),
                               "rater": (rater or "").strip(),
                               "time": datetime.now(timezone.utc).isoformat(timespec="seconds")})
            return (*view(next_index(rater), rater), "")
        return handler

    with gr.Blocks(title="langadapt blind judging") as demo:
        gr.Markdown("### Which answer is better?\nThe two answers come from different models, in random order. "
                    "Pick the one that serves the request better, or tie.")
        index = gr.State(None)
        rater = gr.Textbox(label="Your name (optional; keeps your progress apart from others')", elem_id="rater")
        progress = gr.Markdown(elem_id="progress")
        gr.Markdown("**Request**")
        prompt = gr.Markdown(elem_id="prompt")
        with gr.Row():
            with gr.Column():
                gr.Markdown("**Answer A**")
                answer_a = gr.Markdown(elem_id="answer-a")
            with gr.Column():
                gr.Markdown("**Answer B**")
                answer_b = gr.Markdown(elem_id="answer-b")
        reason = gr.Textbox(label="Why? (optional)", elem_id="reason")
        with gr.Row():
            buttons = {"A": gr.Button("A is better", elem_id="choose-a"),
                       "tie": gr.Button("Tie", elem_id="choose-tie"),
                       "B": gr.Button("B is better", elem_id="choose-b")}
        shown = [index, progress, prompt, answer_a, answer_b]
        for choice, button in buttons.items():
            button.click(choose(choice), [index, rater, reason], [*shown, reason])
        rater.change(lambda r: view(next_index(r), r), rater, shown)
        demo.load(lambda r: view(next_index(r), r), rater, shown)
    return demo


def run_judge_ui(pairs_path: str | Path, out_path: str | Path, host: str = "127.0.0.1", port: int = 7860,
                 seed: int = 0) -> int:
    pairs = load_pairs(pairs_path)
    print(f"{len(pairs)} pairs from {pairs_path}; choices go to {out_path}", flush=True)
    build_judge_app(pairs, out_path, seed).queue().launch(server_name=host, server_port=port, share=False,
                                                          inbrowser=False)
    return 0
