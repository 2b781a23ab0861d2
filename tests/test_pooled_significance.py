"""Paired significance for pooled metrics (FD, KAD, IS, onset AP) and the sidecar that carries their data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from v2abench.metrics.base import MetricResult, PooledTerms
from v2abench.metrics.catalog import metric_specs
from v2abench.metrics.class_scores import inception_score
from v2abench.metrics.bootstrap import bootstrap_indices
from v2abench.metrics.frechet import fd_resamples, frechet_distance_features
from v2abench.metrics.kernel_distance import kernel_audio_distance
from v2abench.metrics.onset import average_precision

from v2abench.boards import significance
from v2abench.results import Result, SidecarError, load_result, sidecar_path

GT = "b" * 64
N = 300
CLIPS = [f"synthfoley-test-{i:05d}" for i in range(N)]
DIM = 128  # the probe's embedding size


def _metric(mid: str, value: float, pooled: PooledTerms | None, **extra: Any) -> MetricResult:
    spec = metric_specs(with_weights=False)[mid]
    return MetricResult(mid, value, spec.direction, N, spec.backbone, spec.weights_sha256, spec.version,
                        interval=(value, value), extra=dict(extra), pooled=pooled)


def _result(name: str, metrics: list[MetricResult], paradigm: str = "baseline") -> Result:
    return Result(
        board={"name": "synthfoley", "version": 1, "table": "vta"},
        split={"name": "synthfoley-test", "ground_truth_sha256": GT, "n_clips": N, "n_clips_total": N, "duration": 4.0},
        model={"name": name, "version": "1", "paradigm": paradigm, "checkpoint_sha256": None, "params": 0, "config": {}, "config_hash": "x"},
        metrics={m.id: m for m in metrics},
    )


def _embedding_row(name: str, gen: np.ndarray, ref: np.ndarray, paradigm: str = "baseline") -> Result:
    terms = PooledTerms.collect("embeddings@synthprobe", per_clip={"gen": dict(zip(CLIPS, gen)), "ref": dict(zip(CLIPS, ref))})
    fd = frechet_distance_features(gen, ref, method="eig")
    return _result(name, [_metric("fd@synthprobe", fd, terms), _metric("kad@synthprobe", kernel_audio_distance(gen, ref), terms)], paradigm)


@pytest.fixture(scope="module")
def embedding_rows() -> list[Result]:
    """Rows on the same 300 clips: two models from one distribution (reference + noise of the same scale,
    different draws), one with twice the noise, ground truth (a copy) and a near-copy reference row."""
    rng = np.random.default_rng(0)
    dim = 16  # small, so every test stays fast
    ref = rng.normal(size=(N, dim))
    noisy = lambda scale, seed: ref + scale * np.random.default_rng(seed).normal(size=ref.shape)  # noqa: E731
    return [
        _embedding_row("ground-truth", ref, ref),
        _embedding_row("codec", noisy(0.05, 1), ref, paradigm="reference"),
        _embedding_row("model-a", noisy(0.5, 2), ref),
        _embedding_row("model-b", noisy(0.5, 3), ref),
        _embedding_row("model-far", noisy(1.0, 4), ref),
    ]


@pytest.mark.parametrize("mid", ["fd@synthprobe", "kad@synthprobe"])
def test_distribution_metrics_marked_only_for_the_same_distribution(embedding_rows: list[Result], mid: str) -> None:
    values = [r.value(mid) for r in embedding_rows]
    assert values[0] == pytest.approx(0.0, abs=1e-9) and values[1] < min(values[2:])  # the references are "better"
    best = 2 if values[2] < values[3] else 3
    assert significance.not_significant(embedding_rows, mid, "lower") == {5 - best}  # the other model only
    # compared with ground truth instead, every model would differ: that is why references never count
    lo, hi = significance.paired_difference_interval(embedding_rows[5 - best].metrics[mid], embedding_rows[0].metrics[mid])
    assert lo > 0
    lo, hi = significance.paired_difference_interval(embedding_rows[4].metrics[mid], embedding_rows[best].metrics[mid])
    assert lo > 0  # twice the noise: clearly worse


def test_pairing_resolves_a_difference_the_own_intervals_cannot() -> None:
    """One shared draw for both rows: a small but consistent shift of every generated embedding is
    significant, although independent draws for the two rows would leave it inside the noise."""
    rng = np.random.default_rng(5)
    ref = rng.normal(size=(N, 16))
    gen = ref + 0.5 * rng.normal(size=ref.shape)
    a, b = _embedding_row("a", gen, ref), _embedding_row("b", gen + 0.05, ref)
    lo, hi = significance.pooled_difference_interval(b.metrics["fd@synthprobe"], a.metrics["fd@synthprobe"])
    assert 0 < lo < hi
    unpaired = fd_resamples(gen + 0.05, ref, bootstrap_indices(N, 200, 1)) - fd_resamples(gen, ref, bootstrap_indices(N, 200, 0))
    lo, hi = np.percentile(unpaired, [2.5, 97.5])
    assert lo < 0 < hi


def _logits(sharpness: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return sharpness * np.eye(12)[rng.integers(0, 12, N)] + rng.normal(size=(N, 12))


def _is_row(name: str, logits: np.ndarray, paradigm: str = "baseline") -> Result:
    terms = PooledTerms.collect("logits@synthprobe", per_clip={"logits": dict(zip(CLIPS, logits))})
    return _result(name, [_metric("is@synthprobe", inception_score(logits, split_size=100)[0], terms, split_size=100)], paradigm)


def test_inception_score_marks() -> None:
    """Ten pairs of rows from one distribution: the pair's other row is marked in (about 95% of) them;
    a row with flatter posteriors never is; ground truth (sharpest) is never the best."""
    same, flat = 0, 0
    for k in range(10):
        rows = [_is_row("ground-truth", _logits(8.0, 100 + k)), _is_row("a", _logits(3.0, 2 * k)), _is_row("b", _logits(3.0, 2 * k + 1)),
                _is_row("flat", _logits(1.5, 50 + k))]
        values = [r.value("is@synthprobe") for r in rows]
        assert values[0] > max(values[1:])
        marked = significance.not_significant(rows, "is@synthprobe", "higher")
        assert marked <= {1, 2, 3}
        same, flat = same + len(marked & {1, 2}), flat + (3 in marked)
    assert same >= 8 and flat == 0
    # the stored split policy is the one recomputed: the point on all clips equals the row's value
    point, _ = significance._pooled_resampled(rows[1].metrics["is@synthprobe"], CLIPS, 10, 0)
    assert point == pytest.approx(values[1], rel=1e-12)


def _onsets(hit_rate: float, seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, int], float]:
    """Per clip: detection confidences, whether each hit, the number of reference onsets; and pooled AP."""
    rng = np.random.default_rng(seed)
    conf, hit, n_ref = {}, {}, {}
    for c in CLIPS:
        refs = int(rng.integers(2, 8))
        hits = rng.random(refs) < hit_rate
        false = int(rng.integers(0, 4))
        conf[c] = np.concatenate([rng.uniform(0.3, 1.0, hits.sum()), rng.uniform(0.0, 0.8, false)])
        hit[c] = np.concatenate([np.ones(hits.sum(), bool), np.zeros(false, bool)])
        n_ref[c] = refs
    ap = average_precision(np.concatenate([conf[c] for c in CLIPS]), np.concatenate([hit[c] for c in CLIPS]), sum(n_ref.values()))
    return conf, hit, n_ref, float(ap)


def _ap_row(name: str, hit_rate: float, seed: int) -> Result:
    conf, hit, n_ref, ap = _onsets(hit_rate, seed)
    terms = PooledTerms.collect("onsets", per_row={"confidence": conf, "hit": hit}, per_clip={"n_ref": n_ref})
    return _result(name, [_metric("onset_ap", ap, terms)])


def test_onset_ap_marks_and_recomputes_exactly() -> None:
    rows = [_ap_row("ground-truth", 1.0, 0), _ap_row("a", 0.6, 1), _ap_row("b", 0.6, 2), _ap_row("poor", 0.3, 3)]
    values = [r.value("onset_ap") for r in rows]
    best = 1 if values[1] > values[2] else 2
    assert significance.not_significant(rows, "onset_ap", "higher") == {3 - best}
    point, _ = significance._pooled_resampled(rows[1].metrics["onset_ap"], CLIPS, 10, 0)
    assert point == values[1]  # float32 confidences and the clip order keep the ranking: the same AP


def test_rows_without_pooled_data_and_reference_rows_are_never_marked(embedding_rows: list[Result]) -> None:
    old = _result("old", [_metric("fd@synthprobe", embedding_rows[3].value("fd@synthprobe") + 1e-6, None)])
    rows = [*embedding_rows, old]
    marked = significance.not_significant(rows, "fd@synthprobe", "lower")
    assert 5 not in marked and 0 not in marked and 1 not in marked and len(marked) == 1
    assert significance.is_reference(embedding_rows[1]) and not significance.is_reference(embedding_rows[2])


def _full_row(name: str, seed: int) -> Result:
    """A 300-clip synthprobe-sized result: 128-d embeddings (generated, reference), 12 logits, onsets."""
    rng = np.random.default_rng(seed)
    gen, ref = rng.normal(size=(N, DIM)).astype(np.float32), rng.normal(size=(N, DIM)).astype(np.float32)
    emb = PooledTerms.collect("embeddings@synthprobe", per_clip={"gen": dict(zip(CLIPS, gen)), "ref": dict(zip(CLIPS, ref))})
    logits = PooledTerms.collect("logits@synthprobe", per_clip={"logits": dict(zip(CLIPS, rng.normal(size=(N, 12)) * 3))})
    conf, hit, n_ref, ap = _onsets(0.5, seed)
    onsets = PooledTerms.collect("onsets", per_row={"confidence": conf, "hit": hit}, per_clip={"n_ref": n_ref})
    return _result(name, [_metric("fd@synthprobe", 1.0, emb), _metric("kad@synthprobe", 0.1, emb),
                          _metric("is@synthprobe", 2.0, logits), _metric("onset_ap", ap, onsets)])


def test_sidecar_round_trips_small_and_checked(tmp_path: Path) -> None:
    result = _full_row("model", 7)
    path = result.save(tmp_path)
    side = sidecar_path(path)
    doc = json.loads(path.read_text())
    assert doc["pooled"]["file"] == side.name and set(doc["pooled"]["metrics"]) == {"fd@synthprobe", "kad@synthprobe", "is@synthprobe", "onset_ap"}
    assert "pooled" not in doc["metrics"]["fd@synthprobe"]  # the arrays never enter the JSON body
    assert side.stat().st_size < 250_000, side.stat().st_size  # 300 clips x 128-d x 2 sets in float16 ~ 154 kB
    back = load_result(path)
    assert back.metrics["fd@synthprobe"].pooled is None  # lazy: nothing read until asked
    back.load_pooled()
    for mid in doc["pooled"]["metrics"]:
        mine, theirs = result.metrics[mid].pooled, back.metrics[mid].pooled
        assert theirs is not None and mine is not None
        for name, array in mine.arrays.items():
            got = np.asarray(theirs.arrays[name], np.float64)
            np.testing.assert_allclose(got, np.asarray(array, np.float64), rtol=1e-3, atol=1e-3)  # float16
            assert [theirs.clips[i] for i in theirs.members[name]] == [mine.clips[i] for i in mine.members[name]]
    assert back.metrics["fd@synthprobe"].pooled is back.metrics["kad@synthprobe"].pooled  # stored once
    again = back.save(tmp_path / "again")
    assert sidecar_path(again).read_bytes() == side.read_bytes() and again.read_text() == path.read_text()
    # a loaded result saved elsewhere without reading its data copies the sidecar too
    third = load_result(path).save(tmp_path / "third")
    assert sidecar_path(third).read_bytes() == side.read_bytes()


def test_sidecar_changes_and_losses_are_detected(tmp_path: Path) -> None:
    path = _full_row("model", 8).save(tmp_path)
    side = sidecar_path(path)
    data = bytearray(side.read_bytes())
    data[len(data) // 2] ^= 0xFF
    side.write_bytes(bytes(data))
    with pytest.raises(SidecarError, match="sha256"):
        load_result(path).load_pooled()
    side.unlink()
    with pytest.raises(SidecarError, match="missing"):
        load_result(path).load_pooled()
    other = _full_row("other", 9)
    other.metrics["fd@synthprobe"].value = 2.0
    rows = [load_result(path), other]
    with pytest.raises(SidecarError):  # a board build fails loudly rather than dropping the marks
        significance.not_significant(rows, "fd@synthprobe", "lower")


def test_old_results_without_sidecar_load_and_stay_unmarked(tmp_path: Path, embedding_rows: list[Result]) -> None:
    plain = _result("plain", [_metric("fd@synthprobe", embedding_rows[2].value("fd@synthprobe") + 1e-3, None)])
    path = plain.save(tmp_path)
    assert "pooled" not in json.loads(path.read_text()) and not sidecar_path(path).exists()
    back = load_result(path)
    back.load_pooled()  # nothing to read
    assert significance.not_significant([embedding_rows[2], back], "fd@synthprobe", "lower") == set()


def test_families_attach_data_that_reproduce_their_values(tmp_path: Path) -> None:
    """The onset and probe families store what their pooled metrics pool: after a save and load (float16
    embeddings and logits) the statistics recomputed from the sidecar equal the reported values."""
    import torch
    from conftest import clicks
    from v2abench.metrics.base import ClipSample
    from v2abench.metrics.onset import OnsetMetrics
    from v2abench.metrics.synthprobe_metrics import SynthProbeMetrics
    from v2abench.probes.load import random_synthprobe

    rng = np.random.default_rng(0)
    ids = [f"clip-{i:02d}" for i in range(12)]
    samples = []
    for cid in ids:
        times = sorted(rng.uniform(0.2, 3.6, int(rng.integers(2, 6))).round(2).tolist())
        heard = [t + float(rng.normal(0, 0.03)) for t in times if rng.random() < 0.7]
        audio = clicks(heard) + 0.01 * torch.from_numpy(rng.normal(size=64_000)).float()
        samples.append(ClipSample(cid, audio, 16_000, clicks(times), 16_000, 4.0, onsets=times))
    families = [OnsetMetrics(), SynthProbeMetrics(random_synthprobe(0), use_cache=False)]
    for family in families:
        for sample in samples:
            family.update(sample)
    metrics = [m for family in families for m in family.compute()]
    result = _result("family", metrics)
    back = load_result(result.save(tmp_path))
    back.load_pooled()
    for mid, rtol in (("onset_ap", 0.0), ("fd@synthprobe", 1e-2), ("kad@synthprobe", 1e-2), ("is@synthprobe", 1e-3)):
        metric = back.metrics[mid]
        assert metric.pooled is not None and metric.value is not None, mid
        assert sorted(metric.pooled.clips) == ids
        point, _ = significance._pooled_resampled(metric, ids, 5, 0)
        assert point == pytest.approx(metric.value, rel=rtol, abs=1e-6), mid
    assert back.metrics["fad_inf@synthprobe"].pooled is None and back.metrics["ib@synthprobe"].pooled is None


def test_board_add_copies_the_sidecar_and_the_manifest_hashes_it(tmp_path: Path, embedding_rows: list[Result]) -> None:
    from v2abench.boards.board import open_board

    specs = metric_specs()  # the board's protocol pins the probe's weights
    own = []
    for row in embedding_rows:
        for m in row.metrics.values():
            m.weights_sha256 = specs[m.id].weights_sha256
        own.append(row.save(tmp_path / "own"))
    board = open_board("synthfoley", root=tmp_path / "boards")
    board.add(own)
    manifest = json.loads((board.root / "manifest.json").read_text())
    for src in own:
        copied = board.root / "results" / "vta" / sidecar_path(src).name
        assert copied.read_bytes() == sidecar_path(src).read_bytes()
        assert manifest["inputs"][board.relative(copied)] == hashlib.sha256(copied.read_bytes()).hexdigest()
    assert significance.MARK in (board.root / "leaderboard.md").read_text()  # FD and KAD of the tied model
