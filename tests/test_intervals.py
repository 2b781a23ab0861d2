"""Bootstrap intervals and the estimators behind them (PROTOCOL.md "Statistics").

Seeded simulations with known truths: two Gaussians with a known FD (and, at a fixed bandwidth, a
known MMD²) for coverage; identical and near-identical sets for the "a copy of the reference scores 0"
rules; clip layouts with several rows per clip (VGGish frames) for resampling by clip; and the IS split
policy that makes tables of 100 and 300 clips comparable.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.linalg
import torch

from v2abench.metrics.bootstrap import bootstrap_indices, clip_rows, mean_interval, row_weights
from v2abench.metrics.class_scores import (
    IS_POLICY,
    IS_SPLIT_SIZE,
    inception_score,
    inception_score_interval,
    inception_score_resamples,
)
from v2abench.metrics.frechet import (
    bootstrap_fad_inf,
    bootstrap_fd,
    fad_inf,
    fd_resamples,
    frechet_distance,
    frechet_distance_features,
)
from v2abench.metrics.kernel_distance import bootstrap_kad, kad_resamples, kernel_audio_distance

COVERAGE_TOLERANCE = (0.85, 1.0)  # nominal 95%; 100 seeded trials (binomial sd ~2 points)


def _gaussians(d: int, shift: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    mix_g = np.eye(d) + rng.standard_normal((d, d)) * 0.2
    mix_r = np.eye(d) * 1.1
    return mix_g, np.full(d, shift), mix_r, np.zeros(d)


def _draw(rng: np.random.Generator, n: int, mix_g: np.ndarray, mu_g: np.ndarray, mix_r: np.ndarray,
          mu_r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = mu_g.size
    return rng.standard_normal((n, d)) @ mix_g.T + mu_g, rng.standard_normal((n, d)) @ mix_r.T + mu_r


def _mean_kernel(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray, sigma: float) -> float:
    """E exp(-|a - b|^2 / 2 sigma^2) for independent a ~ N(mu_a, cov_a), b ~ N(mu_b, cov_b)."""
    d, cov, delta = mu_a.size, cov_a + cov_b, mu_a - mu_b
    return float(np.linalg.det(np.eye(d) + cov / sigma**2) ** -0.5
                 * math.exp(-0.5 * delta @ np.linalg.solve(sigma**2 * np.eye(d) + cov, delta)))


@pytest.mark.parametrize("shift", [0.1, 0.6])  # FD 0.5: bias comparable to the spread; FD 2.6: spread dominates
def test_fd_and_kad_intervals_cover_the_truth_in_about_95_percent_of_trials(shift: float) -> None:
    d, n, trials, sigma = 4, 200, 100, 2.5
    mix_g, mu_g, mix_r, mu_r = _gaussians(d, shift)
    cov_g, cov_r = mix_g @ mix_g.T, mix_r @ mix_r.T
    true_fd = frechet_distance(mu_g, cov_g, mu_r, cov_r, method="sqrtm")
    true_kad = 100 * (_mean_kernel(mu_g, cov_g, mu_g, cov_g, sigma) + _mean_kernel(mu_r, cov_r, mu_r, cov_r, sigma)
                      - 2 * _mean_kernel(mu_g, cov_g, mu_r, cov_r, sigma))
    rng = np.random.default_rng(1)
    fd_hits = kad_hits = 0
    for trial in range(trials):
        gen, ref = _draw(rng, n, mix_g, mu_g, mix_r, mu_r)
        lo, hi = bootstrap_fd(gen, ref, 100, trial)
        fd_hits += lo <= true_fd <= hi
        lo, hi = bootstrap_kad(gen, ref, 100, trial, bandwidth=sigma)
        kad_hits += lo <= true_kad <= hi
    low, high = COVERAGE_TOLERANCE
    assert low <= fd_hits / trials <= high, (fd_hits, true_fd)
    assert low <= kad_hits / trials <= high, (kad_hits, true_kad)


@pytest.mark.slow
def test_fad_inf_interval_covers_the_truth() -> None:
    d, n, trials = 4, 200, 100
    mix_g, mu_g, mix_r, mu_r = _gaussians(d, 0.3)
    truth = frechet_distance(mu_g, mix_g @ mix_g.T, mu_r, mix_r @ mix_r.T, method="sqrtm")
    rng = np.random.default_rng(2)
    hits = 0
    for trial in range(trials):
        lo, hi = bootstrap_fad_inf(*_draw(rng, n, mix_g, mu_g, mix_r, mu_r), seed=trial)
        hits += lo <= truth <= hi
    assert COVERAGE_TOLERANCE[0] <= hits / trials <= COVERAGE_TOLERANCE[1]


def test_paired_resampling_keeps_a_near_copy_interval_tight() -> None:
    """gen = ref + a known shift + small per-clip noise: pairs move together, so the FD of every paired
    draw stays near the point. Resampling the two sets independently (the old bug) adds the spread of
    two unrelated draws of the reference and widens the interval ~20x."""
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((300, 32))
    gen = ref + 1 / np.sqrt(32) + 0.1 * rng.standard_normal((300, 32))  # true FD = 1 + 32 (sqrt(1.01) - 1)^2
    point = frechet_distance_features(gen, ref)
    lo, hi = bootstrap_fd(gen, ref, 200, 0)
    assert lo <= point <= hi and lo <= 1.0008 <= hi
    assert hi - lo < 0.1
    assert bootstrap_fd(gen, ref, 200, 0) == (lo, hi)
    draws = bootstrap_indices(300, 50, 0)
    independent = [frechet_distance_features(gen[a], ref[b], "eig") for a, b in zip(draws, draws[::-1])]
    assert np.std(fd_resamples(gen, ref, draws)) < np.std(independent) / 5


def test_a_copy_of_the_reference_scores_exactly_zero_with_zero_intervals() -> None:
    ref = np.random.default_rng(0).standard_normal((300, 32))
    gen = ref.copy()
    for method in ("sqrtm", "eig"):
        assert frechet_distance_features(gen, ref, method) == 0.0
    assert kernel_audio_distance(gen, ref) == 0.0
    assert fad_inf(gen, ref) == (0.0, 0.0)
    for interval in (bootstrap_fd(gen, ref), bootstrap_kad(gen, ref), bootstrap_fad_inf(gen, ref)):
        assert interval is not None and max(abs(interval[0]), abs(interval[1])) <= 1e-9


def test_near_copies_score_about_zero_not_a_large_negative() -> None:
    """KAD without the paired diagonal k(x_i, y_i) and FAD-inf with paired subsets give a copy (up to
    1e-9 noise, so no exact-equality shortcut applies) ~0; the old estimators gave it -0.26 and -1.05."""
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((300, 32))
    gen = ref + 1e-9 * rng.standard_normal(ref.shape)
    assert abs(kernel_audio_distance(gen, ref)) < 1e-6
    assert abs(fad_inf(gen, ref)[0]) < 1e-6
    assert abs(frechet_distance_features(gen, ref, "eig")) < 1e-6
    for interval in (bootstrap_fd(gen, ref, 50), bootstrap_kad(gen, ref, 50), bootstrap_fad_inf(gen, ref, 10)):
        assert interval is not None and 0.0 <= interval[0] <= interval[1] < 1e-6


def test_clamped_values_stay_inside_their_intervals_at_round_off() -> None:
    """A copy up to 1e-9 noise: FD (sqrtm), KAD and FAD-inf come out as round-off of either sign; each is
    clamped at 0 with a note, and its interval, built around the unclamped value, still holds it."""
    from v2abench.metrics.base import Direction, MetricResult
    from v2abench.metrics.embedding import distribution_results

    rng = np.random.default_rng(10)
    ref = rng.standard_normal((300, 32))
    gen = ref + 1e-9 * rng.standard_normal(ref.shape)

    def make(mid: str, value: float | None, n: int, **kw: Any) -> MetricResult:
        return MetricResult(mid, value, Direction.LOWER, n, **kw)

    for method in ("sqrtm", "eig"):
        for result in distribution_results(make, 0, "fd", "kad", "fad_inf", gen, ref, 300, fd_method=method):
            assert result.value is not None and result.interval is not None, result
            assert 0.0 <= result.interval[0] <= result.value <= result.interval[1] < 1e-6, result
            assert not result.extra.get("clamped") or result.extra["raw_value"] < 0


def test_paired_kad_is_the_u_statistic_without_the_paired_diagonal() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((25, 5)), rng.standard_normal((25, 5)) + 0.3
    sigma = 1.7
    k = lambda p, q: math.exp(-np.sum((p - q) ** 2) / (2 * sigma**2))  # noqa: E731
    h = sum(k(x[i], x[j]) + k(y[i], y[j]) - k(x[i], y[j]) - k(x[j], y[i]) for i in range(25) for j in range(25) if i != j)
    assert kernel_audio_distance(x, y, bandwidth=sigma) == pytest.approx(100 * h / (25 * 24), rel=1e-9)
    # a resample equals the statistic of the explicitly repeated sets (repeats are distinct positions)
    draw = bootstrap_indices(25, 1, 7)
    assert kad_resamples(x, y, draw, bandwidth=sigma)[0] == pytest.approx(
        kernel_audio_distance(x[draw[0]], y[draw[0]], bandwidth=sigma), rel=1e-9)


def test_kad_kernel_blocks_add_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from v2abench.metrics import kernel_distance

    rng = np.random.default_rng(9)
    x, y = rng.standard_normal((50, 3)), rng.standard_normal((50, 3)) + 0.2
    draws = bootstrap_indices(50, 4, 0)
    whole = kad_resamples(x, y, draws)
    monkeypatch.setattr(kernel_distance, "BLOCK_ENTRIES", 7 * 50)  # 7 kernel rows per block
    assert kad_resamples(x, y, draws) == pytest.approx(whole, rel=1e-12, abs=1e-12)


def test_frame_level_draws_take_every_frame_of_a_drawn_clip_for_both_sets() -> None:
    """VGGish gives several rows per clip: a draw of clips weights all of a clip's rows, in both sets."""
    rng = np.random.default_rng(4)
    sizes_g, sizes_r = rng.integers(2, 6, 40), rng.integers(2, 6, 40)
    gen_clip, ref_clip = clip_rows(sizes_g), clip_rows(sizes_r)
    clip_effect = rng.standard_normal((40, 6)) * 2  # frames of a clip share a clip-level offset
    gen = clip_effect[gen_clip] + rng.standard_normal((gen_clip.size, 6)) + 0.5
    ref = clip_effect[ref_clip] + rng.standard_normal((ref_clip.size, 6))
    draws = bootstrap_indices(40, 3, 0)
    got = fd_resamples(gen, ref, draws, gen_clip=gen_clip, ref_clip=ref_clip)
    for value, draw in zip(got, draws):
        rows_g = np.concatenate([np.flatnonzero(gen_clip == c) for c in draw])
        rows_r = np.concatenate([np.flatnonzero(ref_clip == c) for c in draw])
        assert value == pytest.approx(frechet_distance_features(gen[rows_g], ref[rows_r], "eig"), rel=1e-9)
    weights = row_weights(draws, 40, gen_clip)
    assert weights.shape == (3, gen_clip.size) and np.array_equal(weights.sum(1), [sizes_g[d].sum() for d in draws])
    lo, hi = bootstrap_fd(gen, ref, 100, 0, gen_clip=gen_clip, ref_clip=ref_clip)
    assert 0.0 <= lo <= frechet_distance_features(gen, ref) <= hi
    assert bootstrap_fd(gen, gen, 50, 0, gen_clip=gen_clip, ref_clip=gen_clip) == (0.0, 0.0)
    with pytest.raises(ValueError, match="same clips"):
        fd_resamples(gen, ref[: ref_clip.searchsorted(30)], draws, gen_clip=gen_clip, ref_clip=ref_clip[ref_clip < 30])


@pytest.mark.parametrize("seed", range(4))
def test_every_interval_holds_its_point_and_distances_stay_non_negative(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, d = (30, 100, 300, 120)[seed], (4, 16, 32, 200)[seed]  # the last: fewer clips than dimensions
    ref = rng.standard_normal((n, d))
    gen = ref * rng.uniform(0.5, 1.5) + rng.standard_normal((n, d)) * rng.uniform(0.01, 2.0) + rng.uniform(-0.3, 0.3)
    checks = {
        "fd": (max(frechet_distance_features(gen, ref, "eig"), 0.0), bootstrap_fd(gen, ref, 100, seed)),
        "kad": (max(kernel_audio_distance(gen, ref), 0.0), bootstrap_kad(gen, ref, 100, seed)),
        "fad_inf": (max(fad_inf(gen, ref)[0], 0.0), bootstrap_fad_inf(gen, ref, 20, seed)),
    }
    logits = rng.standard_normal((n, 12)) * rng.uniform(0.5, 4.0)
    for split_size in (None, IS_SPLIT_SIZE, 10):
        checks[f"is/{split_size}"] = (inception_score(logits, split_size=split_size)[0],
                                      inception_score_interval(logits, 200, seed, split_size=split_size))
    per_clip = rng.exponential(size=n)
    checks["kl"] = (per_clip.mean(), mean_interval(per_clip, 1000, seed))
    for name, (point, interval) in checks.items():
        assert interval is not None, name
        lo, hi = interval
        assert lo <= point <= hi, (name, point, interval)
        if not name.startswith(("is", "kl")):
            assert 0.0 <= lo, (name, interval)


def _class_logits(rng: np.random.Generator, n: int, classes: int = 12) -> np.ndarray:
    labels = rng.integers(0, classes, n)
    logits = rng.standard_normal((n, classes))
    logits[np.arange(n), labels] += 3.0
    return logits


def test_is_at_a_fixed_split_size_is_comparable_across_table_sizes() -> None:
    """IS depends on the clips per split: with 10 splits a 300-clip table (30 per split) scores higher
    than a 100-clip table (10 per split) of the same generator; at 100 clips per split both agree."""
    rng = np.random.default_rng(5)
    ten, fixed = [], []
    for _ in range(30):
        big, small = _class_logits(rng, 300), _class_logits(rng, 100)
        ten.append(inception_score(big)[0] - inception_score(small)[0])
        fixed.append(inception_score(big, split_size=IS_SPLIT_SIZE)[0] - inception_score(small, split_size=IS_SPLIT_SIZE)[0])
    assert np.mean(ten) > 5 * np.std(ten) / np.sqrt(len(ten))  # the 10-split gap is systematic
    assert abs(np.mean(fixed)) < 3 * np.std(fixed) / np.sqrt(len(fixed))
    assert abs(np.mean(fixed)) < np.mean(ten) / 4
    assert str(IS_SPLIT_SIZE) in IS_POLICY


def test_is_resamples_are_scored_as_the_drawn_clip_list_and_the_interval_holds_the_point() -> None:
    rng = np.random.default_rng(6)
    logits = _class_logits(rng, 100)  # 100 clips of 12 classes: the board case where IS sat outside its interval
    draws = bootstrap_indices(100, 5, 0)
    for split_size in (None, IS_SPLIT_SIZE, 30):
        got = inception_score_resamples(logits, draws, split_size=split_size)
        expected = [inception_score(logits[draw], split_size=split_size)[0] for draw in draws]
        assert got == pytest.approx(expected, rel=1e-12)
        if split_size == IS_SPLIT_SIZE:  # one split of all 100 clips: a draw holds ~63 distinct clips
            many = inception_score_resamples(logits, bootstrap_indices(100, 200, 1), split_size=split_size)
            assert np.mean(many) < inception_score(logits, split_size=split_size)[0]  # duplicates bias IS low
        lo, hi = inception_score_interval(logits, 200, 0, split_size=split_size)
        assert lo <= inception_score(logits, split_size=split_size)[0] <= hi


def test_eig_trace_sqrt_survives_singular_covariances() -> None:
    rng = np.random.default_rng(8)
    base = rng.standard_normal((400, 24))
    rank_deficient = base[:, :12] @ rng.standard_normal((12, 24))  # rank 12 of 24
    (mu_g, s_g), (mu_r, s_r) = [(x.mean(0), np.cov(x, rowvar=False)) for x in (base, rank_deficient)]
    root = scipy.linalg.sqrtm(s_g @ s_r).real
    direct = float((mu_g - mu_r) @ (mu_g - mu_r) + np.trace(s_g) + np.trace(s_r) - 2 * np.trace(root))
    assert frechet_distance(mu_g, s_g, mu_r, s_r, method="eig") == pytest.approx(direct, rel=1e-6)
    assert frechet_distance(mu_r, s_r, mu_g, s_g, method="eig") == pytest.approx(direct, rel=1e-6)
    both = frechet_distance(mu_r, s_r, mu_r + 1.0, s_r * 1.5, method="eig")  # both singular
    assert both == pytest.approx(24 + np.trace(s_r) * (2.5 - 2 * math.sqrt(1.5)), rel=1e-6)  # known in closed form


# ---------------------------------------------------------------- through the metric families


def _tiny_samples(n: int = 6) -> list[Any]:
    from v2abench.data.splits import load_split
    from v2abench.evaluation.clips import decode_for_eval

    return [decode_for_eval(r, 4.0) for r in load_split("synthfoley-tiny-test", limit=n).clips]


def test_synthprobe_family_scores_ground_truth_zero_and_every_interval_holds_its_point(tiny_world: Path) -> None:
    from v2abench.metrics.base import ClipSample
    from v2abench.metrics.synthprobe_metrics import SynthProbeMetrics
    from v2abench.probes.load import random_synthprobe

    clips = _tiny_samples()
    probe = random_synthprobe(0, [c.record.caption or "" for c in clips])

    def run(generated: Any) -> dict[str, Any]:
        family = SynthProbeMetrics(probe, use_cache=False, bootstrap_resamples=200)
        for i, clip in enumerate(clips):
            ref = clip.reference - clip.reference.mean()
            gen = generated(i, ref)
            family.update(ClipSample(clip.record.id, gen, 16_000, ref, 16_000, 4.0, clip.record.onsets,
                                     clip.record.caption, clip.frames, 25.0))
        return {r.id: r for r in family.compute()}

    same = run(lambda i, ref: ref.clone())
    for mid in ("fd@synthprobe", "kad@synthprobe", "fad_inf@synthprobe"):
        assert same[mid].value is not None and abs(same[mid].value) <= 1e-9, mid
        assert same[mid].interval is not None and max(map(abs, same[mid].interval)) <= 1e-9, mid
    noisy = run(lambda i, ref: ref + 0.05 * torch.randn(ref.shape, generator=torch.Generator().manual_seed(i)))
    for mid, result in noisy.items():
        if result.interval is None or result.value is None:
            continue
        assert result.interval[0] <= result.value <= result.interval[1], (mid, result.value, result.interval)
    for mid in ("fd@synthprobe", "kad@synthprobe", "fad_inf@synthprobe"):
        assert noisy[mid].value >= 0 and noisy[mid].interval[0] >= 0, mid
    assert noisy["is@synthprobe"].extra["split_size"] == IS_SPLIT_SIZE
