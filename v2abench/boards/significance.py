"""Paired-bootstrap markers on board columns (PROTOCOL.md, Statistics).

In each column of a table, every model row is compared with the column's best *model* row (by the
metric's declared direction; reference rows -- ground truth and its codec round trips -- never count
as best, nor are they marked) over the clips *both* rows scored::

    shared clips  c_1 .. c_n
    resample b = 1..B:  draw n of them with replacement (seed 0), ONE draw for both rows (and, within a
                        row, for its generated and reference sets)
                        d_b = stat(row, draw_b) - stat(best, draw_b)

When the 95% interval of ``d`` contains zero the row is not significantly different from the best and
its cell is marked :data:`MARK`. Pairing removes the clip-to-clip variation both rows share, so it
resolves differences that the rows' own (unpaired) intervals, which overlap, cannot.

- **Per-clip metrics** (``per_clip`` terms in the result: IB, DeSync, KL, onset acc, ...): ``stat`` is
  the mean of per-clip values, or sum of numerators / sum of denominators for a ratio such as
  ``onset_acc``; B = 1000; the interval is the 2.5 .. 97.5 percentiles of ``d``.
- **Pooled metrics** (FD, KAD, IS, onset AP; the data in the result's sidecar,
  :attr:`~v2abench.metrics.base.MetricResult.pooled`): ``stat`` recomputes the metric on the drawn
  clips -- FD from the embeddings of both sets with every row of a drawn clip weighted by its count
  (VGGish frames travel with their clip; ``eig`` trace-sqrt), KAD likewise at the full reference
  set's bandwidth, IS from the drawn clips' logits, onset AP from the drawn clips' detections against
  their reference onsets; B = :data:`POOLED_RESAMPLES`. Each row's point value is recomputed from the
  same (float16) data on the shared clips. Resampled pooled statistics are biased (FD up by about d/N,
  IS down under duplicate clips) and the bias differs between rows, so the interval is the percentile
  interval of ``d`` shifted by its bootstrap bias, ``mean(d) - d_point``
  (:func:`~v2abench.metrics.bootstrap.shifted_interval`): it is centred on the observed difference.

Left unmarked: FAD-inf (each resample would refit 25 FDs), speed (its spread is the machine's timing
noise, not a sample of clips), rows whose result has neither per-clip terms nor pooled data (results
written before they were stored), and pooled columns over more than :data:`POOLED_MAX_CLIPS` shared
clips (the resamples would take minutes per column). A row's resampled statistic is computed once per
(metric, clip set) and reused by every comparison and every rendering of the board.
"""

from __future__ import annotations

import logging
import weakref
from typing import Callable

import numpy as np

from v2abench.metrics.base import MetricResult, PooledTerms
from v2abench.metrics.bootstrap import bootstrap_indices, percentile_interval, shifted_interval
from v2abench.metrics.class_scores import inception_score_resamples
from v2abench.metrics.frechet import FrechetDistanceError, fd_resamples
from v2abench.metrics.kernel_distance import kad_resamples
from v2abench.metrics.onset import average_precision
from v2abench.results import Result

log = logging.getLogger(__name__)

MARK = "≈"
RESAMPLES = 1000
POOLED_RESAMPLES = 200
POOLED_MAX_CLIPS = 5000
SEED = 0
REFERENCE_PREFIX = "ground-truth"
REFERENCE_PARADIGM = "reference"

EXPLANATION = (
    f"{MARK} marks a value not significantly different from its column's best model row (reference rows never count "
    f"as best): the 95% interval of a paired bootstrap of the difference over the clips both rows scored contains zero "
    f"({RESAMPLES} resamples of per-clip terms; for FD, KAD, IS and onset AP {POOLED_RESAMPLES} resamples recomputing "
    f"the metric from the stored embeddings, logits or onsets, bias-shifted; seed {SEED}). FAD-inf and speed are not marked."
)


def is_reference(result: Result) -> bool:
    """Ground truth and its codec round trips: shown on boards, never the best of a column."""
    return str(result.model.get("name", "")).startswith(REFERENCE_PREFIX) or result.model.get("paradigm") == REFERENCE_PARADIGM


# ---------------------------------------------------------------------------------- per-clip terms
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


# ---------------------------------------------------------------------------------- pooled data
class _Subset:
    """One row's pooled data restricted to the shared clips, re-indexed 0..n-1 in shared order."""

    def __init__(self, terms: PooledTerms, shared: list[str]) -> None:
        local = {c: i for i, c in enumerate(terms.clips)}
        to_shared = np.full(len(terms.clips), -1, np.int64)
        to_shared[[local[c] for c in shared]] = np.arange(len(shared))
        self.n = len(shared)
        self.rows: dict[str, np.ndarray] = {}
        self.clip: dict[str, np.ndarray] = {}
        for name, array in terms.arrays.items():
            clip = to_shared[terms.members[name]]
            keep = clip >= 0
            order = np.argsort(clip[keep], kind="stable")  # rows grouped by shared clip, ascending
            self.rows[name] = np.asarray(array)[keep][order]
            self.clip[name] = clip[keep][order]

    def floats(self, name: str) -> np.ndarray:
        return self.rows[name].astype(np.float64)

    def gather(self, name: str, draw: np.ndarray) -> np.ndarray:
        """Row indices of every row of each drawn clip, in draw order (a clip drawn twice: twice)."""
        counts = np.bincount(self.clip[name], minlength=self.n)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        lengths = counts[draw]
        first = np.repeat(starts[draw] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        return first + np.arange(int(lengths.sum()))


def _fd(metric: MetricResult, data: _Subset, draws: np.ndarray) -> np.ndarray:
    return fd_resamples(data.floats("gen"), data.floats("ref"), draws, gen_clip=data.clip["gen"], ref_clip=data.clip["ref"])


def _kad(metric: MetricResult, data: _Subset, draws: np.ndarray) -> np.ndarray:
    return kad_resamples(data.floats("gen"), data.floats("ref"), draws, gen_clip=data.clip["gen"], ref_clip=data.clip["ref"])


def _inception(metric: MetricResult, data: _Subset, draws: np.ndarray) -> np.ndarray:
    """IS under the row's own split policy (``extra["split_size"]``; one logits row per clip)."""
    return inception_score_resamples(data.floats("logits"), draws, split_size=metric.extra.get("split_size"))


def _onset_ap(metric: MetricResult, data: _Subset, draws: np.ndarray) -> np.ndarray:
    """Pooled AP of the drawn clips' detections (in draw order, as the metric's own interval) against
    the reference onsets of the drawn clips."""
    confidence, hit = data.rows["confidence"].astype(np.float64), data.rows["hit"].astype(bool)
    n_ref = np.zeros(data.n)
    n_ref[data.clip["n_ref"]] = data.rows["n_ref"]
    out = np.empty(len(draws))
    for b, draw in enumerate(draws):
        rows = data.gather("confidence", draw)
        ap = average_precision(confidence[rows], hit[rows], int(n_ref[draw].sum()))
        out[b] = np.nan if ap is None else ap
    return out


Statistic = Callable[[MetricResult, _Subset, np.ndarray], np.ndarray]
# metric id (before "@") -> the statistic recomputed on clip draws ``[B, n]``
POOLED_STATISTICS: dict[str, Statistic] = {"fd": _fd, "fad": _fd, "kad": _kad, "is": _inception, "onset_ap": _onset_ap}

# per data object: (metric id, shared clips, resamples, seed) -> (point value, resampled values)
_memo: "weakref.WeakKeyDictionary[PooledTerms, dict[tuple, tuple[float, np.ndarray]]]" = weakref.WeakKeyDictionary()


def _pooled_statistic(metric: MetricResult) -> Statistic | None:
    return POOLED_STATISTICS.get(metric.id.split("@")[0])


def _pooled_resampled(metric: MetricResult, shared: list[str], resamples: int, seed: int) -> tuple[float, np.ndarray]:
    """(point on the shared clips, values on the shared seeded draws) of one row, memoised."""
    terms = metric.pooled
    assert terms is not None
    key = (metric.id, tuple(shared), resamples, seed)
    cache = _memo.setdefault(terms, {})
    if key not in cache:
        statistic = _pooled_statistic(metric)
        assert statistic is not None
        data = _Subset(terms, shared)
        draws = np.vstack([np.arange(len(shared))[None], bootstrap_indices(len(shared), resamples, seed)])
        try:
            values = statistic(metric, data, draws)
        except (FrechetDistanceError, ValueError, np.linalg.LinAlgError) as err:
            log.warning("%s: no paired resamples (%s)", metric.id, err)
            values = np.full(draws.shape[0], np.nan)
        cache[key] = (float(values[0]), values[1:])
    return cache[key]


def _pooled_clips(terms: PooledTerms) -> set[str]:
    """The clips a row's pooled metric covers: those with rows in every array (a pair needs its generated
    and its reference rows); for onsets, every clip with a reference count (a clip without detections
    still counts: its reference onsets lower recall)."""
    names = ["n_ref"] if terms.kind == "onsets" else list(terms.members)
    clips = np.asarray(terms.clips)
    sets = [set(clips[np.unique(terms.members[name])]) if terms.members[name].size else set() for name in names]
    return set.intersection(*sets) if sets else set()


def pooled_difference_interval(row: MetricResult, best: MetricResult, resamples: int = POOLED_RESAMPLES,
                               seed: int = SEED) -> tuple[float, float] | None:
    """Bias-shifted 95% paired-bootstrap interval of ``row - best`` for a pooled metric (None: not comparable)."""
    if row.pooled is None or best.pooled is None or _pooled_statistic(row) is None:
        return None
    shared = sorted(_pooled_clips(row.pooled) & _pooled_clips(best.pooled))
    if len(shared) < 3:
        return None
    if len(shared) > POOLED_MAX_CLIPS:
        log.info("%s: %d shared clips, over %d: pooled significance skipped", row.id, len(shared), POOLED_MAX_CLIPS)
        return None
    point_row, values_row = _pooled_resampled(row, shared, resamples, seed)
    point_best, values_best = _pooled_resampled(best, shared, resamples, seed)
    if not np.isfinite(point_row - point_best):
        return None
    return shifted_interval(values_row - values_best, point_row - point_best)


def paired_difference_interval(row: MetricResult, best: MetricResult, resamples: int | None = None,
                               seed: int = SEED) -> tuple[float, float] | None:
    """95% paired-bootstrap interval of ``row - best`` over their shared clips (None: not comparable):
    from per-clip terms when both rows have them, else from pooled data."""
    if row.per_clip and best.per_clip:
        clips = sorted(_clips(row) & _clips(best))
        if len(clips) < 2:
            return None
        draws = bootstrap_indices(len(clips), resamples or RESAMPLES, seed)
        return percentile_interval(_resampled(row, clips, draws) - _resampled(best, clips, draws))
    return pooled_difference_interval(row, best, resamples or POOLED_RESAMPLES, seed)


def not_significant(results: list[Result], metric_id: str, direction: str) -> set[int]:
    """Positions in ``results`` of model rows whose difference from the column's best model row is not
    significant. Reference rows (:func:`is_reference`) are never the best and never marked; the best
    rows (the bold values) are never in the set, nor rows without per-clip terms or pooled data.
    Reads the sidecars of pooled metrics (a missing or changed one raises
    :class:`~v2abench.results.SidecarError`)."""
    values = [r.value(metric_id) for r in results]
    candidates = [i for i, (r, v) in enumerate(zip(results, values)) if v is not None and not is_reference(r)]
    if len(candidates) < 2:
        return set()
    present = [values[i] for i in candidates]
    top = max(present) if direction == "higher" else min(present)  # type: ignore[type-var]
    best = results[next(i for i in candidates if values[i] == top)]
    pooled = _pooled_statistic(best.metrics[metric_id]) is not None and not best.metrics[metric_id].per_clip
    marked = set()
    for i in candidates:
        if values[i] == top:
            continue
        if pooled:
            best.load_pooled()
            results[i].load_pooled()
        interval = paired_difference_interval(results[i].metrics[metric_id], best.metrics[metric_id])
        if interval is not None and interval[0] <= 0.0 <= interval[1]:
            marked.add(i)
    return marked
