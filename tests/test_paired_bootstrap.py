"""Paired-bootstrap markers on boards, and the per-clip terms result files store for them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from v2abench.metrics.base import MetricResult
from v2abench.metrics.catalog import metric_specs

from v2abench.boards import significance
from v2abench.boards.board import open_board
from v2abench.boards.render import table_columns
from v2abench.results import Result, load_result

GT = "b" * 64
CLIPS = [f"synthfoley-test-{i:05d}" for i in range(300)]


def _metric(mid: str, per_clip: dict[str, dict[str, float]] | None, value: float | None = None) -> MetricResult:
    spec = metric_specs()[mid]
    if value is None and per_clip is not None:
        if "value" in per_clip:
            value = float(np.mean(list(per_clip["value"].values())))
        else:
            value = sum(per_clip["numerator"].values()) / sum(per_clip["denominator"].values())
    return MetricResult(mid, value, spec.direction, len(CLIPS), spec.backbone, spec.weights_sha256, spec.version,
                        interval=(value - 0.1, value + 0.1) if value is not None else None, per_clip=per_clip)


def _result(name: str, metrics: dict[str, MetricResult]) -> Result:
    return Result(
        board={"name": "synthfoley", "version": 1, "table": "vta"},
        split={"name": "synthfoley-test", "ground_truth_sha256": GT, "n_clips": 300, "n_clips_total": 300, "duration": 4.0},
        model={"name": name, "version": "1", "paradigm": "baseline", "checkpoint_sha256": None, "params": 0, "config": {}, "config_hash": "x"},
        metrics=metrics,
    )


def _values(x: np.ndarray) -> dict[str, dict[str, float]]:
    return {"value": dict(zip(CLIPS, map(float, x)))}


def _jitter(seed: int, shift: float) -> np.ndarray:
    """Zero-mean per-clip noise plus ``shift``: a row whose mean differs from another's by exactly ``shift``."""
    noise = np.random.default_rng(seed).normal(0, 0.05, len(CLIPS))
    return noise - noise.mean() + shift


@pytest.fixture
def clip_scores() -> np.ndarray:
    return np.random.default_rng(0).normal(0.5, 0.3, size=len(CLIPS))  # large clip-to-clip spread


def test_a_consistent_small_gain_is_significant_only_when_paired(clip_scores: np.ndarray) -> None:
    better, worse = _metric("ib@synthprobe", _values(clip_scores + 0.02)), _metric("ib@synthprobe", _values(clip_scores))
    lo, hi = significance.paired_difference_interval(worse, better)
    assert lo == pytest.approx(-0.02) and hi == pytest.approx(-0.02)  # every clip 0.02 worse: excludes zero
    # unpaired, the rows' own intervals would overlap widely (spread 0.3 / sqrt(300) ~ 0.017 each)
    tie = _metric("ib@synthprobe", _values(clip_scores + 0.02 + _jitter(1, -0.001)))
    lo, hi = significance.paired_difference_interval(tie, better)
    assert lo < 0 < hi  # 0.001 worse on average, but noisy per clip: not significant
    assert significance.paired_difference_interval(worse, better) == significance.paired_difference_interval(worse, better)


def test_only_shared_clips_are_compared_and_ratios_resample_sums() -> None:
    hits = {"numerator": {c: float(i % 3) for i, c in enumerate(CLIPS)}, "denominator": {c: 2.0 for c in CLIPS}}
    half = {k: {c: v for c, v in d.items() if c in CLIPS[:150]} for k, d in hits.items()}
    a, b = _metric("onset_acc", hits), _metric("onset_acc", half)
    lo, hi = significance.paired_difference_interval(a, b)
    assert lo == hi == 0.0  # on the 150 shared clips both rows have the same terms
    assert significance.paired_difference_interval(a, _metric("onset_acc", None, 0.5)) is None


def test_markers_pick_rows_not_significantly_different_from_the_best(clip_scores: np.ndarray) -> None:
    rows = [
        _result("best", {"ib@synthprobe": _metric("ib@synthprobe", _values(clip_scores + 0.1)), "fd@synthprobe": _metric("fd@synthprobe", None, 1.0)}),
        _result("close", {"ib@synthprobe": _metric("ib@synthprobe", _values(clip_scores + 0.1 + _jitter(2, -0.001))),
                          "fd@synthprobe": _metric("fd@synthprobe", None, 1.01)}),
        _result("far", {"ib@synthprobe": _metric("ib@synthprobe", _values(clip_scores)), "fd@synthprobe": _metric("fd@synthprobe", None, 9.0)}),
        _result("old", {"ib@synthprobe": _metric("ib@synthprobe", None, 0.3)}),  # written before per-clip terms
    ]
    assert significance.not_significant(rows, "ib@synthprobe", "higher") == {1}
    assert significance.not_significant(rows, "fd@synthprobe", "lower") == set()  # no per-clip terms, no pooled data


def test_ground_truth_is_never_the_best_per_clip(clip_scores: np.ndarray) -> None:
    """Ground truth (and any paradigm-"reference" row) scores highest but the best *model* row is the
    one compared with: a model tied with it is marked, and the references themselves never are."""
    rows = [
        _result("ground-truth", {"ib@synthprobe": _metric("ib@synthprobe", _values(clip_scores + 0.5))}),
        _result("model", {"ib@synthprobe": _metric("ib@synthprobe", _values(clip_scores + 0.1))}),
        _result("tied", {"ib@synthprobe": _metric("ib@synthprobe", _values(clip_scores + 0.1 + _jitter(4, -0.001)))}),
        _result("ceiling", {"ib@synthprobe": _metric("ib@synthprobe", _values(clip_scores + 0.3))}),
    ]
    rows[3].model["paradigm"] = "reference"
    assert significance.not_significant(rows, "ib@synthprobe", "higher") == {2}


def test_per_clip_terms_round_trip_compactly(tmp_path: Path, clip_scores: np.ndarray) -> None:
    sparse = {"value": {c: float(v) for c, v in zip(CLIPS, clip_scores) if c != CLIPS[7]}}
    result = _result("x", {"ib@synthprobe": _metric("ib@synthprobe", sparse), "fd@synthprobe": _metric("fd@synthprobe", None, 2.0),
                           "kl@synthprobe": _metric("kl@synthprobe", _values(clip_scores))})
    path = result.save(tmp_path)
    doc = json.loads(path.read_text())
    assert doc["clips"] == CLIPS and doc["metrics"]["ib@synthprobe"]["per_clip"]["value"][7] is None
    assert "per_clip" not in doc["metrics"]["fd@synthprobe"]
    back = load_result(path)
    terms = back.metrics["ib@synthprobe"].per_clip["value"]
    assert set(terms) == set(CLIPS) - {CLIPS[7]}
    assert max(abs(terms[c] - sparse["value"][c]) / max(abs(sparse["value"][c]), 1e-3) for c in terms) < 1e-5  # 6 digits
    assert back.to_json() == load_result(back.save(tmp_path / "again")).to_json()
    assert len(path.read_text()) < 25_000  # 300 clips: ids once, one short number per clip and metric


def test_board_marks_cells_and_explains_them(tmp_path: Path, clip_scores: np.ndarray) -> None:
    rows = [
        _result("best", {"ib@synthprobe": _metric("ib@synthprobe", _values(clip_scores + 0.1))}),
        _result("close", {"ib@synthprobe": _metric("ib@synthprobe", _values(clip_scores + 0.1 + _jitter(3, -0.001)))}),
        _result("far", {"ib@synthprobe": _metric("ib@synthprobe", _values(clip_scores))}),
    ]
    board = open_board("synthfoley", root=tmp_path / "boards")
    board.add([r.save(tmp_path / "own") for r in rows])
    md = (board.root / "leaderboard.md").read_text()
    assert significance.EXPLANATION in md
    lines = {line.split("|")[2].strip(): line for line in md.split("## vta")[1].splitlines() if line.startswith("| ") and "model" not in line}
    cell = lines["close"].split("|")[4 + table_columns(board, board.protocol(), "vta").index("ib@synthprobe")]
    assert cell.strip().startswith(significance.MARK)
    assert significance.MARK not in lines["far"] and significance.MARK not in lines["best"]
    assert significance.MARK in (board.root / "leaderboard.html").read_text()
