"""Small statistics and timing helpers shared by the benchmark modules."""

from __future__ import annotations

import os
import statistics


def median(values) -> float:
    values = [float(v) for v in values]
    return statistics.median(values) if values else float("nan")


def percentile(values, q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in 0..100."""
    import numpy as np  # lazily: the cold-start probe imports this module before timing

    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def cpu_pressure() -> str:
    """Linux PSI line 'some avg10=.. avg60=..': share of time runnable tasks waited for a CPU."""
    try:
        return open("/proc/pressure/cpu").readline().strip()
    except OSError:
        return ""
