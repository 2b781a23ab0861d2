"""Paired-bootstrap markers on board columns (PROTOCOL.md, Statistics).

In each column of a table, every row is compared with the column's best row (by the metric's declared
direction) over the clips *both* rows have per-clip terms for::

    shared clips  c_1 .. c_n            (ids in both rows' ``per_clip``)
    resample b = 1..1000:  draw n of them with replacement (seed 0), the same draw for both rows
                           d_b = stat(row, draw) - stat(best, draw)
    95% interval of d      = 2.5th .. 97.5th percentile of d_1 .. d_1000

where ``stat`` is the metric itself on those clips: the mean of per-clip values, or sum of numerators /
sum of denominators for a ratio such as ``onset_acc``. When the interval contains zero the row is not
significantly different from the best and its cell is marked :data:`MARK`. Pairing removes the
clip-to-clip variation both rows share, so it resolves differences that the rows' own (unpaired)
intervals, which overlap, cannot.

Only per-clip metrics carry per-clip terms in their results. Pooled and distribution metrics (FD, KAD,
FAD-inf, IS, onset AP) would need the embeddings or detections of both rows, which result files do not
keep; those columns are left unmarked, and so is any row whose result has no per-clip terms. Speed
columns are unmarked too: their spread is the machine's timing noise, not a sample of clips.
"""

from __future__ import annotations

import numpy as np

from v2abench.metrics.base import MetricResult
from v2abench.metrics.bootstrap import bootstrap_indices, percentile_interval
from v2abench.results import Result

MARK = "≈"
RESAMPLES = 1000
SEED = 0

EXPLANATION = (
    f"{MARK} marks a value not significantly different from its column's best: the 95% interval of a paired bootstrap "
    f"of the difference over the clips both rows scored ({RESAMPLES} resamples, seed {SEED}) contains zero. "
    "Pooled and distribution metrics (FD, KAD, FAD-inf, IS, onset AP) and speed have no per-clip terms in the "
    "result files and are not marked."
)


def _resampled(metric: MetricResult, clips: list[str], draws: np.ndarray) -> np.ndarray:
    """The metric on each resample (rows of ``draws`` index ``clips``)."""
    terms = metric.per_clip or {}
    if "value" in terms:
        values = np.array([terms["value"][c] for c in clips], np.float64)
        return values[draws].mean(axis=1)
    num = np.array([terms["numerator"][c] for c in clips], np.float64)
    den = np.array([terms["denominator"][c] for c in clips], np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num[draws].sum(axis=1) / den[draws].sum(axis=1)


def _clips(metric: MetricResult) -> set[str]:
    terms = metric.per_clip or {}
    if "value" in terms:
        return set(terms["value"])
    return set(terms.get("numerator", {})) & set(terms.get("denominator", {}))


def paired_difference_interval(row: MetricResult, best: MetricResult, resamples: int = RESAMPLES,
                               seed: int = SEED) -> tuple[float, float] | None:
    """95% paired-bootstrap interval of ``row - best`` over their shared clips (None: not comparable)."""
    if not row.per_clip or not best.per_clip:
        return None
    clips = sorted(_clips(row) & _clips(best))
    if len(clips) < 2:
        return None
    draws = bootstrap_indices(len(clips), resamples, seed)
    return percentile_interval(_resampled(row, clips, draws) - _resampled(best, clips, draws))


def not_significant(results: list[Result], metric_id: str, direction: str) -> set[int]:
    """Positions in ``results`` of rows whose difference from the column's best is not significant.

    The best rows (the bold values) are never in the set, nor rows without per-clip terms.
    """
    values = [r.value(metric_id) for r in results]
    present = [v for v in values if v is not None]
    if not present:
        return set()
    top = max(present) if direction == "higher" else min(present)
    best = results[values.index(top)].metrics[metric_id]
    marked = set()
    for i, (result, value) in enumerate(zip(results, values)):
        if value is None or value == top:
            continue
        interval = paired_difference_interval(result.metrics[metric_id], best)
        if interval is not None and interval[0] <= 0.0 <= interval[1]:
            marked.add(i)
    return marked
