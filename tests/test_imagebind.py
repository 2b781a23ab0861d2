"""ImageBind towers, front ends and ``ib@imagebind`` (random weights; no checkpoint is needed).

Fixtures (tests/fixtures/), derived by running the public reference code (facebookresearch/ImageBind
``imagebind_huge``, and av-benchmark's video/audio front ends) outside this repository:

* ``imagebind_huge_keys.json``: name -> shape of every entry of ``imagebind_huge()``'s state dict
  (the model ``imagebind_huge.pth`` loads into with strict matching), built on the meta device.
* ``imagebind_reference_outputs.json``: embeddings the reference computes at a reduced size
  (:data:`PARITY_SIZES`) with the weights of :func:`deterministic_state` on the inputs of
  :func:`parity_audio` / :func:`parity_frames`; video frames picked by ffmpeg's own ``fps`` filter.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from v2abench.metrics.backbones.imagebind import (
    ImageBindBackbone,
    clip_spans,
    ffmpeg_fps_indices,
    imagebind_audio_clips,
    imagebind_video_views,
)
from v2abench.metrics.backbones.imagebind_towers import (
    ImageBindConfig,
    ImageBindTowers,
    split_checkpoint,
)
from v2abench.metrics.base import ClipSample
from v2abench.metrics.ib_score import ImageBindScore

FIXTURES = Path(__file__).parent / "fixtures"
PARITY_SIZES = {"vision_dim": 32, "vision_depth": 1, "vision_heads": 2, "audio_dim": 32, "audio_depth": 1, "audio_heads": 2, "out_dim": 16}
SMALL = {"vision_dim": 32, "vision_depth": 1, "vision_heads": 2, "audio_dim": 32, "audio_depth": 1, "audio_heads": 2, "out_dim": 16}


def deterministic_state(module: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """Weights from numpy's seeded generator, by sorted name (independent of torch's RNG)."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, tensor in sorted(module.state_dict().items()):
        shape = tuple(tensor.shape)
        if name.endswith("log_logit_scale"):
            state[name] = tensor.clone()
            continue
        x = rng.standard_normal(shape)
        if len(shape) >= 2 and shape[0] == 1:  # tokens and positional tables
            x = 0.5 * x
        elif len(shape) >= 2:
            x = x / math.sqrt(float(np.prod(shape[1:])))
        elif name.endswith("weight"):  # norms
            x = 1.0 + 0.1 * x
        else:
            x = 0.1 * x
        state[name] = torch.from_numpy(x.astype(np.float32))
    return state


def parity_audio(seconds: float, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16_000)) / 16_000
    x = 0.1 * rng.standard_normal(t.size) + 0.3 * np.sin(2 * np.pi * 440 * t) * (t % 1.0 < 0.3)
    return torch.from_numpy(x.astype(np.float32))


def parity_frames(count: int, height: int, width: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, 256, size=(count, 3, height, width), dtype=np.uint8))


def _meta(keys: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    return {k: torch.empty(v, device="meta") for k, v in keys.items()}


@pytest.fixture(scope="module")
def small() -> ImageBindBackbone:
    return ImageBindBackbone(random_init=True, seed=0, **SMALL)


# ------------------------------------------------------------------------------------ key sets
def test_full_size_keys_match_the_reference_state_dict() -> None:
    reference = json.loads((FIXTURES / "imagebind_huge_keys.json").read_text())["keys"]
    with torch.device("meta"):
        towers = ImageBindTowers(ImageBindConfig.huge())
    ours = {k: list(v.shape) for k, v in towers.state_dict().items()}
    used, unused = split_checkpoint(_meta(reference))
    assert {k: list(v.shape) for k, v in used.items()} == ours
    assert (len(ours), len(unused), len(reference)) == (569, 742, 1311)
    assert {k.split(".")[1] for k in unused} == {"text", "depth", "thermal", "imu"}
    assert {k.split(".")[1] for k in ours} == {"vision", "audio"}
    towers.load_state_dict(used, strict=True, assign=True)  # exact key and shape match
    with torch.device("meta"):  # full-size forward, shapes only
        assert towers.embed_vision(torch.empty(2, 9, 3, 2, 224, 224)).shape == (2, 1024)
        assert towers.embed_audio(torch.empty(1, 3, 1, 128, 204)).shape == (1, 1024)
    assert sum(p.numel() for p in towers.parameters()) == sum(math.prod(reference[k]) for k in ours if k != "modality_postprocessors.audio.1.log_logit_scale")


def test_split_checkpoint_refuses_entries_of_no_known_modality() -> None:
    with pytest.raises(ValueError, match="no known modality"):
        split_checkpoint({"modality_trunks.video.blocks.0.attn.in_proj_weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="no known modality"):
        split_checkpoint({"logit_scale": torch.zeros(1)})


# ------------------------------------------------------------------------------------ front ends
def _pyav_fps_filter(count: int, in_fps: int, out_fps: float) -> list[int]:
    import av

    graph = av.filter.Graph()
    src = graph.add_buffer(width=16, height=16, format="rgb24", time_base=Fraction(1, in_fps))
    fps = graph.add("fps", f"{out_fps}")
    sink = graph.add("buffersink")
    src.link_to(fps)
    fps.link_to(sink)
    graph.configure()
    out = []
    for i in range(count):
        frame = av.VideoFrame.from_ndarray(np.full((16, 16, 3), i % 256, np.uint8), format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, in_fps)
        src.push(frame)
        while True:
            try:
                out.append(int(sink.pull().to_ndarray()[0, 0, 0]))
            except (av.BlockingIOError, av.EOFError):
                break
    return out


@pytest.mark.parametrize(("count", "in_fps", "out_fps"), [(200, 25, 0.5), (100, 25, 0.5), (96, 24, 0.5), (240, 30, 25), (60, 25, 25)])
def test_frame_sampling_matches_ffmpeg_fps_filter(count: int, in_fps: int, out_fps: float) -> None:
    expected = _pyav_fps_filter(count, in_fps, out_fps)
    assert ffmpeg_fps_indices(count, in_fps, out_fps, limit=len(expected)) == expected


def test_video_views_pairs_and_crops() -> None:
    frames = parity_frames(200, 48, 64, seed=1)
    views = imagebind_video_views(frames, 25.0, 8.0)
    assert views.shape == (9, 3, 2, 224, 224)  # 3 pairs x 3 crops
    assert not torch.equal(views[0], views[2])  # left and right crops of a landscape frame differ
    assert torch.equal(views[0][:, 1], views[3][:, 0])  # pairs share their middle frame (same crop)
    assert imagebind_video_views(parity_frames(100, 112, 112, seed=2), 25.0, 4.0).shape == (3, 3, 2, 224, 224)
    with pytest.raises(ValueError, match="2 frames"):
        imagebind_video_views(parity_frames(90, 32, 32, seed=3), 25.0)


def test_audio_clips_evenly_spaced_fbank_images() -> None:
    assert clip_spans(128_000) == [(0, 32_000), (48_000, 80_000), (96_000, 128_000)]  # starts 0, 3, 6 s
    assert clip_spans(64_000) == [(0, 32_000), (16_000, 48_000), (32_000, 64_000)]
    assert clip_spans(16_000) == [(0, 32_000)] * 3
    clips = imagebind_audio_clips(parity_audio(8.0, seed=0))
    assert clips.shape == (3, 1, 128, 204)
    short = imagebind_audio_clips(parity_audio(1.0, seed=0))  # 98 frames, zero-padded to 204 before normalising
    assert torch.allclose(short[0, 0, :, 150], torch.full((128,), 4.268 / 9.138))
    with pytest.raises(ValueError, match="at least"):
        imagebind_audio_clips(torch.zeros(100))


# ------------------------------------------------------------------------------------ numerics
def test_matches_reference_implementation_at_reduced_size() -> None:
    doc = json.loads((FIXTURES / "imagebind_reference_outputs.json").read_text())
    assert doc["sizes"] == PARITY_SIZES
    backbone = ImageBindBackbone(random_init=True, seed=0, **PARITY_SIZES)
    backbone.towers.load_state_dict(deterministic_state(backbone.towers, doc["seed"]), strict=True)
    for case in doc["audio"]:
        got = backbone.embed_audio(parity_audio(case["seconds"], case["seed"]))
        assert torch.allclose(got, torch.tensor(case["embedding"]), atol=1e-4, rtol=1e-4), case["seconds"]
    for case in doc["video"]:
        frames = parity_frames(case["count"], case["height"], case["width"], case["seed"])
        assert ffmpeg_fps_indices(case["count"], case["fps"], 0.5, limit=int(0.5 * case["duration"])) == case["indices"]
        got = backbone.embed_video(frames, case["fps"], case["duration"])
        assert torch.allclose(got, torch.tensor(case["embedding"]), atol=1e-5, rtol=1e-4), case


def test_random_weights_are_seeded_and_deterministic(small: ImageBindBackbone) -> None:
    audio = parity_audio(4.0, seed=5)
    first = small.embed_audio(audio)
    assert first.shape == (16,)
    assert 0.0 < float(first.norm()) <= 20.0 + 1e-4  # mean over 3 clips of unit vectors x the fixed logit scale 20
    assert torch.equal(first, ImageBindBackbone(random_init=True, seed=0, **SMALL).embed_audio(audio))
    assert not torch.equal(first, ImageBindBackbone(random_init=True, seed=1, **SMALL).embed_audio(audio))
    assert small.embed(audio).embeddings.shape == (1, 16)


# ------------------------------------------------------------------------------------ weights
def test_reduced_sizes_refuse_real_weights() -> None:
    with pytest.raises(ValueError, match="full-size"):
        ImageBindBackbone(vision_depth=1)


def test_missing_weights_name_the_fetch_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from v2abench.weights import MissingWeightsError

    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    with pytest.raises(MissingWeightsError, match="v2abench weights fetch imagebind-huge"):
        ImageBindBackbone()


def test_checkpoint_loading_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real-weights path on a small stand-in checkpoint (full size is checked on meta above)."""
    from v2abench.metrics.backbones import imagebind_towers

    from v2abench import weights

    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    config = ImageBindConfig.huge().reduced(**SMALL)
    monkeypatch.setattr(imagebind_towers.ImageBindConfig, "huge", classmethod(lambda cls: config))
    state = deterministic_state(ImageBindTowers(config), seed=3)
    extra = {"modality_trunks.text.blocks.0.attn.in_proj_weight": torch.zeros(3, 1), "modality_postprocessors.imu.1.log_logit_scale": torch.tensor(1.0)}
    torch.save({**state, **extra}, tmp_path / "ckpt.pth")
    weights.import_file("imagebind-huge", tmp_path / "ckpt.pth")
    backbone = ImageBindBackbone()
    assert backbone.weights_sha256 == weights.sha256_file(weights.get_spec("imagebind-huge").path)
    assert sorted(backbone.unused_keys) == sorted(extra)
    assert all(torch.equal(v, state[k]) for k, v in backbone.towers.state_dict().items())
    state.pop("modality_heads.audio.2.weight")
    torch.save(state, tmp_path / "broken.pth")
    monkeypatch.setattr(weights, "check_hash", lambda spec, path: weights.sha256_file(path))
    weights.import_file("imagebind-huge", tmp_path / "broken.pth")
    with pytest.raises(RuntimeError, match="Missing key"):
        ImageBindBackbone()


# ------------------------------------------------------------------------------------ the metric
def test_ib_score_family(small: ImageBindBackbone) -> None:
    family = ImageBindScore(small, bootstrap_resamples=50)
    frames = parity_frames(200, 56, 56, seed=7)
    for i in range(3):
        audio = parity_audio(8.0, seed=10 + i)
        family.update(ClipSample(f"c{i}", audio, 16_000, None, None, 8.0, frames=frames, fps=25.0))
    family.update(ClipSample("no-video", parity_audio(8.0, 0), 16_000, None, None, 8.0))
    family.update(ClipSample("short", parity_audio(2.0, 0), 16_000, None, None, 2.0, frames=frames[:50], fps=25.0))
    noise_44k = torch.from_numpy(np.random.default_rng(3).standard_normal(44_100 * 8).astype(np.float32)) * 0.1
    family.update(ClipSample("44k", noise_44k, 44_100, None, None, 8.0, frames=frames, fps=25.0))  # resampled to 16 kHz
    (result,) = family.compute()
    assert result.id == "ib@imagebind" and result.direction.value == "higher" and result.backbone == "imagebind"
    assert result.n == 4 and set(result.dropped) == {"no-video", "short"}
    assert -1.0 <= result.value <= 1.0
    assert result.interval is not None and result.interval[0] <= result.value <= result.interval[1]
    again = ImageBindScore(small)  # cached embeddings give the same cosine
    again.update(ClipSample("c0", parity_audio(8.0, seed=10), 16_000, None, None, 8.0, frames=frames, fps=25.0))
    assert again.scores[0] == pytest.approx(family.scores[0], abs=1e-12)
