"""Init `calibrated`: the mean, then each row's output side ridge-fitted to the base model's
probability of the piece's spelling (tokenizer/calibrate.py, which holds the algorithm and says why).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from langadapt.tokenizer.calibrate import calibrate_rows
from langadapt.tokenizer.inits.mean import Mean

if TYPE_CHECKING:
    from langadapt.config.tokenizer import TokenizerConfig


class Calibrated(Mean):
    name = "calibrated"
    needs_text = True

    def fit_settings(self, cfg: "TokenizerConfig") -> dict:
        return {"ridge": cfg.calibration_ridge}

    def fit(self, model: Any, decomp: Sequence[Sequence[int]], first_id: int, **inputs: Any) -> dict:
        return calibrate_rows(model, list(map(list, decomp)), first_id, **inputs)


CALIBRATED = Calibrated()  # the registered instance (`langadapt.tokenizer.inits`)
