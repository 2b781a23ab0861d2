"""SynthAV encoders: tokenizer, shapes and frame rates, training, export and reload, the offset objective."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
import torch.nn.functional as F

from v2abench.config import load_yaml
from v2abench.encoders.synthav import (
    OffsetHead,
    SynthAV,
    SynthAVConfig,
    prepare_frames,
    resample_index,
)
from v2abench.encoders.synthav_load import load_synthav, shipped_asset
from v2abench.encoders.synthav_training import (
    AVItems,
    SynthAVModule,
    SynthAVTrainable,
    check_train_split,
    load_split_av,
    quality,
)
from v2abench.encoders.text_tokenizer import UNK, WordTokenizer, words
from v2abench.paths import configs_dir

CAPTIONS = [
    "a small red metal ball bounces quickly on a hard floor, rain in the background",
    "a large blue wooden block slides slowly across the floor close to the camera",
    "water drips softly from a tap into a puddle in the distance",
]


@pytest.fixture(autouse=True)
def _one_thread(one_thread: None) -> None:
    """One intra-op thread for every test of this module (conftest.one_thread)."""


def _config(preset: str = "tiny") -> dict[str, Any]:
    cfg = load_yaml(configs_dir() / "encoders" / "synthav" / f"{preset}.yaml")
    cfg["seed"] = 0
    return cfg


def _trainer(steps: int) -> L.Trainer:
    return L.Trainer(max_steps=steps, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, limit_val_batches=0,
                     num_sanity_val_steps=0)


def _tiny_model(seed: int = 0) -> SynthAV:
    torch.manual_seed(seed)
    tok = WordTokenizer.build(CAPTIONS)
    cfg = SynthAVConfig.from_dict(dict(_config()["model"]) | {"vocab_size": len(tok)})
    return SynthAV(cfg, tok).eval()


# ------------------------------------------------------------------------------------------- tokenizer


def test_tokenizer_round_trip_and_unknown_words() -> None:
    tok = WordTokenizer.build(CAPTIONS)
    assert tok.vocab[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert tok.vocab[4] == "a"  # most frequent word first
    ids, mask = tok.encode(CAPTIONS)
    assert ids.dtype == torch.int64 and mask.dtype == torch.bool and ids.shape == mask.shape
    assert ids.shape == (3, max(len(words(c)) for c in CAPTIONS))
    assert mask.sum(dim=1).tolist() == [len(words(c)) for c in CAPTIONS]
    assert (ids[~mask] == tok.pad_id).all()
    assert tok.decode(ids, mask) == [" ".join(words(c)) for c in CAPTIONS]
    assert tok.decode(ids[0, : mask[0].sum()]) == "a small red metal ball bounces quickly on a hard floor rain in the background"
    # unknown words map to <unk>; case and punctuation are normalised
    ids, mask = tok.encode(["A GREEN glass ball!"])
    assert ids[0].tolist() == [tok.index["a"], tok.unk_id, tok.unk_id, tok.index["ball"]]
    assert tok.decode(ids[0]) == f"a {UNK} {UNK} ball"
    # the empty text still has one (padded) position; a batch pads to its longest text
    ids, mask = tok.encode(["", "ball"])
    assert ids.shape == (2, 1) and mask.tolist() == [[False], [True]]
    # truncation and the serialised form
    short = WordTokenizer(tok.vocab, max_length=4)
    assert short.encode([CAPTIONS[0]])[0].shape == (1, 4)
    again = WordTokenizer.from_dict(json.loads(json.dumps(tok.to_dict())))
    assert again.vocab == tok.vocab and torch.equal(again.encode(CAPTIONS)[0], tok.encode(CAPTIONS)[0])
    assert WordTokenizer.build(reversed(CAPTIONS)).vocab == tok.vocab  # order of captions does not matter
    with pytest.raises(TypeError):
        tok.encode("a single string")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------- shapes and rates


def test_resample_index() -> None:
    assert resample_index(100, 25, 25).tolist() == list(range(100))
    assert resample_index(100, 25, 5).tolist() == list(range(0, 100, 5))
    assert len(resample_index(120, 30, 25)) == 100 and resample_index(120, 30, 25)[-1] == 119
    assert resample_index(2, 25, 5).tolist() == [0]


def test_encoder_shapes_dtypes_and_rates(tiny_world: Path) -> None:
    from v2abench.data.splits import load_split
    from v2abench.media import decode_clip

    model = _tiny_model()
    cfg = model.cfg
    clip = load_split("synthfoley-tiny-test").clips[0]
    frames = decode_clip(clip.video, fps=25).frames
    assert frames.shape == (100, 3, 112, 112)  # a 4 s clip at 25 fps
    video = frames[None].repeat(2, 1, 1, 1, 1)
    sem, sync, text = model.semantic, model.sync, model.text
    for enc, fps, dim in ((sem, 5.0, cfg.sem_dim), (sync, 25.0, cfg.sync_dim)):
        assert enc.fps == fps and enc.dim == dim and isinstance(enc.name, str) and hasattr(enc, "weights_sha256")
    s = sem.encode(video, 25)
    assert s.shape == (2, 20, cfg.sem_dim) and s.dtype == torch.float32  # 5 fps -> 20 embeddings
    assert torch.allclose(s.norm(dim=-1), torch.ones(2, 20), atol=1e-5)
    y = sync.encode(video, 25)
    assert y.shape == (2, 100, cfg.sync_dim) and y.dtype == torch.float32  # 25 fps -> 100 frames
    assert torch.isfinite(y).all() and torch.allclose(y[0], y[1])
    # another rate: 30 fps for 4 s gives the same output grid
    assert sync.encode(video[:, :1].repeat(1, 120, 1, 1, 1), 30).shape == (2, 100, cfg.sync_dim)
    assert sem.encode(video[:, :1].repeat(1, 120, 1, 1, 1), 30).shape == (2, 20, cfg.sem_dim)
    # the encoders reduce frames themselves, exactly as the training cache does
    small = prepare_frames(video, cfg.image_size)
    assert small.dtype == torch.uint8 and small.shape[-2:] == (cfg.image_size, cfg.image_size)
    assert torch.equal(sync.encode(small, 25), y) and torch.equal(sem.encode(small, 25), s)
    with pytest.raises(TypeError):
        sem.encode(video.float(), 25)
    # text: per-token features with a mask, and pooled unit-norm joint-space embeddings
    tokens, mask = text.encode(CAPTIONS[:2])
    assert tokens.shape == (2, mask.shape[1], cfg.text_dim) and mask.dtype == torch.bool
    assert (tokens[~mask] == 0).all() and text.dim == cfg.text_dim
    pooled = text.embed(CAPTIONS[:2])
    assert pooled.shape == (2, cfg.sem_dim) and torch.allclose(pooled.norm(dim=-1), torch.ones(2), atol=1e-5)
    # audio: sync features on the video's 25 fps grid, a joint-space embedding
    wav = torch.randn(2, 64000) * 0.1
    a_sync, a_sem = model.audio.encode(wav)
    assert a_sync.shape == (2, 101, cfg.sync_dim) and a_sem.shape == (2, cfg.sem_dim)


def test_visual_encoder_interface() -> None:
    """When the suite's encoder interface exists, SynthAV's encoders satisfy it."""
    from v2abench.encoders import base

    model = _tiny_model()
    for enc in (model.semantic, model.sync):
        assert isinstance(enc, base.VisualEncoder)
    assert isinstance(model.text, base.TextEncoder)


# ---------------------------------------------------------------------------- training, export, reload


def test_tiny_training_export_and_reload(tiny_world: Path, tmp_path: Path) -> None:
    cfg = _config("tiny")
    trainable = SynthAVTrainable()
    assert trainable.config_dir == "encoders/synthav"
    L.seed_everything(0, verbose=False)
    module = trainable.build_module(cfg)
    data = trainable.build_datamodule(cfg)
    trainer = _trainer(3)
    trainer.fit(module, datamodule=data)
    assert trainer.global_step == 3
    assert set(module.last_metrics) >= {"text", "audio", "audio_text", "sync", "loss"}
    assert all(torch.isfinite(torch.tensor(v)) for v in module.last_metrics.values())

    path = trainable.export(module, cfg, tmp_path)
    assert path == tmp_path / "model.safetensors" and path.stat().st_size <= 8 * 2**20
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["name"] == "synthav" and meta["train_steps"] == 3 and meta["train_split"] == "synthfoley-tiny-train"
    assert meta["tokenizer"]["vocab"] == module.tokenizer.vocab and "ball" in meta["tokenizer"]["vocab"]
    assert meta["final_losses"]["sync"] > 0
    q = meta["quality"]
    assert q["split"] == "synthfoley-tiny-val" and q["clips"] == 8
    assert 0.0 <= q["offset"]["acc"] <= 1.0 and 0.0 <= q["retrieval"]["video_to_audio_r1"] <= 1.0

    enc = load_synthav(tmp_path)
    semantic, sync, text = enc  # the bundle unpacks to the three encoders
    assert enc.weights_sha256 == semantic.weights_sha256 == sync.weights_sha256 == text.weights_sha256
    assert len(enc.weights_sha256) == 64 and not semantic.training
    frames = load_split_av("synthfoley-tiny-val", module.cfg, progress=False)["frames"][:2]
    module.model.eval()
    assert torch.equal(semantic.encode(frames, 25), module.model.semantic.encode(frames, 25))
    assert torch.equal(sync.encode(frames, 25), module.model.sync.encode(frames, 25))
    assert torch.equal(text.encode(CAPTIONS)[0], module.model.text.encode(CAPTIONS)[0])
    assert torch.equal(text.embed(CAPTIONS), module.model.text.embed(CAPTIONS))
    # the recorded figures are reproduced by the reloaded model
    again = quality(enc.model, "synthfoley-tiny-val", window=cfg["data"]["sync_window"])
    assert again == q


def test_offset_head_learns_aligned_vs_shifted(tiny_world: Path) -> None:
    """Overfitting one fixed batch: the offset loss falls clearly and the aligned shift wins."""
    cfg = _config("tiny")
    cfg["model"] |= {"sync_dim": 32, "sync_hidden": 32, "sync_channels": [16, 32], "audio_hidden": 32}
    torch.manual_seed(0)
    module = SynthAVModule(cfg)
    data = load_split_av("synthfoley-tiny-train", module.cfg, progress=False)
    items = AVItems(data, 8, sem_frames=1, sync_window=24, max_offset=module.cfg.max_offset, flip=False, seed=1)
    batch = torch.utils.data.default_collate([items[i] for i in range(8)])
    model = module.model
    params = [*model.sync.parameters(), *model.audio.parameters(), *model.offset.parameters()]
    opt = torch.optim.Adam(params, lr=3e-3)
    k = model.offset.max_offset

    def step() -> tuple[float, torch.Tensor]:
        a_sync, _ = model.audio.forward_mel(batch["mel"])
        logits = model.offset(model.sync(batch["sync"]), a_sync, batch["start"])
        return F.cross_entropy(logits, torch.full((8,), k)), logits

    losses = []
    for _ in range(60):
        loss, _ = step()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        final, logits = step()
    assert float(final) < 0.35 * losses[0], losses
    assert (logits.argmax(dim=1) == k).float().mean() >= 0.75  # aligned beats every shift
    shifted = torch.cat([logits[:, :k], logits[:, k + 1 :]], dim=1)
    assert float((logits[:, k] - shifted.amax(dim=1)).mean()) > 0  # by a margin, on average


def test_offset_head_geometry() -> None:
    """Class K + s compares video frame t with audio frame start + t + s."""
    head = OffsetHead(max_offset=3)
    torch.manual_seed(0)
    audio = torch.randn(1, 40, 8)
    video = audio[:, 12:22].clone()  # frames 12..21: aligned with start 12
    assert head(video, audio, 12).argmax().item() == 3
    assert head(video, audio, 10).argmax().item() == 3 + 2  # window placed 2 early: the match is 2 later
    with pytest.raises(ValueError):
        head(video, audio, 2)


# ------------------------------------------------------------------------------------ assets and rules


def test_missing_shipped_asset_names_the_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from v2abench.encoders import synthav_load

    monkeypatch.setattr(synthav_load, "ASSETS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="v2abench train --model synthav --config quick"):
        load_synthav()
    assert shipped_asset()[0].name == "synthav-v1.safetensors" and shipped_asset()[1].name == "synthav-v1.json"
    with pytest.raises(FileNotFoundError):
        load_synthav(tmp_path / "nowhere")


def test_trains_on_train_splits_only() -> None:
    check_train_split("synthfoley-train")
    check_train_split("synthfoley-tiny-train")
    for split in ("synthfoley-probe", "synthfoley-val", "synthfoley-test"):
        with pytest.raises(ValueError, match="train split only"):
            check_train_split(split)
    assert _config("quick")["data"]["split"] == "synthfoley-train"
    assert _config("quick")["eval"]["split"] == "synthfoley-val"


def test_quick_config_fits_the_asset_budget() -> None:
    """The shipped (quick) model, with a vocabulary the size of SynthFoley's, stays well within 8 MB fp32."""
    cfg = _config("quick")
    tok = WordTokenizer([*WordTokenizer.build([]).vocab, *(f"w{i}" for i in range(80))])
    model = SynthAV(SynthAVConfig.from_dict(dict(cfg["model"]) | {"vocab_size": len(tok)}), tok)
    size = sum(t.numel() * 4 for t in model.state_dict().values())
    assert size <= 8 * 2**20 and size <= 3.5 * 2**20, size
    assert model.semantic.fps == 5.0 and model.sync.fps == 25.0


def test_shipped_asset_reproduces_its_quality(tiny_world: Path) -> None:
    """The shipped asset loads and reproduces the quality its JSON records on the tiny val split."""
    weights, meta = shipped_asset()
    assert weights.is_file() and meta.is_file(), f"the committed asset {weights.name} / {meta.name} is missing"
    enc = load_synthav()
    assert weights.stat().st_size <= 8 * 2**20
    ref = enc.meta["reference_quality"]
    got = quality(enc.model, ref["split"], window=ref["offset"]["window_frames"])
    assert got["clips"] == ref["clips"]
    assert abs(got["offset"]["acc"] - ref["offset"]["acc"]) <= 0.13
    for key in ("video_to_audio_r1", "audio_to_video_r1"):
        assert abs(got["retrieval"][key] - ref["retrieval"][key]) <= 0.13
    full = enc.meta["quality"]
    assert full["split"] == "synthfoley-val"
    assert full["offset"]["acc"] > 3 * full["offset"]["chance"]
    assert full["retrieval"]["video_to_audio_r1"] > 10 * full["retrieval"]["chance_r1"]
