"""Backbone metric families end to end on real SynthFoley audio with seeded random backbones."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from v2abench import media
from v2abench.data.splits import load_split
from v2abench.metrics.backbones import build_backbone
from v2abench.metrics.base import ClipSample
from v2abench.metrics.catalog import build_families
from v2abench.metrics.embedding import EmbeddingMetrics
from v2abench.metrics.style_similarity import StyleSimilarity


def _samples(tiny_world: Path, n: int = 6) -> list[ClipSample]:
    clips = load_split("synthfoley-tiny-test").clips[:n]
    out = []
    for i, c in enumerate(clips):
        ref = media.decode_audio(c.video, sample_rate=16000)[0].mean(0)
        gen = ref.roll(1600 * (i + 1)) * 0.8  # a shifted, quieter copy
        out.append(ClipSample(c.id, gen, 16000, ref, 16000, 4.0))
    return out


@pytest.mark.parametrize("name", ["vggish", "panns"])
def test_embedding_family_with_random_backbone(tiny_world: Path, name: str) -> None:
    samples = _samples(tiny_world)
    results = []
    for _ in range(2):
        # a 2048-d sqrtm takes a minute here (covered in test_metric_math); panns uses the exact eig path
        fam = EmbeddingMetrics(build_backbone(name, random_init=True, seed=0), fd_method="sqrtm" if name == "vggish" else "eig", bootstrap_resamples=50)
        for s in samples:
            fam.update(s)
        results.append({r.id: r for r in fam.compute()})
    first, second = results
    fd = "fad@vggish" if name == "vggish" else "fd@panns"
    assert first[fd].value is not None and first[fd].value >= 0
    assert first[fd].n == len(samples) and first[fd].backbone == name
    assert {k: v.value for k, v in first.items()} == {k: v.value for k, v in second.items()}  # deterministic (and cached)
    if name == "panns":
        assert first["kl@panns"].value >= 0 and first["is@panns"].value >= 1.0


def test_ground_truth_against_itself_scores_zero_with_frames_resampled_by_clip(tiny_world: Path) -> None:
    """VGGish pools several frames per clip; ground truth scored against itself gets FD, KAD and FAD-inf
    values and intervals of exactly 0, and a shifted copy gets non-negative, point-holding intervals."""
    samples = _samples(tiny_world)
    backbone = build_backbone("vggish", random_init=True, seed=0)
    same, shifted = EmbeddingMetrics(backbone, bootstrap_resamples=50), EmbeddingMetrics(backbone, bootstrap_resamples=50)
    for s in samples:
        same.update(ClipSample(s.id, s.reference, 16000, s.reference, 16000, 4.0))
        shifted.update(s)
    zero, moved = {r.id: r for r in same.compute()}, {r.id: r for r in shifted.compute()}
    assert len(same.gen[samples[0].id].embeddings) > 1  # several frames per clip
    for mid in ("fad@vggish", "kad@vggish", "fad_inf@vggish"):
        assert zero[mid].value is not None and abs(zero[mid].value) <= 1e-9, mid
        assert zero[mid].interval is not None and max(map(abs, zero[mid].interval)) <= 1e-9, mid
        lo, hi = moved[mid].interval
        assert 0.0 <= lo <= moved[mid].value <= hi, (mid, moved[mid].value, moved[mid].interval)


def test_resemblyzer_prefers_the_reference_itself(tiny_world: Path) -> None:
    samples = _samples(tiny_world, 4)
    same, other = StyleSimilarity(build_backbone("resemblyzer"), bootstrap_resamples=50), StyleSimilarity(build_backbone("resemblyzer"), bootstrap_resamples=50)
    for s in samples:
        same.update(ClipSample(s.id, s.reference, 16000, s.reference, 16000, 4.0))
        other.update(ClipSample(s.id, torch.randn(64000) * 0.1, 16000, s.reference, 16000, 4.0))
    assert same.compute()[0].value == pytest.approx(1.0, abs=1e-5)
    assert other.compute()[0].value < 0.95


def test_missing_backbone_weights_are_skipped_with_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    families, not_computed = build_families(["onset_acc", "fad@vggish", "kl@passt"])
    assert [type(f).__name__ for f in families] == ["OnsetMetrics"]
    assert "v2abench weights fetch vggish" in not_computed["fad@vggish"]
    assert "v2abench weights fetch passt-s-swa-ap476" in not_computed["kl@passt"]
    with pytest.raises(ValueError, match="unknown metric"):
        build_families(["fad@nothing"])
