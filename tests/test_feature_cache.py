"""The feature cache is keyed by extractor, weights and settings, and its writes are atomic."""

from __future__ import annotations

from pathlib import Path

import torch

from v2abench.data.feature_cache import FeatureCache


def test_keys_never_collide_and_values_round_trip(tmp_path: Path) -> None:
    a = FeatureCache("mel", "f" * 64, {"n_mels": 64}, root=tmp_path)
    calls = []

    def compute() -> torch.Tensor:
        calls.append(1)
        return torch.arange(4.0)

    assert torch.equal(a.get_or_compute("c" * 64, compute), torch.arange(4.0))
    assert torch.equal(a.get_or_compute("c" * 64, compute), torch.arange(4.0))
    assert len(calls) == 1
    other_settings = FeatureCache("mel", "f" * 64, {"n_mels": 128}, root=tmp_path)
    other_weights = FeatureCache("mel", "e" * 64, {"n_mels": 64}, root=tmp_path)
    other_extractor = FeatureCache("clip", "f" * 64, {"n_mels": 64}, root=tmp_path)
    for c in (other_settings, other_weights, other_extractor):
        assert c.get("c" * 64) is None and c.dir != a.dir
    # a torn file is ignored (recomputed), never trusted
    a.path("d" * 64).write_bytes(b"garbage")
    assert a.get("d" * 64) is None
    assert not list(a.dir.glob(".*"))  # no temporary files left behind
