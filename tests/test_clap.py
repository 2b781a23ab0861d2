"""LAION-CLAP (``clap@laion``, ``clap_audio@laion``): our towers against laion_clap's own code.

Checked here, offline (HF_HUB_OFFLINE=1; laion_clap's ``CLAP_Module`` is never constructed, since it
downloads roberta-base):

* the full-size state-dict key set and shapes of ``music_speech_audioset_epoch_15_esc_89.98.pt``,
  recorded below from the architecture (HTSAT-base + RoBERTa-base, no fusion), against our
  :class:`ClapModel` and against laion_clap's ``CLAP`` class built from its ``HTSAT-base.json``
  config, both on the meta device (``RobertaModel.from_pretrained`` patched to build roberta-base
  from its config);
* (a) the front end: ``repeatpad`` against ``laion_clap.training.data.get_audio_features`` and the
  log-mel against laion_clap's HTSAT ``spectrogram_extractor`` / ``logmel_extractor``;
* (b) the audio tower + projection against laion_clap's ``HTSAT_Swin_Transformer`` driven through
  ``CLAP.get_audio_embedding`` with shared random weights (reduced depth 2, 2, 2, 2);
* (c) the text tower + projection against transformers' ``RobertaModel`` and ``CLAP.encode_text``;
  tokenisation against ``CLAP_Module.tokenizer`` on a tiny byte-level BPE vocabulary;
* (d) weights only from the registry: a missing file names ``v2abench weights fetch NAME``; the
  checkpoint loader (``module.`` prefix, ``position_ids``, strict keys) on a tiny checkpoint;
* (e) the metric family on a few clips with random weights: ids, n, dropped ids, determinism,
  caching and batching.
"""

from __future__ import annotations

import json
import os
import types
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # laion_clap reaches the hub at import otherwise

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from v2abench import weights
from v2abench.metrics.backbones.clap import (
    ClapBackbone,
    ClapModel,
    load_checkpoint_state,
    load_clap_model,
)
from v2abench.metrics.backbones.htsat import CLIP_SAMPLES, HtsatConfig, repeatpad
from v2abench.metrics.backbones.roberta import (
    RobertaTextTokenizer,
    StandInTokenizer,
    build_text_branch,
    roberta_config,
)
from v2abench.metrics.base import ClipSample, Direction
from v2abench.metrics.clap_score import CLAP_AUDIO_ID, CLAP_ID, ClapScore

REDUCED_DEPTHS = (2, 2, 2, 2)  # every stage keeps a shifted block; stage 3 is one 8x8 window
REDUCED_TEXT = {"num_hidden_layers": 2, "vocab_size": 1000}


def _clip(seconds: float, rate: int = 48_000, seed: int = 0) -> torch.Tensor:
    """A tone plus decaying noise bursts: broadband, not silent, deterministic."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    y = 0.3 * np.sin(2 * np.pi * (220.0 + 110 * seed) * t) + 0.1 * rng.standard_normal(t.size) * np.exp(-((t % 0.5) / 0.05))
    return torch.from_numpy(y.astype(np.float32))


# --- the released checkpoint's key set -----------------------------------------------------------
def _linear(prefix: str, n_out: int, n_in: int, bias: bool = True) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.weight": (n_out, n_in), **({f"{prefix}.bias": (n_out,)} if bias else {})}


def _norm(prefix: str, n: int) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.weight": (n,), f"{prefix}.bias": (n,)}


def expected_checkpoint_keys() -> dict[str, tuple[int, ...]]:
    """``music_speech_audioset_epoch_15_esc_89.98.pt``'s ``state_dict`` (``module.`` stripped): 505 tensors.

    HTSAT-base (embed 128, depths 2/2/12/2, heads 4/8/16/32, window 8, 64 mels, 1024-point STFT,
    527 classes), RoBERTa-base (vocab 50265, 768 wide, 12 layers, 514 positions, 1 token type,
    with pooler), the 512-d projections and training heads, and ``text_branch.embeddings.position_ids``
    (saved by transformers < 4.31; laion_clap deletes it before loading, so do we).
    """
    keys: dict[str, tuple[int, ...]] = {
        "audio_branch.spectrogram_extractor.stft.conv_real.weight": (513, 1, 1024),
        "audio_branch.spectrogram_extractor.stft.conv_imag.weight": (513, 1, 1024),
        "audio_branch.logmel_extractor.melW": (513, 64),
        **{f"audio_branch.bn0.{n}": (64,) for n in ("weight", "bias", "running_mean", "running_var")},
        "audio_branch.bn0.num_batches_tracked": (),
        "audio_branch.patch_embed.proj.weight": (128, 1, 4, 4),
        "audio_branch.patch_embed.proj.bias": (128,),
        **_norm("audio_branch.patch_embed.norm", 128),
    }
    for stage, (depth, heads) in enumerate(zip((2, 2, 12, 2), (4, 8, 16, 32))):
        dim, grid = 128 * 2**stage, 64 // 2**stage
        for j in range(depth):
            p = f"audio_branch.layers.{stage}.blocks.{j}"
            keys |= _norm(f"{p}.norm1", dim) | _norm(f"{p}.norm2", dim)
            keys[f"{p}.attn.relative_position_bias_table"] = (225, heads)
            keys[f"{p}.attn.relative_position_index"] = (64, 64)
            keys |= _linear(f"{p}.attn.qkv", 3 * dim, dim) | _linear(f"{p}.attn.proj", dim, dim)
            keys |= _linear(f"{p}.mlp.fc1", 4 * dim, dim) | _linear(f"{p}.mlp.fc2", dim, 4 * dim)
            if j % 2 == 1 and grid > 8:  # shifted window; stage 3's 8x8 grid is a single window
                keys[f"{p}.attn_mask"] = ((grid // 8) ** 2, 64, 64)
        if stage < 3:
            keys |= _norm(f"audio_branch.layers.{stage}.downsample.norm", 4 * dim)
            keys |= _linear(f"audio_branch.layers.{stage}.downsample.reduction", 2 * dim, 4 * dim, bias=False)
    keys |= _norm("audio_branch.norm", 1024)
    keys |= {"audio_branch.tscam_conv.weight": (527, 1024, 2, 3), "audio_branch.tscam_conv.bias": (527,)}
    keys |= _linear("audio_branch.head", 527, 527)
    t = "text_branch"
    keys |= {
        f"{t}.embeddings.word_embeddings.weight": (50265, 768),
        f"{t}.embeddings.position_embeddings.weight": (514, 768),
        f"{t}.embeddings.token_type_embeddings.weight": (1, 768),
        f"{t}.embeddings.position_ids": (1, 514),
        **_norm(f"{t}.embeddings.LayerNorm", 768),
        **_linear(f"{t}.pooler.dense", 768, 768),
    }
    for layer in range(12):
        p = f"{t}.encoder.layer.{layer}"
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            keys |= _linear(f"{p}.{name}", 768, 768)
        keys |= _norm(f"{p}.attention.output.LayerNorm", 768) | _norm(f"{p}.output.LayerNorm", 768)
        keys |= _linear(f"{p}.intermediate.dense", 3072, 768) | _linear(f"{p}.output.dense", 768, 3072)
    keys |= _linear("audio_projection.0", 512, 1024) | _linear("audio_projection.2", 512, 512)
    keys |= _linear("text_projection.0", 512, 768) | _linear("text_projection.2", 512, 512)
    for head in ("audio_transform", "text_transform"):
        keys |= _linear(f"{head}.sequential.0", 512, 512) | _linear(f"{head}.sequential.3", 512, 512)
    keys |= {"logit_scale_a": (), "logit_scale_t": ()}
    return keys


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


@pytest.fixture(scope="module")
def laion() -> types.SimpleNamespace:
    pytest.importorskip("laion_clap")
    from laion_clap.clap_module import htsat, model
    from laion_clap.hook import CLAP_Module
    from laion_clap.training import data

    config = json.loads((Path(model.__file__).parent / "model_configs" / "HTSAT-base.json").read_text())
    return types.SimpleNamespace(htsat=htsat, model=model, data=data, CLAP_Module=CLAP_Module, config=config)


@pytest.mark.filterwarnings("ignore:torch.meshgrid")  # laion_clap's HTSAT
def test_checkpoint_key_set_ours_and_laion_clap(laion: types.SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = expected_checkpoint_keys()
    assert len(expected) == 505
    model_keys = {k: v for k, v in expected.items() if k != "text_branch.embeddings.position_ids"}
    with torch.device("meta"):
        ours = ClapModel()
    assert _shapes(ours) == model_keys

    # laion_clap's CLAP from its HTSAT-base config, on the meta device. Its text branch calls
    # RobertaModel.from_pretrained("roberta-base") (the hub): build roberta-base from its config
    # instead. On meta, HTSAT's torch.linspace(...).item() and torchlibrosa's front end (which sets
    # .data from numpy) are built on the CPU.
    cpu = lambda fn: lambda *a, **k: _on_cpu(fn, *a, **k)
    proxy = types.ModuleType("torch")
    proxy.__getattr__ = lambda name: getattr(torch, name)  # type: ignore[method-assign]
    proxy.linspace = cpu(torch.linspace)  # type: ignore[attr-defined]
    monkeypatch.setattr(laion.htsat, "torch", proxy)
    monkeypatch.setattr(laion.htsat, "Spectrogram", cpu(laion.htsat.Spectrogram))
    monkeypatch.setattr(laion.htsat, "LogmelFilterBank", cpu(laion.htsat.LogmelFilterBank))
    monkeypatch.setattr(laion.model.RobertaModel, "from_pretrained", lambda name, *a, **k: build_text_branch())
    config = json.loads(json.dumps(laion.config))
    config["text_cfg"]["model_type"] = "roberta"  # as create_model(amodel, tmodel="roberta") sets it
    with torch.device("meta"):
        theirs = laion.model.CLAP(**config)
    assert _shapes(theirs) == model_keys


def _on_cpu(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with torch.device("cpu"):
        return fn(*args, **kwargs)


# --- (a) front end ------------------------------------------------------------------------------
def _laion_waveform(laion: types.SimpleNamespace, audio: torch.Tensor) -> torch.Tensor:
    sample = laion.data.get_audio_features({}, audio, CLIP_SAMPLES, data_truncating="rand_trunc", data_filling="repeatpad", audio_cfg=laion.config["audio_cfg"])
    return sample["waveform"]


@pytest.mark.parametrize("seconds", [0.7, 2.0, 3.3, 10.0])
def test_repeatpad_matches_laion_clap(laion: types.SimpleNamespace, seconds: float) -> None:
    audio = _clip(seconds, seed=1)
    ours = repeatpad(audio)
    assert ours.shape == (CLIP_SAMPLES,)
    assert torch.equal(ours, _laion_waveform(laion, audio))


def test_long_clips_cropped_deterministically(laion: types.SimpleNamespace) -> None:
    audio = torch.arange(CLIP_SAMPLES + 48_000, dtype=torch.float32)
    assert torch.equal(repeatpad(audio), audio[:CLIP_SAMPLES])  # protocol: the first 10 s
    theirs = _laion_waveform(laion, audio)  # the toolkit: a random window ("random_crop" variant)
    offset = int(theirs[0])
    assert torch.equal(theirs, audio[offset : offset + CLIP_SAMPLES])
    rng = np.random.default_rng(3)
    variant = repeatpad(audio, crop="random_crop", generator=rng)
    assert torch.equal(variant, audio[int(variant[0]) : int(variant[0]) + CLIP_SAMPLES])
    with pytest.raises(ValueError):
        repeatpad(audio, crop="middle")


@pytest.fixture(scope="module")
def backbone() -> ClapBackbone:
    """Full-width towers at reduced depth (text: 2 layers, a 1000-token vocabulary with the stand-in tokenizer)."""
    return ClapBackbone(random_init=True, seed=0, audio_config=HtsatConfig(depths=REDUCED_DEPTHS), text_overrides=REDUCED_TEXT, batch_size=4)


def _laion_htsat(laion: types.SimpleNamespace, depths: tuple[int, ...]) -> torch.nn.Module:
    """laion_clap's HTSAT_Swin_Transformer with create_htsat_model's "base" settings, given depths."""
    audio_cfg = laion.model.CLAPAudioCfp(**laion.config["audio_cfg"])
    return laion.htsat.HTSAT_Swin_Transformer(
        spec_size=256, patch_size=4, patch_stride=(4, 4), num_classes=audio_cfg.class_num, embed_dim=128,
        depths=list(depths), num_heads=[4, 8, 16, 32], window_size=8, config=audio_cfg,
    ).eval()


@pytest.fixture(scope="module")
def laion_htsat(laion: types.SimpleNamespace, backbone: ClapBackbone) -> torch.nn.Module:
    """laion_clap's HTSAT (depths 2, 2, 2, 2) holding our backbone's (perturbed) audio weights."""
    ours = backbone.model.audio_branch
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)  # move BN statistics and LayerNorms off identity so they are exercised
        for name, p in ours.named_parameters():
            if not name.startswith(("spectrogram_extractor", "logmel_extractor")):
                p.add_(0.05 * torch.randn_like(p))
        ours.bn0.running_mean.normal_(0.0, 3.0)
        ours.bn0.running_var.uniform_(5.0, 50.0)
    theirs = _laion_htsat(laion, REDUCED_DEPTHS)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    return theirs


def test_log_mel_matches_laion_clap_htsat(laion_htsat: torch.nn.Module, backbone: ClapBackbone) -> None:
    wave = torch.stack([repeatpad(_clip(3.3, seed=2)), repeatpad(_clip(10.0, seed=3))])
    with torch.no_grad():
        theirs = laion_htsat.logmel_extractor(laion_htsat.spectrogram_extractor(wave))
        ours = backbone.model.audio_branch.log_mel(wave)
    assert ours.shape == theirs.shape == (2, 1, 1001, 64)
    diff = (ours - theirs).abs()
    print(f"\nlog-mel: max abs diff {diff.max():.2e} dB, max rel {(diff / theirs.abs().clamp(min=1.0)).max():.2e}")
    assert (diff <= 1e-5 * theirs.abs().clamp(min=1.0)).all()


# --- (b) audio tower ----------------------------------------------------------------------------
def test_audio_tower_matches_laion_clap(laion: types.SimpleNamespace, laion_htsat: torch.nn.Module, backbone: ClapBackbone) -> None:
    clips = [_clip(3.3, seed=4), _clip(10.0, seed=5)]
    # laion_clap's own path: get_audio_features -> CLAP.get_audio_embedding (encode_audio, projection, normalize)
    reference = torch.nn.Module()
    reference.audio_branch = laion_htsat
    reference.audio_projection = torch.nn.Sequential(torch.nn.Linear(1024, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512))
    reference.audio_projection.load_state_dict(backbone.model.audio_projection.state_dict())
    reference.encode_audio = types.MethodType(laion.model.CLAP.encode_audio, reference)
    captured: dict[str, torch.Tensor] = {}
    laion_htsat.register_forward_hook(lambda m, i, out: captured.__setitem__("theirs", out["embedding"]))
    data = [laion.data.get_audio_features({}, c, CLIP_SAMPLES, "rand_trunc", "repeatpad", laion.config["audio_cfg"]) for c in clips]
    with torch.no_grad():
        theirs = laion.model.CLAP.get_audio_embedding(reference, data)
    hook = backbone.model.audio_branch.register_forward_hook(lambda m, i, out: captured.__setitem__("ours", out))
    try:
        ours = backbone.embed_batch(clips)
    finally:
        hook.remove()
    assert ours.shape == theirs.shape == (2, 512)
    tower = (captured["ours"] - captured["theirs"]).abs().max()
    emb = (ours - theirs).abs().max()
    print(f"\nHTSAT embedding [2, 1024]: max abs diff {tower:.2e} (scale {captured['theirs'].abs().max():.2f}); projected+normalised [2, 512]: {emb:.2e}")
    assert tower <= 1e-5 * max(1.0, float(captured["theirs"].abs().max()))
    assert emb <= 1e-5
    assert torch.allclose(ours.norm(dim=1), torch.ones(2), atol=1e-6)


# --- (c) text tower -----------------------------------------------------------------------------
def test_text_tower_matches_transformers_and_laion_clap(laion: types.SimpleNamespace, backbone: ClapBackbone) -> None:
    from transformers import RobertaModel

    texts = ["a dog barks twice", "rain on a tin roof, then thunder", "x " * 100]
    theirs_branch = RobertaModel(roberta_config(REDUCED_TEXT)).eval()
    theirs_branch.load_state_dict(backbone.model.text_branch.state_dict(), strict=True)
    projection = torch.nn.Sequential(torch.nn.Linear(768, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512))
    projection.load_state_dict(backbone.model.text_projection.state_dict())
    clap = types.SimpleNamespace(text_branch_type="roberta", text_branch=theirs_branch, text_projection=projection)
    tokens = backbone.tokenizer(texts)
    assert tokens["input_ids"].shape == (3, 77) and int(tokens["attention_mask"][2].sum()) == 77
    with torch.no_grad():
        theirs = F.normalize(laion.model.CLAP.encode_text(clap, tokens, device="cpu"), dim=-1)  # as CLAP.get_text_embedding
    ours = backbone.embed_text(texts)
    print(f"\ntext embedding [3, 512]: max abs diff {(ours - theirs).abs().max():.2e}")
    assert ours.shape == (3, 512) and (ours - theirs).abs().max() <= 1e-5
    assert not torch.allclose(ours[0], ours[1])


def _bytes_to_unicode() -> list[str]:
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def test_tokenizer_matches_clap_module_tokenizer(laion: types.SimpleNamespace, tmp_path: Path) -> None:
    """A tiny byte-level BPE vocabulary in roberta-base's file format; same ids and mask as CLAP_Module."""
    from transformers import RobertaTokenizer

    merges = [("Ġ", "d"), ("o", "g"), ("Ġd", "og"), ("Ġ", "b"), ("a", "r"), ("Ġb", "ar"), ("k", "s")]
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for token in [*_bytes_to_unicode(), *("".join(m) for m in merges), "<mask>"]:
        vocab.setdefault(token, len(vocab))
    (tmp_path / "vocab.json").write_text(json.dumps(vocab))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    texts = ["a dog barks", "A dog bar ks, twice! " * 20, "ünïcode ☂"]
    ours = RobertaTextTokenizer(tmp_path / "vocab.json", tmp_path / "merges.txt")(texts)
    module = types.SimpleNamespace(tokenize=RobertaTokenizer.from_pretrained(str(tmp_path)))  # from_pretrained of a local folder
    theirs = laion.CLAP_Module.tokenizer(module, texts)
    assert torch.equal(ours["input_ids"], theirs["input_ids"]) and torch.equal(ours["attention_mask"], theirs["attention_mask"])
    assert ours["input_ids"].shape == (3, 77) and ours["input_ids"][0, :6].tolist() == [0, vocab["a"], vocab["Ġdog"], vocab["Ġbar"], vocab["ks"], 2]
    assert ours["input_ids"][1, -1] == 2  # truncated to 77 with </s> kept


def test_stand_in_tokenizer_layout() -> None:
    out = StandInTokenizer()(["A dog, barking.", ""])  # <s> a dog , barking . </s> <pad> ...
    ids = out["input_ids"][0].tolist()
    assert ids[0] == 0 and all(3 < i < 50265 for i in ids[1:6]) and ids[6] == 2 and ids[7:] == [1] * 70
    assert out["attention_mask"][0].sum() == 7 and out["input_ids"][1, :3].tolist() == [0, 2, 1]
    assert torch.equal(out["input_ids"], StandInTokenizer()(["a dog , barking .", ""])["input_ids"])


# --- (d) weights --------------------------------------------------------------------------------
def test_missing_weights_name_the_fetch_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    with pytest.raises(weights.MissingWeightsError, match="v2abench weights fetch laion-clap-music-speech-audioset"):
        ClapBackbone()
    spec = weights.get_spec("laion-clap-music-speech-audioset")
    spec.path.parent.mkdir(parents=True)
    spec.path.write_bytes(b"placeholder")
    with pytest.raises(weights.MissingWeightsError, match="v2abench weights fetch roberta-base-tokenizer-vocab"):
        ClapBackbone()
    for name in ("roberta-base-tokenizer-vocab", "roberta-base-tokenizer-merges"):
        assert weights.get_spec(name).url.startswith("https://huggingface.co/FacebookAI/roberta-base/resolve/main/")
    assert spec.url == "https://huggingface.co/lukewys/laion_clap/resolve/main/music_speech_audioset_epoch_15_esc_89.98.pt"


TINY_AUDIO = HtsatConfig(embed_dim=16, depths=(2, 2, 2, 2), num_heads=(1, 1, 2, 2), num_classes=5)
TINY_TEXT = {"vocab_size": 40, "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64}


def test_checkpoint_loader_round_trip(tmp_path: Path) -> None:
    """``module.``-prefixed ``state_dict`` with ``position_ids`` and optimiser state -> exact keys, same tensors."""
    torch.manual_seed(0)
    model = ClapModel(TINY_AUDIO, TINY_TEXT)
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    state["module.text_branch.embeddings.position_ids"] = torch.arange(514)[None]
    path = tmp_path / "clap.pt"
    torch.save({"epoch": 15, "name": "tiny", "state_dict": state, "optimizer": {"state": {}, "param_groups": [{"lr": 1e-4}]}}, path)
    loaded = load_clap_model(path, audio_config=TINY_AUDIO, text_overrides=TINY_TEXT)
    assert loaded.state_dict().keys() == model.state_dict().keys()
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    assert torch.equal(loaded.text_branch.embeddings.position_ids, torch.arange(514)[None])
    ids = torch.tensor([[0, 5, 6, 2, 1]])
    with torch.no_grad():
        assert torch.allclose(loaded.eval().text_embedding(ids, (ids != 1).long()), model.eval().text_embedding(ids, (ids != 1).long()))

    del state["module.logit_scale_a"]
    torch.save({"state_dict": state}, path)
    with pytest.raises(RuntimeError, match="logit_scale_a"):
        load_clap_model(path, audio_config=TINY_AUDIO, text_overrides=TINY_TEXT)
    state["module.text_branch.embeddings.position_ids"] = torch.arange(514)[None].flip(1)
    torch.save({"state_dict": state}, path)
    with pytest.raises(ValueError, match="position_ids"):
        load_checkpoint_state(path)


# --- (e) the metric family ----------------------------------------------------------------------
def _samples() -> list[ClipSample]:
    gen16 = _clip(1.5, 16_000, seed=6)  # generated at 16 kHz: resampled to 48 kHz by the family
    return [
        ClipSample("a", gen16, 16_000, _clip(1.5, seed=7), 48_000, 1.5, caption="a dog barks"),
        ClipSample("b", _clip(2.0, seed=8), 48_000, _clip(2.0, seed=9), 48_000, 2.0, caption="rain and thunder"),
        ClipSample("c", _clip(1.0, seed=10), 48_000, None, None, 1.0, caption=None),
    ]


def _run(bb: ClapBackbone, **kw: object) -> dict[str, object]:
    family = ClapScore(bb, bootstrap_resamples=200, **kw)  # type: ignore[arg-type]
    for sample in _samples():
        family.update(sample)
    return {r.id: r for r in family.compute()}


def test_family_clap_scores_random_weights() -> None:
    """Tiny towers (the full-width audio tower runs in the parity tests): ids, n, drops, cache, batching."""
    bb = ClapBackbone(random_init=True, seed=1, audio_config=TINY_AUDIO, text_overrides=TINY_TEXT, batch_size=4)
    assert bb.id == "laion" and bb.sample_rate == 48_000 and bb.weights_sha256 is None
    assert [s.id for s in ClapScore(bb).specs] == [CLAP_ID, CLAP_AUDIO_ID]
    assert all(s.direction is Direction.HIGHER and s.backbone == "laion" for s in ClapScore(bb).specs)
    first = _run(bb)  # computes and caches 5 embeddings (3 generated, 2 reference) in 2 forwards
    clap, clap_audio = first[CLAP_ID], first[CLAP_AUDIO_ID]
    assert clap.n == 2 and clap.dropped == {"c": "no caption"} and clap.direction is Direction.HIGHER
    assert clap_audio.n == 2 and clap_audio.dropped == {"c": "no reference audio"} and clap_audio.backbone == "laion"
    for r in (clap, clap_audio):
        assert r.value is not None and -1.0 <= r.value <= 1.0 and r.interval is not None
        assert r.interval[0] <= r.value <= r.interval[1]
    cached = _run(bb)  # every embedding from the feature cache
    assert {k: v.value for k, v in cached.items()} == {k: v.value for k, v in first.items()}
    fresh = _run(bb, use_cache=False, batch_size=2)  # recomputed, other batches: same numbers
    for key in first:
        assert abs(fresh[key].value - first[key].value) <= 1e-5  # type: ignore[operator]
    single = bb.embed(_clip(1.0, seed=10)).embeddings
    assert single.shape == (1, 512) and single.dtype == torch.float32 and abs(float(single.norm()) - 1.0) < 1e-5
    assert torch.allclose(bb.embed_text(["a dog barks"]).norm(dim=1), torch.ones(1), atol=1e-5)
    same_seed = ClapBackbone(random_init=True, seed=1, audio_config=TINY_AUDIO, text_overrides=TINY_TEXT)
    assert torch.equal(same_seed.embed(_clip(1.0, seed=10)).embeddings, single)
    assert same_seed.settings() == bb.settings() and bb.settings()["random_init_seed"] == 1  # the cache key names the seed
