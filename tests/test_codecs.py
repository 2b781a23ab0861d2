"""The suite's codecs: interface shapes, padding, determinism, training, export and reload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch

from v2abench.codecs import ContinuousCodec, DiscreteCodec
from v2abench.codecs.audio_data import (
    RandomCrops,
    SplitAudioDataModule,
    load_split_audio,
)
from v2abench.codecs.losses import MelL1Loss, si_sdr
from v2abench.codecs.stft_codec import SameSTFT, build_codec
from v2abench.codecs.synth import (
    load_synth_latent,
    load_synth_rvq,
    reconstruction_quality,
    shipped_asset,
)
from v2abench.codecs.training import (
    CodecModule,
    SynthLatentTrainable,
    SynthRVQTrainable,
)
from v2abench.config import load_yaml
from v2abench.paths import configs_dir

SMALL = {"dim": 32, "hidden": 64, "enc_depth": 1, "dec_depth": 1, "latent_dim": 16, "codebook_size": 64,
         "channels": 4, "kmeans_init": False}


@pytest.fixture(autouse=True)
def _one_thread(one_thread: None) -> None:
    """One intra-op thread for every test of this module (conftest.one_thread)."""


def _codec(kind: str) -> Any:
    torch.manual_seed(0)
    model = {k: v for k, v in SMALL.items() if kind == "rvq" or k not in ("latent_dim", "codebook_size", "kmeans_init")}
    if kind == "rvq":
        model.pop("channels")
    return build_codec(kind, model).eval()


def _config(name: str, preset: str = "tiny") -> dict[str, Any]:
    cfg = load_yaml(configs_dir() / "codecs" / name / f"{preset}.yaml")
    cfg["seed"] = 0
    return cfg


def _trainer(steps: int) -> L.Trainer:
    return L.Trainer(max_steps=steps, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                     num_sanity_val_steps=0)


def test_same_stft_inverts() -> None:
    stft = SameSTFT(1280, 320)
    wav = torch.randn(2, 3200)
    spec = stft(wav)
    assert spec.shape == (2, 641, 10)
    assert torch.allclose(stft.inverse(spec), wav, atol=1e-4)


def test_discrete_codec_interface() -> None:
    codec = _codec("rvq")
    assert isinstance(codec, DiscreteCodec)
    assert (codec.sample_rate, codec.frame_rate, codec.num_codebooks, codec.codebook_size) == (16000, 50.0, 4, 64)
    wav = torch.randn(2, 1, 16000) * 0.1
    tokens = codec.encode(wav)
    assert tokens.dtype == torch.int64 and tokens.shape == (2, 4, 50)
    assert int(tokens.min()) >= 0 and int(tokens.max()) < codec.codebook_size
    assert torch.equal(tokens, codec.encode(wav))  # deterministic encode
    out = codec.decode(tokens)
    assert out.dtype == torch.float32 and out.shape == wav.shape  # N multiple of hop: same length
    assert torch.equal(out, codec.decode(tokens))  # deterministic decode
    with pytest.raises(ValueError):
        codec.decode(torch.full((1, 4, 5), codec.codebook_size))


def test_continuous_codec_interface() -> None:
    codec = _codec("latent")
    assert isinstance(codec, ContinuousCodec)
    assert (codec.sample_rate, codec.frame_rate, codec.channels) == (16000, 50.0, 4)
    wav = torch.randn(3, 1, 8000) * 0.1
    latents = codec.encode(wav)
    assert latents.dtype == torch.float32 and latents.shape == (3, 4, 25)
    assert torch.equal(latents, codec.encode(wav))
    out = codec.decode(latents)
    assert out.shape == wav.shape and torch.equal(out, codec.decode(latents))
    # normalisation round trip: stored statistics are undone before decoding
    codec.latent_mean.fill_(0.5)
    codec.latent_std.fill_(2.0)
    assert torch.allclose(codec.encode(wav), (latents - 0.5) / 2.0, atol=1e-5)
    assert torch.allclose(codec.decode(codec.encode(wav)), out, atol=1e-5)


@pytest.mark.parametrize("kind", ["rvq", "latent"])
def test_padding_and_trimming(kind: str) -> None:
    """N not a multiple of hop: encode pads to ceil(N/hop) frames; decode gives T*hop, or ``length``."""
    codec = _codec(kind)
    wav = torch.randn(1, 1, 1000) * 0.1  # hop 320: 4 frames, 1280 samples
    code = codec.encode(wav)
    assert code.shape[-1] == codec.num_frames(1000) == 4
    assert codec.decode(code).shape[-1] == 1280
    assert codec.decode(code, length=1000).shape == (1, 1, 1000)
    assert codec.encode(wav[:, 0]).shape == code.shape  # [B, N] accepted


def test_losses_and_si_sdr() -> None:
    x = torch.randn(2, 1, 16000) * 0.1
    assert float(MelL1Loss()(x, x)) == 0.0
    assert float(MelL1Loss()(x + 0.01 * torch.randn_like(x), x)) > 0.0
    assert bool((si_sdr(3 * x[:, 0], x[:, 0]) > 60).all())  # scale-invariant: a scaled copy is near-perfect
    noisy = x + 0.1 * x.std() * torch.randn_like(x)
    assert torch.allclose(si_sdr(noisy[:, 0], x[:, 0]), torch.full((2,), 20.0), atol=1.0)


def test_random_crops_are_seeded() -> None:
    audio = torch.arange(4 * 100, dtype=torch.int16).reshape(4, 100)
    crops = RandomCrops(audio, torch.full((4,), 100), segment=30, length=8, seed=1)
    again = RandomCrops(audio, torch.full((4,), 100), segment=30, length=8, seed=1)
    assert all(torch.equal(crops[i], again[i]) for i in range(8))
    assert crops[0].shape == (1, 30)
    other = RandomCrops(audio, torch.full((4,), 100), segment=30, length=8, seed=2)
    assert not all(torch.equal(crops[i], other[i]) for i in range(8))


def test_split_audio_is_cached(tiny_world: Path) -> None:
    first = load_split_audio("synthfoley-tiny-train", progress=False)
    assert first["audio"].dtype == torch.int16 and first["audio"].shape == (24, 64000)
    second = load_split_audio("synthfoley-tiny-train", progress=False)  # from the cache
    assert torch.equal(first["audio"], second["audio"]) and first["ids"] == second["ids"]
    batch = next(iter(SplitAudioDataModule.from_config(_config("synth-rvq"), progress=False).train_dataloader()))
    assert batch.shape == (4, 1, 8000) and batch.dtype == torch.float32


@pytest.mark.parametrize("trainable,loader", [(SynthRVQTrainable, load_synth_rvq), (SynthLatentTrainable, load_synth_latent)])
def test_train_export_reload(tiny_world: Path, tmp_path: Path, trainable: Any, loader: Any) -> None:
    spec = trainable()
    cfg = _config(spec.config_dir.split("/")[-1])
    L.seed_everything(0, verbose=False)
    module = spec.build_module(cfg)
    _trainer(3).fit(module, datamodule=spec.build_datamodule(cfg))
    assert module.trainer.global_step == 3
    assert {"loss", "mel_l1", "stft"} <= set(module.last_metrics)
    path = spec.export(module, cfg, tmp_path)
    assert path == tmp_path / "model.safetensors" and path.stat().st_size < 8 * 2**20
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["name"] == spec.name and meta["train_steps"] == 3 and meta["sample_rate"] == 16000
    reloaded = loader(tmp_path)
    module.codec.eval()
    wav = torch.randn(2, 1, 6400) * 0.1
    assert torch.equal(reloaded.decode(reloaded.encode(wav)), module.codec.decode(module.codec.encode(wav)))
    if spec.kind == "rvq":
        assert (meta["num_codebooks"], meta["codebook_size"]) == (4, 64)
    else:  # latent statistics measured on the train split and stored
        assert len(meta["latent_std"]) == 4 and torch.allclose(reloaded.latent_std, torch.tensor(meta["latent_std"]))
        z = reloaded.encode(torch.as_tensor(load_split_audio("synthfoley-tiny-train", progress=False)["audio"][:24],
                                            dtype=torch.float32).unsqueeze(1) / 32767.0)
        assert z.mean(dim=(0, 2)).abs().max() < 0.05 and (z.std(dim=(0, 2)) - 1).abs().max() < 0.05
    quality = reconstruction_quality(reloaded, wav)
    assert quality["n"] == 2 and quality["mel_l1"] > 0


def test_overfit_one_batch() -> None:
    """30 steps on one fixed batch bring the reconstruction loss clearly below its start."""
    torch.manual_seed(0)
    cfg = _config("synth-rvq")
    module = CodecModule("rvq", cfg)
    module.log_dict = lambda *a, **k: None  # type: ignore[method-assign]
    module.log = lambda *a, **k: None  # type: ignore[method-assign]
    t = torch.arange(8000) / 16000
    wav = (0.3 * torch.sin(2 * torch.pi * 440 * t) * torch.exp(-8 * t)).repeat(4, 1, 1)
    wav = wav + 0.02 * torch.randn_like(wav)
    optimizer = torch.optim.AdamW(module.parameters(), lr=3e-3)
    losses = []
    for step in range(30):
        loss = module.training_step(wav, step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0], losses


def test_missing_shipped_asset_names_the_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from v2abench.codecs import synth

    monkeypatch.setattr(synth, "ASSETS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="v2abench train --model synth-rvq --config quick"):
        load_synth_rvq()
    with pytest.raises(FileNotFoundError, match="v2abench train --model synth-latent --config quick"):
        load_synth_latent()
    assert shipped_asset("synth-rvq")[0].name == "synth-rvq-v1.safetensors"


@pytest.mark.parametrize("name", ["synth-rvq", "synth-latent"])
def test_quick_config_fits_the_asset_budget(name: str) -> None:
    """The shipped (quick) model's weights-only export stays within 8 MB of fp32."""
    from v2abench.codecs.training import weights_only_state

    cfg = _config(name, "quick")
    codec = build_codec("rvq" if name == "synth-rvq" else "latent", cfg["model"])
    size = sum(t.numel() * 4 for t in weights_only_state(codec).values())
    assert size < 8 * 2**20
    assert cfg["data"]["split"] == "synthfoley-train" and cfg["trainer"]["max_steps"] > 0


@pytest.mark.parametrize("name", ["synth-rvq", "synth-latent"])
def test_shipped_asset_reproduces_its_recorded_quality(name: str, tiny_world: Path) -> None:
    """The shipped weights load and reproduce the quality recorded in their meta (on a subset).

    The asset's JSON records ``reference_quality = {split, clips, mel_l1, si_sdr}`` measured on
    ``synthfoley-tiny-test`` (the first 12 clips of synthfoley-test: tiny is a prefix of default).
    """
    from v2abench.data.splits import load_split

    weights, meta_path = shipped_asset(name)
    assert weights.is_file() and meta_path.is_file(), f"the committed asset {weights.name} / {meta_path.name} is missing"
    assert weights.stat().st_size <= 8 * 2**20
    ref = json.loads(meta_path.read_text())["reference_quality"]
    codec = load_synth_rvq() if name == "synth-rvq" else load_synth_latent()
    quality = reconstruction_quality(codec, load_split(ref["split"], limit=ref["clips"]).clips)
    assert quality["mel_l1"] == pytest.approx(ref["mel_l1"], abs=0.01)
    assert quality["si_sdr"] == pytest.approx(ref["si_sdr"], abs=0.1)


@pytest.mark.parametrize("name", ["synth-rvq", "synth-latent"])
def test_codec_ceiling_is_the_reference_after_one_round_trip(name: str, tiny_world: Path) -> None:
    """``ground-truth-<codec>`` returns the reference changed by the codec, as close as its model card says.

    The bound is the card's own figure (``reference_quality.mel_l1`` on these 12 clips, log-mel L1 on
    which white noise at -20 dB scores 2.75): a ceiling that returned the input unchanged (mel L1 0) or
    lost the signal fails.
    """
    from v2abench.codecs.losses import LogMel
    from v2abench.data.splits import load_split
    from v2abench.interface import Task, V2ABatch
    from v2abench.media import decode_audio
    from v2abench.registry import REGISTRY
    from v2abench.weights import SHIPPED_ASSETS

    generator = REGISTRY.build(f"ground-truth-{name}", "generator")
    meta = generator.meta
    assert meta.paradigm == "reference" and meta.checkpoint_sha256 == SHIPPED_ASSETS[f"{name}-v1"]
    assert meta.networks == {"codec": meta.checkpoint_sha256}
    assert {Task.VTA, Task.TTA, Task.TC_VTA, Task.AC_VTA, Task.FE} <= set(meta.tasks)
    card = json.loads(shipped_asset(name)[1].read_text())["reference_quality"]
    clips = load_split(card["split"], limit=card["clips"]).clips
    n = 4 * 16_000
    reference = torch.stack([decode_audio(c.reference_audio or c.video, sample_rate=16_000)[0].mean(0)[:n] for c in clips]).unsqueeze(1)
    batch = V2ABatch(ids=[c.id for c in clips], reference_audio=reference, sample_rate=16_000)
    out = generator.generate(batch, task=Task.VTA, duration=4.0, seed=0)
    assert out.sample_rate == 16_000 and out.audio.shape == reference.shape
    mel = LogMel()
    distance = (mel(out.audio) - mel(reference)).abs().mean(dim=(1, 2))
    assert float(distance.min()) > 0.1  # every clip changed by the codec
    assert float(distance.mean()) == pytest.approx(card["mel_l1"], abs=0.02)  # and as close as its card says
    assert float(distance.max()) < 1.0
