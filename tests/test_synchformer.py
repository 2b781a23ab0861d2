"""Synchformer networks, front ends and ``desync@synchformer`` (random weights; no checkpoint is needed).

Fixtures (tests/fixtures/), derived by running the public reference code (hkchengrex/av-benchmark's
``av_bench.synchformer``, ``encode_video_with_sync``, ``encode_audio_with_sync`` and ``evaluate``)
outside this repository:

* ``synchformer_state_dict_keys.json``: name -> shape of every entry of av-benchmark's
  ``Synchformer()`` state dict (which loads ``synchformer_state_dict.pth`` with strict matching),
  built on the meta device.
* ``synchformer_reference_outputs.json``: window logits and per-segment feature means the reference
  computes at a reduced size (:data:`PARITY_SIZES`) with the weights of :func:`deterministic_state`
  on a 6 s clip (17 segments per stream: windows 0-13 and 3-16).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from test_imagebind import deterministic_state, parity_audio, parity_frames
from v2abench.metrics.backbones.synchformer import (
    MEL_MEAN,
    MEL_STD,
    SynchformerBackbone,
    SyncMel,
    audio_segments,
    offset_grid,
    segment_count,
    synchformer_frames,
    window_indices,
)
from v2abench.metrics.backbones.synchformer_towers import (
    SynchformerConfig,
    SynchformerNet,
    split_checkpoint,
)
from v2abench.metrics.base import ClipSample
from v2abench.metrics.desync import DeSync

FIXTURES = Path(__file__).parent / "fixtures"
PARITY_SIZES = {"dim": 32, "video_depth": 1, "video_heads": 2, "audio_depth": 1, "audio_heads": 2, "sync_depth": 1, "sync_heads": 2}
SMALL = PARITY_SIZES


@pytest.fixture(scope="module")
def small() -> SynchformerBackbone:
    return SynchformerBackbone(random_init=True, seed=0, **SMALL)


# ------------------------------------------------------------------------------------ key sets
def test_full_size_keys_match_the_reference_state_dict() -> None:
    reference = json.loads((FIXTURES / "synchformer_state_dict_keys.json").read_text())["keys"]
    with torch.device("meta"):
        net = SynchformerNet(SynchformerConfig.full())
    ours = {k: list(v.shape) for k, v in net.state_dict().items()}
    used, unused = split_checkpoint({k: torch.empty(v, device="meta") for k, v in reference.items()})
    assert {k: list(v.shape) for k, v in used.items()} == ours
    assert (len(ours), len(reference)) == (511, 513)
    assert sorted(unused) == ["vfeat_extractor.patch_embed.proj.bias", "vfeat_extractor.patch_embed.proj.weight"]
    net.load_state_dict(used, strict=True, assign=True)
    with torch.device("meta"):  # full-size forward, shapes only
        assert net.video_features(torch.empty(2, 16, 3, 224, 224)).shape == (2, 8, 768)
        assert net.audio_features(torch.empty(2, 128, 66)).shape == (2, 6, 768)
        assert net.offset_logits(torch.empty(1, 14, 8, 768), torch.empty(1, 14, 6, 768)).shape == (1, 21)
    assert SynchformerConfig.full().sync_tokens == reference["transformer.pos_emb_cfg.pos_emb"][1] == 198
    assert reference["transformer.off_head.weight"][0] == len(offset_grid()) == 21


def test_split_checkpoint_refuses_foreign_entries() -> None:
    with pytest.raises(ValueError, match="outside the model"):
        split_checkpoint({"module.vproj.weight": torch.zeros(1)})


# ------------------------------------------------------------------------------------ front ends
def test_segments_and_windows() -> None:
    assert segment_count(200, 16, 8) == 24 and segment_count(128_000, 10_240, 5_120) == 24  # 8 s
    assert segment_count(120, 16, 8) == 14 and segment_count(76_800, 10_240, 5_120) == 14  # 4.8 s: one window
    assert window_indices(24) == (list(range(14)), list(range(10, 24)))
    with pytest.raises(ValueError, match="14"):
        window_indices(13)
    grid = offset_grid()
    assert grid[0] == -2.0 and grid[-1] == 2.0 and torch.allclose(grid.diff(), torch.full((20,), 0.2, dtype=torch.float64))


def test_video_front_end() -> None:
    frames = parity_frames(30, 48, 64, seed=1)
    video = synchformer_frames(frames, 25.0, 1.0)
    assert video.shape == (25, 3, 224, 224)  # 25 fps input kept frame for frame, cut to 1 s
    assert -1.0 <= float(video.min()) and float(video.max()) <= 1.0
    assert synchformer_frames(parity_frames(30, 30, 30, seed=2), 30.0).shape == (25, 3, 224, 224)  # 30 -> 25 fps


def test_audio_front_end() -> None:
    audio = parity_audio(1.0, seed=0)
    segments = audio_segments(audio)
    assert segments.shape == (2, 10_240) and torch.equal(segments[1], audio[5_120:15_360])
    spec = SyncMel()(segments)
    assert spec.shape == (2, 128, 66)  # 65 mel frames, the 66th is padding (zeros after the log)
    assert torch.allclose(spec[:, :, 65], torch.full((2, 128), -MEL_MEAN / (2 * MEL_STD)))


# ------------------------------------------------------------------------------------ numerics
def test_matches_reference_implementation_at_reduced_size() -> None:
    doc = json.loads((FIXTURES / "synchformer_reference_outputs.json").read_text())
    assert doc["sizes"] == PARITY_SIZES
    backbone = SynchformerBackbone(random_init=True, seed=0, **PARITY_SIZES)
    backbone.net.load_state_dict(deterministic_state(backbone.net, doc["seed"]), strict=True)
    case = doc["case"]
    frames = parity_frames(case["frames"], case["height"], case["width"], case["seed"])
    audio = parity_audio(case["seconds"], case["seed"])
    video_w = backbone.video_windows(frames, case["fps"], case["seconds"])
    audio_w = backbone.audio_windows(audio, case["seconds"])
    assert video_w.shape == (2, 14, 8, 32) and audio_w.shape == (2, 14, 6, 32)
    assert torch.allclose(video_w.mean(dim=(2, 3)), torch.tensor(case["video_segment_means"]), atol=1e-5)
    assert torch.allclose(audio_w.mean(dim=(2, 3)), torch.tensor(case["audio_segment_means"]), atol=1e-5)
    logits = backbone.window_logits(video_w, audio_w)
    assert torch.allclose(logits, torch.tensor(case["logits"]), atol=1e-4, rtol=1e-4)
    assert backbone.window_offsets(video_w, audio_w).tolist() == pytest.approx(case["offsets"])


def test_random_weights_are_seeded_and_deterministic(small: SynchformerBackbone) -> None:
    audio = parity_audio(4.8, seed=4)
    first = small.audio_windows(audio)
    assert first.shape == (2, 14, 6, 32) and torch.equal(first[0], first[1])  # 4.8 s: both windows coincide
    assert torch.equal(first, SynchformerBackbone(random_init=True, seed=0, **SMALL).audio_windows(audio))
    assert not torch.equal(first, SynchformerBackbone(random_init=True, seed=1, **SMALL).audio_windows(audio))


# ------------------------------------------------------------------------------------ weights
def test_reduced_sizes_refuse_real_weights() -> None:
    with pytest.raises(ValueError, match="full-size"):
        SynchformerBackbone(video_depth=1)


def test_missing_weights_name_the_fetch_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from v2abench.weights import MissingWeightsError

    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match="v2abench weights fetch synchformer"):
        SynchformerBackbone()


def test_checkpoint_loading_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real-weights path on a small stand-in checkpoint (full size is checked on meta above)."""
    from v2abench.metrics.backbones import synchformer_towers

    from v2abench import weights

    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    config = SynchformerConfig.full().reduced(**SMALL)
    monkeypatch.setattr(synchformer_towers.SynchformerConfig, "full", classmethod(lambda cls: config))
    state = deterministic_state(SynchformerNet(config), seed=5)
    unused = {"vfeat_extractor.patch_embed.proj.weight": torch.zeros(32, 3, 16, 16), "vfeat_extractor.patch_embed.proj.bias": torch.zeros(32)}
    torch.save({**state, **unused}, tmp_path / "ckpt.pth")
    weights.import_file("synchformer", tmp_path / "ckpt.pth")
    backbone = SynchformerBackbone()
    assert backbone.weights_sha256 == weights.sha256_file(weights.get_spec("synchformer").path)
    assert sorted(backbone.unused_keys) == sorted(unused)
    assert all(torch.equal(v, state[k]) for k, v in backbone.net.state_dict().items())


# ------------------------------------------------------------------------------------ the metric
def _write(path: Path, seconds: float, seed: int) -> Path:
    from v2abench.media import write_clip

    rng = np.random.default_rng(seed)
    n = int(25 * seconds)
    frames = np.zeros((n, 64, 64, 3), np.uint8)
    for i in range(n):  # a square that moves, on noise
        frames[i] = rng.integers(0, 60, (64, 64, 3), dtype=np.uint8)
        x = (4 * i) % 48
        frames[i, 20:36, x : x + 16] = 230
    audio = (0.1 * rng.standard_normal(int(16_000 * seconds))).astype(np.float32)
    write_clip(path, frames, 25.0, audio, 16_000)
    return path


def test_desync_family_on_written_clips(small: SynchformerBackbone, tmp_path: Path) -> None:
    from v2abench.media import decode_clip

    family = DeSync(small, bootstrap_resamples=50)
    samples = {}
    for name, seconds in [("long", 8.0), ("short", 4.0)]:
        clip = decode_clip(_write(tmp_path / f"{name}.mp4", seconds, seed=1), fps=25.0, sample_rate=16_000)
        audio = clip.audio.mean(0)
        samples[name] = ClipSample(name, audio - audio.mean(), 16_000, None, None, seconds, frames=clip.frames, fps=25.0)
        family.update(samples[name])
    family.update(ClipSample("no-video", parity_audio(8.0, 0), 16_000, None, None, 8.0))
    (result,) = family.compute()
    assert result.id == "desync@synchformer" and result.direction.value == "lower" and result.backbone == "synchformer"
    assert result.n == 1 and set(result.dropped) == {"short", "no-video"}
    assert result.extra["too_short"] == 1 and result.extra["windows"] == 2
    assert sum(result.extra["offset_histogram"].values()) == 2
    grid = offset_grid().tolist()
    assert all(any(math.isclose(o, g, abs_tol=1e-12) for g in grid) for o in family.offsets[0])
    assert result.value == pytest.approx(np.mean(np.abs(family.offsets[0])))
    again = DeSync(small)  # window features come back from the cache
    again.update(samples["long"])
    assert again.offsets == family.offsets
