"""Bootstrap 95% intervals with a fixed seed (PROTOCOL.md, Statistics).

Per-clip metrics resample clips with replacement (1000 resamples by default). A metric that is a ratio
of sums over clips (e.g. onset hits / reference onsets) passes its per-clip numerators and
denominators, so each resample recomputes the ratio rather than averaging per-clip ratios.

Cost: intervals must take at most 20% of an evaluation. Every function that computes an interval is
wrapped in :func:`interval_code`, which adds its wall clock to a process-wide total
(:func:`interval_seconds`); the runner records the share in a result's ``timing["intervals"]``.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])
_clock = {"seconds": 0.0, "depth": 0}


def interval_code(fn: F) -> F:
    """Count the wall clock of ``fn`` as time spent on bootstrap intervals (outermost calls only)."""

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        if _clock["depth"]:
            return fn(*args, **kwargs)
        _clock["depth"] = 1
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _clock["seconds"] += time.perf_counter() - start
            _clock["depth"] = 0

    return timed  # type: ignore[return-value]


def interval_seconds() -> float:
    """Seconds this process has spent in :func:`interval_code` so far (read before and after)."""
    return float(_clock["seconds"])


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


@interval_code
def mean_interval(per_clip: np.ndarray, resamples: int = 1000, seed: int = 0) -> tuple[float, float] | None:
    """Interval of the mean of per-clip values."""
    per_clip = np.asarray(per_clip, dtype=np.float64)
    if per_clip.size == 0:
        return None
    idx = bootstrap_indices(per_clip.size, resamples, seed)
    return percentile_interval(per_clip[idx].mean(axis=1))


@interval_code
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


@interval_code
def statistic_interval(
    n: int, statistic: Callable[[np.ndarray], float], resamples: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """Interval of an arbitrary statistic of a resampled index set (slower; for pooled statistics)."""
    if n == 0:
        return None
    idx = bootstrap_indices(n, resamples, seed)
    return percentile_interval(np.array([statistic(row) for row in idx], dtype=np.float64))


@interval_code
def inception_score_interval(logits: Any, resamples: int = 200, seed: int = 0) -> tuple[float, float] | None:
    """Interval of the Inception score over resampled clips, all resamples at once.

    The same numbers as ``statistic_interval(n, lambda idx: inception_score(logits[idx])[0], ...)``
    (:func:`~v2abench.metrics.class_scores.inception_score`: seed-2020 shuffle, 10 contiguous splits),
    vectorised over resamples: resample ``b`` scores rows ``idx_b[perm]`` of the clip posteriors.
    """
    from v2abench.metrics.class_scores import IS_SEED, IS_SPLITS

    x = np.asarray(logits.detach().cpu() if hasattr(logits, "detach") else logits, dtype=np.float64)
    n = x.shape[0]
    if n == 0:
        return None
    rows = bootstrap_indices(n, resamples, seed)[:, np.random.RandomState(IS_SEED).permutation(n)]
    shifted = x - x.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    splits = max(1, min(IS_SPLITS, n))
    scores = np.zeros((rows.shape[0], splits))
    for i in range(splits):
        chunk = rows[:, i * n // splits : (i + 1) * n // splits]
        cp, clp = p[chunk], log_p[chunk]  # [resamples, split size, classes]
        marginal = cp.mean(axis=1, keepdims=True)
        scores[:, i] = np.exp((cp * (clp - np.log(marginal))).sum(axis=-1).mean(axis=-1))
    return percentile_interval(scores.mean(axis=1))
