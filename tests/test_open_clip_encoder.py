"""open_clip image towers as visual encoders: registry entries, weights round trip, preprocessing, fps.

No real CLIP weights exist on this machine. The round trip writes the state dict of a randomly
initialised open_clip model (the small built-in ``ViT-S-32-alt``; the whole CLIP, as the Hub files
hold it) to a file, registers it under a test entry, and loads the image tower back through the
encoder, which must then compute what open_clip's own ``encode_image`` computes.
"""

from __future__ import annotations

from pathlib import Path

import open_clip
import pytest
import torch
import torch.nn.functional as F

from v2abench import weights
from v2abench.encoders.base import VisualEncoder, resample_index
from v2abench.encoders.open_clip_image import OpenClipImageEncoder, clip_pixels, read_state_dict
from v2abench.encoders.specs import ENCODER_WEIGHTS, OPEN_CLIP_CHECKPOINTS, OPEN_CLIP_FILENAME
from v2abench.weights_spec import WeightsSpec

SMALL = "ViT-S-32-alt"  # 22M-weight image tower, 256-d embeddings: the smallest built-in ViT
TEST_ENTRY = "test-openclip-vit-s-32-alt"


@pytest.fixture()
def registered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty home, with the encoder entries in the registry (also before the lead registers them)."""
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path / "home"))
    for spec in ENCODER_WEIGHTS:
        monkeypatch.setitem(weights.WEIGHTS, spec.name, spec)
    monkeypatch.setitem(weights.WEIGHTS, TEST_ENTRY, WeightsSpec(TEST_ENTRY, OPEN_CLIP_FILENAME, "https://example.invalid/x.bin", "", "MIT"))


def _video(batch: int, frames: int, height: int = 48, width: int = 64, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, frames, 3, height, width), dtype=torch.uint8, generator=g)


def test_entries_match_open_clip_registry() -> None:
    names = [c.weights_name for c in OPEN_CLIP_CHECKPOINTS]
    assert len(set(names)) == len(names) == len(ENCODER_WEIGHTS)
    for checkpoint, spec in zip(OPEN_CLIP_CHECKPOINTS, ENCODER_WEIGHTS):
        assert checkpoint.model_name in open_clip.list_models()
        cfg = open_clip.get_pretrained_cfg(checkpoint.model_name, checkpoint.tag)
        assert cfg, f"open_clip has no tag {checkpoint.tag} for {checkpoint.model_name}"
        assert cfg["hf_hub"].rstrip("/") == checkpoint.hf_hub  # an 'org/repo/' entry: open_clip's default file
        assert spec.name == checkpoint.weights_name and spec.filename == OPEN_CLIP_FILENAME
        assert spec.url == f"https://huggingface.co/{checkpoint.hf_hub}/resolve/main/{OPEN_CLIP_FILENAME}"
        assert spec.expected == ""  # the Hub publishes no hash beside the link: trust on first use


def test_resample_index() -> None:
    assert resample_index(100, 25.0, 1.0).tolist() == [0, 25, 50, 75]  # 4 s at 25 fps -> 4 frames at 1 fps
    assert resample_index(100, 25.0, 25.0).tolist() == list(range(100))
    assert resample_index(100, 25.0, 5.0).tolist() == list(range(0, 100, 5))
    assert resample_index(3, 25.0, 1.0).tolist() == [0]  # shorter than one output frame: still one
    assert resample_index(10, 5.0, 25.0).tolist()[-1] == 9  # upsampling repeats frames, never past the end
    with pytest.raises(ValueError):
        resample_index(10, 0.0, 1.0)


def test_preprocessing_matches_open_clip_transform() -> None:
    from PIL import Image

    transform = open_clip.image_transform(224, is_train=False)  # Resize(224, bicubic), CenterCrop, Normalize
    mean, std = torch.tensor(open_clip.OPENAI_DATASET_MEAN), torch.tensor(open_clip.OPENAI_DATASET_STD)
    g = torch.Generator().manual_seed(0)
    for shape in [(120, 160), (300, 200), (224, 224)]:
        image = torch.randint(0, 256, (1, 3, *shape), dtype=torch.float32, generator=g)
        image = F.avg_pool2d(image, 5, 1, 2).round().to(torch.uint8)  # smooth, like a photograph
        ours = clip_pixels(image, (224, 224), mean, std)[0]
        reference = transform(Image.fromarray(image[0].permute(1, 2, 0).numpy()))
        assert ours.shape == reference.shape == (3, 224, 224)
        assert (ours - reference).abs().max() < 0.02  # at most one grey level of PIL's resize rounding


def test_weights_round_trip_and_fps(registered: None, tmp_path: Path) -> None:
    torch.manual_seed(0)
    clip = open_clip.create_model(SMALL, pretrained=None, load_weights=False, pretrained_image=False, pretrained_text=False).eval()
    file = tmp_path / OPEN_CLIP_FILENAME
    torch.save(clip.state_dict(), file)  # the whole CLIP, text tower included, as on the Hub
    installed = weights.import_file(TEST_ENTRY, file)
    try:
        encoder = OpenClipImageEncoder(SMALL, fps=1.0, weights_name=TEST_ENTRY)
        assert encoder.weights_sha256 == weights.sha256_file(installed)
    finally:  # 170 MB each: do not leave them in pytest's kept temporary folders
        file.unlink()
        installed.unlink()
    assert isinstance(encoder, VisualEncoder)
    assert (encoder.name, encoder.fps, encoder.dim, encoder.image_size) == (TEST_ENTRY, 1.0, 256, (224, 224))
    ours = encoder.visual.state_dict()
    assert all(torch.equal(ours[k], v) for k, v in clip.visual.state_dict().items())
    assert not any(k.startswith(("transformer.", "token_embedding")) for k in encoder.state_dict())  # no text tower

    video = _video(2, 100)  # 4 s at 25 fps
    features = encoder.encode(video, fps=25.0)
    assert features.shape == (2, 4, 256) and features.dtype == torch.float32
    assert torch.allclose(features.norm(dim=-1), torch.ones(2, 4), atol=1e-5)
    # frame k of the output is input frame 25k, through open_clip's own image embedding
    picked = video[:, [0, 25, 50, 75]].flatten(0, 1)
    pixels = clip_pixels(picked, (224, 224), encoder.mean, encoder.std)
    with torch.no_grad():
        reference = clip.encode_image(pixels, normalize=True).reshape(2, 4, 256)
    assert torch.allclose(features, reference, atol=1e-4)
    assert torch.allclose(encoder.encode(video[:, [0, 25, 50, 75]], fps=1.0), features, atol=1e-5)
    assert encoder.encode(video[:, :50], fps=25.0).shape == (2, 2, 256)


def test_safetensors_and_wrapped_checkpoints(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    state = {"visual.proj": torch.randn(4, 2), "visual.conv1.weight": torch.randn(2, 3, 1, 1), "logit_scale": torch.ones(())}
    save_file(state, str(tmp_path / "open_clip_model.safetensors"))
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "epoch_3.pt")
    for name in ("open_clip_model.safetensors", "epoch_3.pt"):
        loaded = read_state_dict(tmp_path / name)
        assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], v) for k, v in state.items())


def test_missing_weights_name_the_fetch_command(registered: None) -> None:
    with pytest.raises(weights.MissingWeightsError, match="v2abench weights fetch openclip-vit-b-32-laion2b"):
        OpenClipImageEncoder("ViT-B-32")
    with pytest.raises(weights.MissingWeightsError, match="v2abench weights fetch openclip-eva02-l-14-merged2b"):
        OpenClipImageEncoder("EVA02-L-14", fps=5.0)
    with pytest.raises(ValueError, match="are for ViT-B-32"):
        OpenClipImageEncoder("ViT-B-16", weights_name="openclip-vit-b-32-laion2b")
    with pytest.raises(ValueError, match="no registered open_clip weights"):
        OpenClipImageEncoder("ViT-S-16")


def test_random_init_is_seeded() -> None:
    a = OpenClipImageEncoder(SMALL, fps=2.0, random_init=True, seed=1)
    b = OpenClipImageEncoder(SMALL, fps=2.0, random_init=True, seed=1)
    assert a.weights_sha256 is None and a.settings()["random_init_seed"] == 1
    video = _video(1, 10, seed=3)  # 1 s at 10 fps -> 2 frames at 2 fps
    out = a.encode(video, fps=10.0)
    assert out.shape == (1, 2, 256) and torch.equal(out, b.encode(video, fps=10.0))
