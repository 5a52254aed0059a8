"""Energy and CO2 estimate of training: measured device-hours x board power (TDP) x grid carbon intensity.

    estimate(hours=500, hardware="Tesla V100-SXM2-32GB", devices=1, grid_kg_per_kwh=0.432)
    -> {"device_hours": 500, "tdp_w": 300, "energy_kwh": 150.0, "co2_kg": 64.8, ...}

This is the Machine Learning Impact calculator's method (Lacoste et al., 2019): an upper bound that
assumes every device draws its full TDP for the whole run.
"""

from __future__ import annotations

import re

# Board power in watts of common training devices (vendor data sheets), matched as substrings of
# the hardware name the training stage records. Longer keys are tried first.
TDP_WATTS = {
    "h200": 700, "h100 pcie": 350, "h100": 700, "gh200": 900, "b200": 1000,
    "a100 pcie": 250, "a100-pcie": 250, "a100": 400, "a800": 400, "a6000": 300, "a40": 300, "a30": 165, "a10g": 150, "a10": 150,
    "l40s": 350, "l40": 300, "l4": 72, "v100": 300, "t4": 70, "p100": 250,
    "rtx 4090": 450, "rtx 3090": 350, "rtx 4080": 320, "rtx 3080": 320,
    "mi300x": 750, "mi250": 500,
}


def device_tdp(hardware: str | None) -> int | None:
    if not hardware:
        return None
    name = hardware.lower()
    for key in sorted(TDP_WATTS, key=len, reverse=True):
        if key in name:
            return TDP_WATTS[key]
    return None


def device_count(hardware: str | None) -> int:
    """`2 x NVIDIA A100`, `NVIDIA A100 x2` -> 2; one device otherwise."""
    if hardware:
        found = re.search(r"(\d+)\s*[x×]\s*\D|[x×]\s*(\d+)\b", hardware)
        if found:
            return int(found.group(1) or found.group(2))
    return 1


def estimate(hours: float, hardware: str | None, grid_kg_per_kwh: float | None,
             tdp_w: float | None = None, devices: int | None = None) -> dict | None:
    """None when the device's power is unknown (e.g. CPU runs without an explicit `tdp_w`)."""
    tdp = tdp_w or device_tdp(hardware)
    if tdp is None or hours <= 0:
        return None
    count = devices or device_count(hardware)
    device_hours = hours * count
    energy = device_hours * tdp / 1000.0
    out = {"hardware": hardware, "devices": count, "device_hours": device_hours, "tdp_w": tdp, "energy_kwh": energy}
    if grid_kg_per_kwh is not None:
        out["grid_kg_per_kwh"] = grid_kg_per_kwh
        out["co2_kg"] = energy * grid_kg_per_kwh
    return out
