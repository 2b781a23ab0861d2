"""Onset metrics on hand-made event lists with known answers, and on real detections."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import clicks
from v2abench.metrics.base import ClipSample
from v2abench.metrics.onset import (
    OnsetMetrics,
    Onsets,
    average_precision,
    detect_onsets,
    match_onsets,
    non_max_suppression,
)


def test_match_picks_loudest_unused_within_tolerance() -> None:
    gen = Onsets(np.array([0.52, 0.95, 1.04, 2.0]), np.array([0.9, 0.3, 0.8, 0.5]))
    hit = match_onsets(np.array([0.5, 1.0, 1.5]), gen, tolerance=0.1)
    assert hit.tolist() == [True, False, True, False]


def test_a_generated_onset_is_used_once() -> None:
    gen = Onsets(np.array([1.0]), np.array([1.0]))
    hit = match_onsets(np.array([0.98, 1.02]), gen, tolerance=0.1)
    assert hit.tolist() == [True]


def test_average_precision_counts_missed_references() -> None:
    ap = average_precision(np.array([0.9, 0.3, 0.8, 0.5]), np.array([True, False, True, False]), n_positive=3)
    assert ap == pytest.approx(2 / 3)
    # a false positive ranked first halves the precision of the true positive behind it
    ap2 = average_precision(np.array([0.9, 0.8]), np.array([False, True]), n_positive=1)
    assert ap2 == pytest.approx(0.5)
    assert average_precision(np.zeros(0), np.zeros(0, bool), n_positive=0) is None


def test_nms_keeps_the_loudest_within_window() -> None:
    kept = non_max_suppression(Onsets(np.array([0.10, 0.13, 0.30]), np.array([0.5, 0.9, 0.4])), window=0.05)
    assert kept.times.tolist() == [0.13, 0.30]
    assert kept.strengths.tolist() == [0.9, 0.4]


def test_detector_finds_clicks() -> None:
    times = [0.5, 1.2, 2.0, 3.1]
    found = non_max_suppression(detect_onsets(clicks(times), 16_000))
    assert len(found.times) == len(times)
    assert np.max(np.abs(found.times - np.array(times))) < 0.05
    assert detect_onsets(torch.zeros(64_000), 16_000).times.size == 0


def _sample(cid: str, generated: torch.Tensor, onsets: list[float]) -> ClipSample:
    return ClipSample(cid, generated, 16_000, None, None, 4.0, onsets=onsets)


def test_family_perfect_versus_silent_generation() -> None:
    refs = [[0.5, 1.5, 2.5], [0.7, 2.2], [1.0, 1.6, 2.4, 3.3]]
    good, silent = OnsetMetrics(bootstrap_resamples=200), OnsetMetrics(bootstrap_resamples=200)
    for i, r in enumerate(refs):
        good.update(_sample(f"c{i}", clicks(r, seed=i), r))
        silent.update(_sample(f"c{i}", torch.zeros(64_000), r))
    g = {m.id: m for m in good.compute()}
    s = {m.id: m for m in silent.compute()}
    assert g["onset_acc"].value == pytest.approx(1.0)
    assert g["onset_count_acc"].value == pytest.approx(1.0)
    assert g["onset_ap"].value == pytest.approx(1.0)
    assert s["onset_acc"].value == 0.0 and s["onset_count_acc"].value == 0.0
    assert g["onset_acc"].n == 3
    lo, hi = g["onset_acc"].interval
    assert lo <= g["onset_acc"].value <= hi


def test_family_pooled_accuracy_and_interval_coverage() -> None:
    fam = OnsetMetrics(bootstrap_resamples=300)
    rng = np.random.default_rng(1)
    for i in range(12):
        ref = sorted(rng.uniform(0.3, 3.5, size=3).round(2).tolist())
        gen_times = ref[: 1 + i % 3]  # 1, 2 or 3 of the 3 reference onsets
        fam.update(_sample(f"c{i}", clicks(gen_times, seed=i), ref))
    acc = {m.id: m for m in fam.compute()}["onset_acc"]
    assert acc.value == pytest.approx((4 * 1 + 4 * 2 + 4 * 3) / 36, abs=0.06)
    lo, hi = acc.interval
    assert lo <= acc.value <= hi and hi - lo > 0
    # fixed seed: the same interval twice
    assert {m.id: m for m in fam.compute()}["onset_acc"].interval == acc.interval


def test_reference_audio_detections_when_no_annotations() -> None:
    fam = OnsetMetrics(bootstrap_resamples=50)
    ref = clicks([0.6, 1.8, 3.0])
    fam.update(ClipSample("v", ref.clone(), 16_000, ref, 16_000, 4.0, onsets=None))
    assert {m.id: m for m in fam.compute()}["onset_acc"].value == pytest.approx(1.0)
