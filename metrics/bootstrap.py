"""Bootstrap 95% intervals with a fixed seed (PROTOCOL.md, Statistics).

Per-clip metrics resample clips with replacement (1000 resamples by default). A metric that is a ratio
of sums over clips (e.g. onset hits / reference onsets) passes its per-clip numerators and
denominators, so each resample recomputes the ratio rather than averaging per-clip ratios.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def bootstrap_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """``[resamples, n]`` clip indices drawn with replacement from a seeded generator."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(resamples, n))


def percentile_interval(values: np.ndarray) -> tuple[float, float] | None:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def mean_interval(per_clip: np.ndarray, resamples: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """Interval of the mean of per-clip values."""
    per_clip = np.asarray(per_clip, dtype=np.float64)
    if per_clip.size == 0:
        return None
    idx = bootstrap_indices(per_clip.size, resamples, seed)
    return percentile_interval(per_clip[idx].mean(axis=1))


def ratio_interval(
    numerators: np.ndarray, denominators: np.ndarray, resamples: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """Interval of sum(numerators) / sum(denominators) over resampled clips."""
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)
    if num.size == 0:
        return None
    idx = bootstrap_indices(num.size, resamples, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = num[idx].sum(axis=1) / den[idx].sum(axis=1)
    return percentile_interval(ratios)


def statistic_interval(
    n: int, statistic: Callable[[np.ndarray], float], resamples: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """Interval of an arbitrary statistic of a resampled index set (slower; for pooled statistics)."""
    if n == 0:
        return None
    idx = bootstrap_indices(n, resamples, seed)
    return percentile_interval(np.array([statistic(row) for row in idx], dtype=np.float64))
