"""`langadapt pretrain`, `langadapt sft`, `langadapt plan` (not built yet)."""

from __future__ import annotations

from langadapt.cli.common import not_built


def register(sub) -> None:
    for cmd, help_text in (("pretrain", "Continual pretraining (full, LoRA, QLoRA, embeddings)."),
                           ("sft", "Instruction tuning on Alpaca, ShareGPT or messages data."),
                           ("plan", "Estimate memory and time per stage for a GPU.")):
        p = sub.add_parser(cmd, help=help_text, description=help_text)
        p.set_defaults(func=not_built(cmd))
