"""Continual pretraining and instruction tuning: `langadapt pretrain`, `langadapt sft`, `langadapt plan`."""
