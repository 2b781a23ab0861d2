"""Math parity of the distribution and classifier metrics on fixed random data."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import scipy.linalg

from v2abench.metrics.class_scores import inception_score, kl_divergence, kl_per_pair
from v2abench.metrics.bootstrap import bootstrap_indices
from v2abench.metrics.frechet import FrechetDistance, bootstrap_fd, fad_inf, fd_resamples, frechet_distance_features
from v2abench.metrics.kernel_distance import kernel_audio_distance, median_bandwidth


def direct_fd(a: np.ndarray, b: np.ndarray) -> float:
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root))


@pytest.fixture(scope="module")
def embeddings() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    mix = rng.standard_normal((32, 32)) / 6
    a = rng.standard_normal((1500, 32)) @ (np.eye(32) + mix)
    b = rng.standard_normal((1200, 32)) * 1.2 + 0.3
    return a, b


def test_streaming_fd_matches_direct_formula(embeddings: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = embeddings
    fd = FrechetDistance(32)
    for chunk in np.array_split(a, 7):
        fd.update(chunk, real=False)
    for chunk in np.array_split(b, 3):
        fd.update(chunk.astype(np.float32).astype(np.float64), real=True)
    assert fd.compute() == pytest.approx(direct_fd(a, b), rel=1e-6)


def test_merged_states_equal_one_pass(embeddings: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = embeddings
    whole, left, right = FrechetDistance(32), FrechetDistance(32), FrechetDistance(32)
    whole.update(a, real=False), whole.update(b, real=True)
    left.update(a[:700], real=False), left.update(b[:600], real=True)
    right.update(a[700:], real=False), right.update(b[600:], real=True)
    left.merge(right)
    assert left.compute() == pytest.approx(whole.compute(), rel=1e-10)


def test_eig_variant_agrees_with_sqrtm(embeddings: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = embeddings
    assert frechet_distance_features(a, b, method="eig") == pytest.approx(frechet_distance_features(a, b), rel=1e-6)


def test_low_rank_trace_equals_covariance_eig_path() -> None:
    from v2abench.metrics.frechet import frechet_distance, gaussian_stats

    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((40, 64)), rng.standard_normal((30, 64)) * 0.7 + 0.2
    lowrank = frechet_distance_features(a, b, method="eig")  # N < D: nuclear norm of A B^T
    full = frechet_distance(*gaussian_stats(a), *gaussian_stats(b), method="eig")
    assert lowrank == pytest.approx(full, rel=1e-7)  # the covariance path adds sqrt(round-off) of null eigenvalues


def test_fd_high_dimension_is_real_and_non_negative() -> None:
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2000, 2048)).astype(np.float32)
    b = (rng.standard_normal((2000, 2048)) * 1.05).astype(np.float32)
    value = frechet_distance_features(a, b)
    assert isinstance(value, float) and math.isfinite(value) and value >= 0
    same = frechet_distance_features(a, a[::-1].copy(), method="eig")  # equal statistics up to round-off
    assert abs(same) < 1e-6 * np.trace(np.cov(a.astype(np.float64), rowvar=False))


def test_bootstrap_draws_are_paired_and_the_interval_is_cheap(embeddings: tuple[np.ndarray, np.ndarray]) -> None:
    """One draw of clip indices serves both sets: each resampled FD is the FD of gen[draw] and ref[draw].
    The old bug drew the two sets independently, which this reconstruction tells apart."""
    a, b = embeddings
    a, b = a[:1200], b  # paired sets hold the same clips
    draws = bootstrap_indices(1200, 3, 0)
    expected = [frechet_distance_features(a[d], b[d], method="eig") for d in draws]
    assert fd_resamples(a, b, draws) == pytest.approx(expected, rel=1e-9)
    point = frechet_distance_features(a, b)
    start = time.perf_counter()
    lo, hi = bootstrap_fd(a, b, resamples=200, seed=0)
    assert 0.0 <= lo <= point <= hi
    assert bootstrap_fd(a, b, resamples=200, seed=0) == (lo, hi)
    assert time.perf_counter() - start < 60


def test_fad_inf_removes_the_sample_size_bias() -> None:
    rng = np.random.default_rng(2)
    ref = rng.standard_normal((2000, 16))
    gen = rng.standard_normal((2000, 16))  # the same distribution: FD at infinite N is 0
    biased = frechet_distance_features(gen, ref)
    intercept, slope = fad_inf(gen, ref, seed=0)
    assert slope > 0
    assert abs(intercept) < biased / 3
    assert fad_inf(gen, ref, seed=0) == (intercept, slope)
    with pytest.raises(ValueError, match="same clips"):  # subsets are drawn paired, by clip
        fad_inf(gen[:1000], ref, seed=0)


def test_kad_matches_direct_double_loop() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((40, 5)), rng.standard_normal((30, 5)) + 0.5
    dists = [np.linalg.norm(y[i] - y[j]) for i in range(30) for j in range(30) if i != j]
    sigma = float(np.median(dists))
    assert median_bandwidth(y) == pytest.approx(sigma)
    k = lambda p, q: math.exp(-np.sum((p - q) ** 2) / (2 * sigma**2))  # noqa: E731
    kxx = sum(k(x[i], x[j]) for i in range(40) for j in range(40) if i != j) / (40 * 39)
    kyy = sum(k(y[i], y[j]) for i in range(30) for j in range(30) if i != j) / (30 * 29)
    kxy = sum(k(x[i], y[j]) for i in range(40) for j in range(30)) / (40 * 30)
    assert kernel_audio_distance(x, y) == pytest.approx(100 * (kxx + kyy - 2 * kxy), rel=1e-9)
    assert abs(kernel_audio_distance(y[:15], y[15:])) < kernel_audio_distance(x, y)


def test_kl_direction_and_averaging() -> None:
    ref = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
    gen = np.log(np.array([[0.4, 0.4, 0.2], [0.3, 0.3, 0.4]]))
    p, q = np.exp(ref), np.exp(gen)
    expected_ref_gen = np.mean([np.sum(p[i] * np.log(p[i] / q[i])) for i in range(2)])
    expected_gen_ref = np.mean([np.sum(q[i] * np.log(q[i] / p[i])) for i in range(2)])
    assert kl_divergence(gen, ref) == pytest.approx(expected_ref_gen, rel=1e-12)
    assert kl_divergence(gen, ref, direction="gen_ref") == pytest.approx(expected_gen_ref, rel=1e-12)
    assert expected_ref_gen != pytest.approx(expected_gen_ref)
    assert kl_per_pair(ref, ref).abs().max() < 1e-12


def test_inception_score_extremes_and_split_rule() -> None:
    confident = np.full((1000, 10), -30.0)
    confident[np.arange(1000), np.arange(1000) % 10] = 30.0
    mean, _ = inception_score(confident)
    assert 9.0 < mean <= 10.0  # exp(entropy of each split's class marginal): at most 10 classes
    one_class = np.zeros((200, 10))
    one_class[:, 3] = 50.0
    assert inception_score(one_class)[0] == pytest.approx(1.0)
    assert inception_score(np.zeros((100, 10)))[0] == pytest.approx(1.0)
    # the split rule: RandomState(2020) shuffle, splits at i*N//10, computed here by hand
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((95, 7)) * 3
    order = np.random.RandomState(2020).permutation(95)
    prob = np.exp(logits[order]) / np.exp(logits[order]).sum(1, keepdims=True)
    bounds = [i * 95 // 10 for i in range(11)]
    scores = []
    for part in (prob[bounds[i] : bounds[i + 1]] for i in range(10)):
        py = part.mean(0)
        scores.append(np.exp(np.mean(np.sum(part * (np.log(part) - np.log(py)), axis=1))))
    got_mean, got_std = inception_score(logits)
    assert got_mean == pytest.approx(np.mean(scores), rel=1e-9)
    assert got_std == pytest.approx(np.std(scores), rel=1e-9)
