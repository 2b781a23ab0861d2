"""Bootstrap intervals cost at most 20% of an evaluation (PROTOCOL.md, Statistics).

What is checked, and how, without an absolute wall-clock threshold:

- every interval computation runs inside :func:`~v2abench.metrics.bootstrap.interval_code`, whose clock
  the runner reads around the metric computation: ``timing["intervals"]`` is part of
  ``timing["metrics"]``, which is part of ``timing["total"]`` (the whole evaluation);
- the *share* ``intervals / total`` of a tiny-split evaluation with every synthfoley board metric is at
  most 20%. It is measured on a second, warm run (generated audio and features cached), the worst case:
  a warm run does the least work besides the intervals. A share is a ratio of two clocks of the same
  process, so a busy machine slows both sides alike;
- the committed board rows (300 and 100 clip splits) record the same two clocks; each must show a
  share of at most 20% as well.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from v2abench.metrics import bootstrap
from v2abench.metrics.bootstrap import interval_code, interval_seconds, mean_interval

from v2abench.boards.board import committed_boards
from v2abench.config import benchmark_config
from v2abench.evaluation import evaluate_model

LIMIT = 0.20
SPLIT = "synthfoley-tiny-test"
BOARD_METRICS = list(benchmark_config("synthfoley")["tables"]["vta"]["metrics"])


def test_the_clock_counts_outermost_interval_calls_once() -> None:
    @interval_code
    def outer() -> None:
        time.sleep(0.02)
        mean_interval(np.arange(50.0), 100, 0)  # nested: already counted by outer

    before = interval_seconds()
    outer()
    spent = interval_seconds() - before
    assert 0.02 <= spent < 1.0
    assert bootstrap._clock["depth"] == 0


def test_intervals_share_of_a_tiny_evaluation(tiny_world: Path) -> None:
    evaluate_model("noise", SPLIT, metrics=BOARD_METRICS)  # fills the generation and feature caches
    _, result = evaluate_model("noise", SPLIT, metrics=BOARD_METRICS)
    timing = result.timing
    assert all(result.metrics[m].interval is not None for m in ("onset_acc", "fd@synthprobe", "kad@synthprobe", "is@synthprobe", "kl@synthprobe"))
    assert 0.0 < timing["intervals"] <= timing["metrics"] <= timing["total"]
    assert timing["intervals"] <= LIMIT * timing["total"], timing


def test_committed_rows_record_a_share_within_the_limit() -> None:
    board = next(b for b in committed_boards() if b.dir_name == "synthfoley-v1")
    timed = [(path, r.timing) for path, r in board.rows() if "intervals" in r.timing]
    assert timed, "no committed row records timing['intervals']"
    for path, timing in timed:
        assert timing["intervals"] <= LIMIT * timing["total"], (path.name, timing)
