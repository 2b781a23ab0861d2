"""Metric states reduce across processes: two shards merged give the numbers of one pass.

Covers every metric family on the synthfoley board (configs/benchmarks/synthfoley.yaml): onset,
speed and the @synthprobe family (with a seeded random probe), plus the float64 sufficient
statistics of the streaming Fréchet distance. "The same numbers" means every metric's value,
interval, n, dropped ids, per-clip terms and extras, to 1e-9.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from v2abench.metrics.base import ClipSample, MetricFamily, MetricResult
from v2abench.metrics.frechet import FrechetDistance
from v2abench.metrics.onset import OnsetMetrics
from v2abench.metrics.speed import SpeedMetrics
from v2abench.metrics.synthprobe_metrics import SynthProbeMetrics
from conftest import close_nested as _close

RATE = 16_000
SPLIT = "synthfoley-tiny-test"


@pytest.fixture(autouse=True)
def _one_thread(one_thread: None) -> None:
    """One intra-op thread for every test of this module (conftest.one_thread)."""


@pytest.fixture(scope="module")
def samples(tiny_world: Path, session_home: Path) -> list[ClipSample]:
    """The tiny test clips, generated audio alternating between the truth and noise; a few clips lack
    a reference, a caption or frames so that per-metric dropped ids are merged too."""
    from v2abench.data.splits import load_split
    from v2abench.evaluation.clips import decode_for_eval

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("V2ABENCH_HOME", str(session_home))
        records = load_split(SPLIT).clips
    out = []
    for i, record in enumerate(records):
        clip = decode_for_eval(record, 4.0)
        ref = clip.reference - clip.reference.mean()
        noise = torch.randn(ref.shape, generator=torch.Generator().manual_seed(i)) * 0.1
        gen = ref if i % 3 else noise
        out.append(ClipSample(
            record.id, gen, RATE, None if i == 4 else ref, None if i == 4 else RATE, 4.0, record.onsets,
            None if i == 5 else record.caption, None if i == 7 else clip.frames, 25.0, seconds=0.01 * (i + 1), nfe=i,
            conditioning=None if i % 2 else ref[: int(1.5 * RATE)], conditioning_rate=RATE,  # FE-style prefix
        ))
    return out


def _probe(samples: list[ClipSample]) -> Any:
    from v2abench.probes.load import random_synthprobe

    return random_synthprobe(0, [s.caption or "" for s in samples])


def _assert_same(a: list[MetricResult], b: list[MetricResult]) -> None:
    assert [r.id for r in a] == [r.id for r in b]
    for x, y in zip(a, b):
        assert (x.n, x.dropped, x.direction, x.backbone) == (y.n, y.dropped, y.direction, y.backbone), x.id
        if x.value is None:
            assert y.value is None, x.id
        else:
            assert y.value == pytest.approx(x.value, rel=1e-9, abs=1e-9), x.id
        assert (x.interval is None) == (y.interval is None), x.id
        if x.interval is not None:
            assert y.interval == pytest.approx(x.interval, rel=1e-9, abs=1e-9), x.id
        assert _close(x.extra, y.extra), x.id
        assert _close(x.per_clip, y.per_clip), x.id



FAMILIES: dict[str, Callable[[list[ClipSample]], MetricFamily]] = {
    "onset": lambda s: OnsetMetrics(),
    "speed": lambda s: SpeedMetrics(),
    "synthprobe": lambda s: SynthProbeMetrics(_probe(s), use_cache=False),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_two_shards_merged_equal_one_pass(samples: list[ClipSample], name: str) -> None:
    make = FAMILIES[name]
    whole = make(samples)
    for s in samples:
        whole.update(s)
    shards = [make(samples), make(samples)]
    for i, s in enumerate(samples):  # interleaved: shard i % 2, as `eval --shard I/2` splits a split
        shards[i % 2].update(s)
    # shard 1 into shard 0, and (through a pickled state, as the runner stores it) shard 0 into a fresh family
    first = make(samples)
    first.merge(shards[0])
    first.merge(shards[1])
    second = make(samples)
    second.merge_state(pickle.loads(pickle.dumps(shards[1].state_dict())))
    second.merge_state(pickle.loads(pickle.dumps(shards[0].state_dict())))
    expected = whole.compute()
    assert all(r.value is not None for r in expected if r.id != "nfe"), [r.id for r in expected if r.value is None]
    _assert_same(expected, first.compute())
    _assert_same(expected, second.compute())


def test_merging_a_clip_twice_or_another_family_is_refused(samples: list[ClipSample]) -> None:
    a, b = OnsetMetrics(), OnsetMetrics()
    a.update(samples[0])
    b.update(samples[0])
    with pytest.raises(ValueError, match="scored twice"):
        a.merge(b)
    with pytest.raises(TypeError):
        a.merge(SpeedMetrics())
    with pytest.raises(ValueError, match="lacks"):
        a.merge_state({"dropped": {}})


def test_state_is_plain_data_and_reloads(samples: list[ClipSample]) -> None:
    family = SynthProbeMetrics(_probe(samples), use_cache=False)
    for s in samples[:5]:
        family.update(s)
    state = pickle.loads(pickle.dumps(family.state_dict()))
    again = SynthProbeMetrics(_probe(samples), use_cache=False)
    again.load_state_dict(state)
    _assert_same(family.compute(), again.compute())
    assert "probe" not in state and "cache" not in state  # the backbone never travels


def test_streaming_fd_sums_merge_and_check_dimensions() -> None:
    rng = np.random.default_rng(0)
    gen, ref = rng.standard_normal((400, 8)), rng.standard_normal((400, 8)) + 0.3
    whole, parts = FrechetDistance(8), [FrechetDistance(8), FrechetDistance(8)]
    whole.update(gen, real=False)
    whole.update(ref, real=True)
    for k, part in enumerate(parts):
        part.update(gen[k::2], real=False)
        part.update(ref[k::2], real=True)
    parts[0].merge(parts[1])
    assert parts[0].compute() == pytest.approx(whole.compute(), rel=1e-9)
    with pytest.raises(ValueError, match="dimension"):
        parts[0].merge(FrechetDistance(4))
