"""The verdict rule of PROTOCOL.md ("Claims"), as pure functions of paired-bootstrap intervals.

For a claim "A beats B on M", each seed s gives the 95% paired-bootstrap interval ``[lo_s, hi_s]`` of
``M(A) - M(B)`` over the clips both scored. Oriented by M's direction, the *gain* of A over B is::

    gain = M(A) - M(B)   (higher is better)        gain = M(B) - M(A)   (lower is better)

so its interval is ``[lo, hi]`` or ``[-hi, -lo]``. Then, with every seed counted:

- **beats**: *held* when ``lo_gain > 0`` for every seed (the interval excludes 0 in the claimed
  direction); *not held* when ``hi_gain < 0`` for every seed; *inconclusive* otherwise.
- **keeps within m** (A is no worse than B by more than m, a non-inferiority test): *held* when
  ``lo_gain >= -m`` for every seed (the interval lies inside the margin on the worse side); *not held*
  when ``hi_gain < -m`` for every seed; *inconclusive* otherwise.
- **best / worst / chains** are conjunctions of pairwise "beats" claims (A beats each other variant;
  each other variant beats A; each adjacent pair of the chain): *held* when every pair holds, *not held*
  when any pair is not held, *inconclusive* otherwise.

A seed without an interval (a metric with no value, no per-clip terms or pooled data, or fewer than the
clips a paired resample needs) makes a pair inconclusive; so does a claim checked on no seed at all.
"""

from __future__ import annotations

import enum
from typing import Iterable, Mapping, Sequence

Interval = tuple[float, float]


class Verdict(str, enum.Enum):
    HELD = "held"
    NOT_HELD = "not held"
    INCONCLUSIVE = "inconclusive"


def gain_interval(interval: Interval, direction: str) -> Interval:
    """The interval of ``M(A) - M(B)`` turned into A's gain over B (positive: A is better)."""
    lo, hi = interval
    if direction == "higher":
        return lo, hi
    if direction == "lower":
        return -hi, -lo
    raise ValueError(f"direction must be 'higher' or 'lower', not {direction!r}")


def pair_verdict(intervals: Sequence[Interval | None], direction: str, margin: float | None = None) -> Verdict:
    """Verdict of "A beats B" (``margin`` None) or "A keeps B within ``margin``" from the per-seed
    intervals of ``M(A) - M(B)``."""
    if not intervals or any(i is None for i in intervals):
        return Verdict.INCONCLUSIVE
    gains = [gain_interval(i, direction) for i in intervals if i is not None]
    floor = 0.0 if margin is None else -float(margin)
    if margin is None and all(lo > floor for lo, _ in gains):
        return Verdict.HELD
    if margin is not None and all(lo >= floor for lo, _ in gains):
        return Verdict.HELD
    if all(hi < floor for _, hi in gains):
        return Verdict.NOT_HELD
    return Verdict.INCONCLUSIVE


def all_of(verdicts: Iterable[Verdict]) -> Verdict:
    """A conjunction of claims: held when all hold, not held when any is not, else inconclusive."""
    verdicts = list(verdicts)
    if not verdicts:
        return Verdict.INCONCLUSIVE
    if any(v is Verdict.NOT_HELD for v in verdicts):
        return Verdict.NOT_HELD
    if all(v is Verdict.HELD for v in verdicts):
        return Verdict.HELD
    return Verdict.INCONCLUSIVE


def claim_verdict(pairs: Sequence[tuple[str, str]], intervals: Mapping[tuple[str, str], Sequence[Interval | None]],
                  direction: str, margin: float | None = None) -> tuple[Verdict, dict[tuple[str, str], Verdict]]:
    """The verdict of a claim made of ``pairs`` ("X beats Y" each, or "X keeps Y" with ``margin``), from
    ``intervals[(X, Y)]``: the per-seed intervals of ``M(X) - M(Y)``. Returns (verdict, per-pair verdicts)."""
    each = {pair: pair_verdict(intervals.get(pair) or [], direction, margin) for pair in pairs}
    return all_of(each.values()), each
