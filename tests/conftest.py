"""Shared fixtures: an isolated V2ABENCH_HOME per test session, and the tiny SynthFoley world."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("v2abench-home")


@pytest.fixture(autouse=True)
def _isolated_home(session_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(session_home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_world(session_home: Path) -> Path:
    """The tiny SynthFoley world, generated once per test session under the session home."""
    from v2abench.data.synthfoley import generate_world

    root = session_home / "data" / "synthfoley-tiny"
    generate_world(root, scale="tiny", seed=0, workers=2, progress=False)
    return root


@pytest.fixture
def one_thread() -> object:
    """One intra-op torch thread for the test (tiny models: as fast, and robust when the CPU is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def close_nested(a: object, b: object, tol: float = 1e-9) -> bool:
    """Nested dicts/lists/tuples equal, floats to ``tol`` relative and absolute (NaN equals NaN)."""
    import math

    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(close_nested(a[k], b[k], tol) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(close_nested(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol) or (math.isnan(a) and math.isnan(b))
    return a == b


def clicks(times: list[float], rate: int = 16_000, duration: float = 4.0, seed: int = 0) -> torch.Tensor:
    """Decaying noise bursts at ``times`` (seconds): a signal with unambiguous onsets."""
    rng = np.random.default_rng(seed)
    y = np.zeros(int(duration * rate))
    n = int(0.08 * rate)
    env = np.exp(-np.arange(n) / (0.01 * rate))
    for t in times:
        i = int(t * rate)
        seg = rng.standard_normal(n) * env * 0.5
        y[i : i + n] += seg[: len(y) - i]
    return torch.from_numpy(y).float()
