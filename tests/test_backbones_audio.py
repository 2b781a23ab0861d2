"""The real audio backbones (VGGish, PANNs CNN14, PaSST, Resemblyzer) with seeded random weights.

Checked here: output shapes and dtypes, determinism (same seed, same output; two calls equal),
front ends against the reference packages' own implementations (to 1e-5), the full forward of
PANNs CNN14 and PaSST against their reference implementations with shared seeded weights (to 1e-5;
fixtures ``tests/fixtures/{panns,passt}_reference_outputs.json``, each made by the
``make_*_reference.py`` script beside it, pinned to an upstream commit), state-dict key sets
against the released checkpoints' layouts (on the meta device), the loading path (weights only
from the registry, MissingWeightsError naming the fetch command), and Resemblyzer for real (its
weights ship in the pip package).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from v2abench import weights
from v2abench.metrics.backbones.frontends import LogMelFilterBank, PasstMel, PowerSpectrogram, vggish_examples
from v2abench.metrics.backbones.panns import Cnn14, PannsBackbone, load_checkpoint_state
from v2abench.metrics.backbones.passt import CLIP_SAMPLES, PasstBackbone, build_passt_network, pad_or_cut
from v2abench.metrics.backbones.resemblyzer_backbone import ResemblyzerBackbone, shipped_weights_path
from v2abench.metrics.backbones.vggish import VGGishBackbone, build_vggish_network

FIXTURES = Path(__file__).parent / "fixtures"


def tone_bursts(seconds: float, rate: int, seed: int = 0) -> torch.Tensor:
    """A tone plus decaying noise bursts: broadband, not silent, deterministic."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    y = 0.3 * np.sin(2 * np.pi * 440.0 * t) + 0.1 * rng.standard_normal(t.size) * np.exp(-((t % 0.5) / 0.05))
    return torch.from_numpy(y.astype(np.float32))


def _shapes(state: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    return {name: tuple(value.shape) for name, value in state.items()}


def seeded_state(template: Mapping[str, torch.Tensor], seed: int, keep: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """Random float32 weights for ``template``'s names and shapes, reproducible from ``seed`` alone.

    numpy's PCG64 (not torch's generator, whose draws depend on how a network was built) draws
    ``z ~ U(-sqrt 3, sqrt 3)`` (zero mean, unit variance; uniform is 3x faster to draw than normal
    for 80M weights) tensor by tensor in sorted-name order, so two implementations with the same
    names get the same weights. Per tensor: kernels and matrices ``z / sqrt(fan_in)`` with
    ``fan_in = prod(shape[1:])``; tokens and positional tables (leading dim 1) ``0.5 z``;
    BatchNorm ``running_var`` ``0.5 + 0.5 |z|``; other 1-d ``weight`` (norm scales) ``1 + 0.1 z``;
    other 1-d tensors (biases, running means) ``0.1 z``. Integer tensors (``num_batches_tracked``)
    and names starting with a ``keep`` prefix (fixed front-end kernels) are copied, drawing nothing.
    """
    rng = np.random.default_rng(seed)
    state: dict[str, torch.Tensor] = {}
    for name, tensor in sorted(template.items()):
        if not tensor.is_floating_point() or name.startswith(keep):
            state[name] = tensor.detach().clone()
            continue
        shape = tuple(tensor.shape)
        z = rng.random(shape, dtype=np.float32)
        z -= np.float32(0.5)
        z *= np.float32(2.0 * np.sqrt(3.0))
        if len(shape) >= 2:
            z *= np.float32(0.5 if shape[0] == 1 else 1.0 / np.sqrt(np.prod(shape[1:])))
        elif name.endswith("running_var"):
            z = np.float32(0.5) + np.float32(0.5) * np.abs(z)
        elif name.endswith("weight"):
            z = np.float32(1.0) + np.float32(0.1) * z
        else:
            z *= np.float32(0.1)
        state[name] = torch.from_numpy(z.reshape(shape))
    return state


def reference_doc(name: str) -> dict[str, Any]:
    """A reference-output fixture ``tests/fixtures/<name>``; the script named in its ``script`` made it."""
    return json.loads((FIXTURES / name).read_text())


# --- VGGish ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vggish() -> VGGishBackbone:
    return VGGishBackbone(random_init=True, seed=0)


@pytest.mark.parametrize("seconds", [2.5, 3.0])
def test_vggish_shapes(vggish: VGGishBackbone, seconds: float) -> None:
    out = vggish.embed(tone_bursts(seconds, 16_000))
    assert out.embeddings.shape == (int(seconds // 0.96), 128) and out.embeddings.dtype == torch.float32
    assert out.logits is None and vggish.frame_level and vggish.weights_sha256 is None
    assert (out.embeddings < 0).any(), "pre-ReLU embedding: negative values must survive"
    assert vggish.embed(tone_bursts(0.9, 16_000)).embeddings.shape == (0, 128)


def test_vggish_deterministic(vggish: VGGishBackbone) -> None:
    audio = tone_bursts(2.0, 16_000)
    first = vggish.embed(audio).embeddings
    assert torch.equal(first, vggish.embed(audio).embeddings)
    assert torch.equal(first, VGGishBackbone(random_init=True, seed=0).embed(audio).embeddings)
    assert not torch.equal(first, VGGishBackbone(random_init=True, seed=1).embed(audio).embeddings)


def test_vggish_frontend_matches_torchvggish() -> None:
    from torchvggish.vggish_input import waveform_to_examples

    audio = tone_bursts(3.3, 16_000, seed=3)
    reference = waveform_to_examples(audio.double().numpy(), 16_000, return_tensor=True)[:, 0].detach()
    ours = vggish_examples(audio)
    assert ours.shape == reference.shape == (3, 96, 64)
    assert (ours - reference).abs().max().item() <= 1e-5


def test_vggish_is_torchvggish_without_final_relu(vggish: VGGishBackbone) -> None:
    """relu(our embedding) == torchvggish's own pipeline (waveform_to_examples + VGG) with the same weights."""
    from torchvggish.torchvggish import VGG, make_layers
    from torchvggish.vggish_input import waveform_to_examples

    reference = VGG(make_layers(), postprocess=False).eval()
    reference.load_state_dict(vggish.network.state_dict())
    audio = tone_bursts(2.0, 16_000, seed=4)
    with torch.no_grad():
        expected = reference(waveform_to_examples(audio.double().numpy(), 16_000))
    assert torch.allclose(torch.relu(vggish.embed(audio).embeddings), expected, atol=1e-6)


def test_vggish_keys_match_torchvggish() -> None:
    from torchvggish.torchvggish import VGG, make_layers

    with torch.device("meta"):
        ours = _shapes(build_vggish_network().state_dict())
        theirs = _shapes(VGG(make_layers(), postprocess=False).state_dict())
    assert ours == theirs
    convs = {0: (64, 1), 3: (128, 64), 6: (256, 128), 8: (256, 256), 11: (512, 256), 13: (512, 512)}
    expected = {f"features.{i}.weight": (o, c, 3, 3) for i, (o, c) in convs.items()}
    expected |= {f"features.{i}.bias": (o,) for i, (o, _) in convs.items()}
    for i, (o, c) in {0: (4096, 12288), 2: (4096, 4096), 4: (128, 4096)}.items():
        expected |= {f"embeddings.{i}.weight": (o, c), f"embeddings.{i}.bias": (o,)}
    assert ours == expected


# --- PANNs ----------------------------------------------------------------------------------------
# The released Cnn14_16k_mAP=0.438.pth ``model`` dict, as the reference class Cnn14_16k
# (qiuqiangkong/audioset_tagging_cnn, pytorch/models.py, with torchlibrosa's Spectrogram and
# LogmelFilterBank) lays it out: 84 tensors.
PANNS_FRONT_AND_HEAD = {
    "spectrogram_extractor.stft.conv_real.weight": (257, 1, 512),
    "spectrogram_extractor.stft.conv_imag.weight": (257, 1, 512),
    "logmel_extractor.melW": (257, 64),
    "fc1.weight": (2048, 2048),
    "fc1.bias": (2048,),
    "fc_audioset.weight": (527, 2048),
    "fc_audioset.bias": (527,),
}
PANNS_CONV_BLOCKS = {1: (1, 64), 2: (64, 128), 3: (128, 256), 4: (256, 512), 5: (512, 1024), 6: (1024, 2048)}


def _batch_norm(prefix: str, channels: int) -> dict[str, tuple[int, ...]]:
    keys = {f"{prefix}.{n}": (channels,) for n in ("weight", "bias", "running_mean", "running_var")}
    return keys | {f"{prefix}.num_batches_tracked": ()}


def _panns_expected_keys() -> dict[str, tuple[int, ...]]:
    expected = dict(PANNS_FRONT_AND_HEAD) | _batch_norm("bn0", 64)
    for i, (c_in, c_out) in PANNS_CONV_BLOCKS.items():
        expected[f"conv_block{i}.conv1.weight"] = (c_out, c_in, 3, 3)
        expected[f"conv_block{i}.conv2.weight"] = (c_out, c_out, 3, 3)
        expected |= _batch_norm(f"conv_block{i}.bn1", c_out) | _batch_norm(f"conv_block{i}.bn2", c_out)
    return expected


def test_panns_keys_match_released_checkpoint() -> None:
    with torch.device("meta"):
        ours = _shapes(Cnn14().state_dict())
    expected = _panns_expected_keys()
    assert len(expected) == 84
    assert ours == expected


@pytest.fixture(scope="module")
def panns() -> PannsBackbone:
    return PannsBackbone(random_init=True, seed=0)


def test_panns_shapes_and_determinism(panns: PannsBackbone) -> None:
    audio = tone_bursts(2.0, 16_000)
    out = panns.embed(audio)
    assert out.embeddings.shape == (1, 2048) and out.embeddings.dtype == torch.float32
    assert out.logits is not None and out.logits.shape == (527,) and out.logits.dtype == torch.float32
    assert torch.isfinite(out.logits).all() and (out.embeddings >= 0).all()  # embedding is relu(fc1)
    again = panns.embed(audio)
    assert torch.equal(out.embeddings, again.embeddings) and torch.equal(out.logits, again.logits)
    twin = PannsBackbone(random_init=True, seed=0).embed(audio)
    assert torch.equal(out.embeddings, twin.embeddings) and torch.equal(out.logits, twin.logits)
    with pytest.raises(ValueError, match="at least 4960 samples"):
        panns.embed(tone_bursts(0.2, 16_000))


def test_panns_frontend_matches_torchlibrosa() -> None:
    torchlibrosa_stft = pytest.importorskip("torchlibrosa.stft")  # laion-clap's dependency, as PANNs uses it
    spectrogram = torchlibrosa_stft.Spectrogram(n_fft=512, hop_length=160, win_length=512, window="hann", center=True, pad_mode="reflect", freeze_parameters=True)
    logmel = torchlibrosa_stft.LogmelFilterBank(sr=16_000, n_fft=512, n_mels=64, fmin=50, fmax=8000, ref=1.0, amin=1e-10, top_db=None, freeze_parameters=True)
    audio = tone_bursts(2.0, 16_000, seed=5)[None]
    with torch.no_grad():
        reference = logmel(spectrogram(audio))
        ours = LogMelFilterBank()(PowerSpectrogram()(audio))
    assert ours.shape == reference.shape == (1, 1, 201, 64)
    # dB values span [-100, 15]: 1e-5 relative (a couple of float32 ulps at 100 dB)
    assert ((ours - reference).abs() <= 1e-5 * reference.abs().clamp(min=1.0)).all()
    ours_stft = PowerSpectrogram().stft
    assert (ours_stft.conv_real.weight - spectrogram.stft.conv_real.weight).abs().max() <= 1e-6
    assert (ours_stft.conv_imag.weight - spectrogram.stft.conv_imag.weight).abs().max() <= 1e-6


def test_panns_full_forward_matches_reference(panns: PannsBackbone) -> None:
    """Embedding, logits and sigmoid outputs equal audioset_tagging_cnn's ``Cnn14_16k`` (to 1e-5).

    Fixture made by tests/fixtures/make_panns_reference.py (upstream commit in the file); the same
    seeded weights, by name, in both; each side computes its own STFT and mel kernels.
    """
    doc = reference_doc("panns_reference_outputs.json")
    ours = copy.deepcopy(panns)  # the module fixture keeps its own weights for the other tests
    state = seeded_state(ours.network.state_dict(), doc["weights_seed"], keep=tuple(doc["keep"]))
    ours.network.load_state_dict(state, strict=True)
    for clip, expected in zip(doc["clips"], doc["outputs"], strict=True):
        out = ours.embed(tone_bursts(clip["seconds"], doc["rate"], clip["seed"]))
        assert out.logits is not None
        torch.testing.assert_close(out.embeddings[0], torch.tensor(expected["embedding"]), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out.logits, torch.tensor(expected["logits"]), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(torch.sigmoid(out.logits), torch.tensor(expected["clipwise_output"]), atol=1e-5, rtol=1e-5)
        assert 0 < int((out.embeddings > 0).sum()) < 2048  # relu(fc1): neither dead nor all active


def test_panns_checkpoint_with_numpy_sampler_state(tmp_path: Path) -> None:
    """PANNs checkpoints carry the sampler's numpy arrays: loaded with weights_only, numpy allowed."""
    state = {"fc.weight": torch.arange(6.0).reshape(2, 3)}
    path = tmp_path / "ckpt.pth"
    sampler = {"indexes_per_class": [np.arange(5), np.array([1.5])], "pointers_of_classes": [np.int64(3)], "queue": [1, 2]}
    torch.save({"iteration": 3, "model": state, "sampler": sampler}, path)
    loaded = load_checkpoint_state(path)
    assert list(loaded) == ["fc.weight"] and torch.equal(loaded["fc.weight"], state["fc.weight"])


# --- PaSST ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def passt() -> PasstBackbone:
    # one transformer block: a full 12-block forward takes ~10 s on 2 cores (full key set: below)
    return PasstBackbone(random_init=True, seed=0, blocks=1)


@pytest.fixture(scope="module")
def passt_full_state() -> dict[str, torch.Tensor]:
    """The full 12-block network's random weights (hear21passt calls .item() while building, so
    it cannot be built on the meta device: ~2 s on CPU)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        return build_passt_network().state_dict()


def test_passt_full_network_layout(passt_full_state: dict[str, torch.Tensor]) -> None:
    state = _shapes(passt_full_state)
    assert len(state) == 159  # 12 blocks x 12 tensors + 15 outside the blocks
    assert sum(int(np.prod(s)) for s in state.values()) == 86_153_758
    assert state["patch_embed.proj.weight"] == (768, 1, 16, 16)
    assert state["freq_new_pos_embed"] == (1, 768, 12, 1) and state["time_new_pos_embed"] == (1, 768, 1, 99)
    assert state["cls_token"] == state["dist_token"] == (1, 1, 768) and state["new_pos_embed"] == (1, 2, 768)
    assert state["head.1.weight"] == state["head_dist.weight"] == (527, 768)
    assert state["blocks.11.attn.qkv.weight"] == (2304, 768)


def test_passt_shapes_and_determinism(passt: PasstBackbone) -> None:
    audio = tone_bursts(2.0, 32_000)
    out = passt.embed(audio)
    assert out.embeddings.shape == (1, 768) and out.embeddings.dtype == torch.float32
    assert out.logits is not None and out.logits.shape == (527,) and torch.isfinite(out.logits).all()
    assert torch.equal(out.embeddings, passt.embed(audio).embeddings)
    twin = PasstBackbone(random_init=True, seed=0, blocks=1).embed(audio)
    assert torch.equal(out.embeddings, twin.embeddings) and torch.equal(out.logits, twin.logits)
    # padding and cutting: a 2 s clip, and the same clip followed by 11 s of silence, are one input
    longer = torch.cat([audio, torch.zeros(11 * 32_000)])
    assert torch.equal(out.embeddings, passt.embed(longer).embeddings)


def test_passt_pad_or_cut() -> None:
    short, long = torch.ones(5), torch.arange(float(CLIP_SAMPLES + 7))
    assert pad_or_cut(short).shape == (CLIP_SAMPLES,) and pad_or_cut(short)[5:].abs().sum() == 0
    assert torch.equal(pad_or_cut(long), long[:CLIP_SAMPLES])
    assert PasstMel()(pad_or_cut(short)[None]).shape == (1, 128, 1000)


@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore:stft with return_complex=False:UserWarning")  # hear21passt's own
def test_passt_frontend_matches_hear21passt() -> None:
    from hear21passt.models.preprocess import AugmentMelSTFT

    with contextlib.redirect_stdout(io.StringIO()):  # it prints a warning about fmax
        reference = AugmentMelSTFT(n_mels=128, sr=32000, win_length=800, hopsize=320, n_fft=1024, freqm=48, timem=192, htk=False, fmin=0.0, fmax=None, norm=1, fmin_aug_range=10, fmax_aug_range=2000).eval()
    audio = torch.stack([pad_or_cut(tone_bursts(3.0, 32_000, seed=6)), pad_or_cut(tone_bursts(12.0, 32_000, seed=7))])
    with torch.no_grad():
        expected = reference(audio)
        ours = PasstMel()(audio)
    assert ours.shape == expected.shape == (2, 128, 1000)
    assert (ours - expected).abs().max().item() <= 1e-5


def _passt_differences(backbone: PasstBackbone, network: str) -> tuple[int, list[float], list[float]]:
    """``backbone`` with the fixture's seeded weights against hear21passt's outputs: (number of blocks,
    per-clip max |embedding difference|, per-clip max |logit difference|)."""
    doc = reference_doc("passt_reference_outputs.json")
    expected = doc["networks"][network]
    backbone.network.load_state_dict(seeded_state(backbone.network.state_dict(), doc["weights_seed"]), strict=True)
    emb_diff, logit_diff = [], []
    for i, clip in enumerate(doc["clips"]):
        out = backbone.embed(tone_bursts(clip["seconds"], doc["rate"], clip["seed"]))
        assert out.logits is not None
        emb_diff.append(float((out.embeddings[0] - torch.tensor(expected["embedding"][i])).abs().max()))
        logit_diff.append(float((out.logits.reshape(-1) - torch.tensor(expected["logits"][i]).reshape(-1)).abs().max()))
    assert len(doc["clips"]) >= 2  # a padded and a cut clip
    return expected["blocks"], emb_diff, logit_diff


def test_passt_forward_matches_hear21passt_one_block(passt: PasstBackbone) -> None:
    """Front end, padding/cutting to 10 s, patching, tokens, one block, norm and head against
    hear21passt's ``get_basic_model(mode="all")`` as av-benchmark runs it (fixture made by
    tests/fixtures/make_passt_reference.py), one transformer block so that it stays fast."""
    backbone = copy.deepcopy(passt)
    blocks, emb_diff, logit_diff = _passt_differences(backbone, "one_block")
    assert len(backbone.network.blocks) == blocks == 1
    assert max(emb_diff) <= 1e-5 and max(logit_diff) <= 1e-5, (emb_diff, logit_diff)


@pytest.mark.slow
def test_passt_full_forward_matches_hear21passt() -> None:
    """The same with all 12 blocks (about 20 s on 2 cores: build, seeded weights, two forwards)."""
    backbone = PasstBackbone(random_init=True, seed=0)
    blocks, emb_diff, logit_diff = _passt_differences(backbone, "full")
    assert len(backbone.network.blocks) == blocks == 12
    assert max(emb_diff) <= 1e-5 and max(logit_diff) <= 1e-5, (emb_diff, logit_diff)


# --- weights only from the registry ---------------------------------------------------------------
@pytest.mark.parametrize(("backbone", "name"), [(VGGishBackbone, "vggish"), (PannsBackbone, "panns-cnn14-16k"), (PasstBackbone, "passt-s-swa-ap476")])
def test_missing_weights_name_the_fetch_command(backbone: type, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    assert backbone.weights_name == name and weights.get_spec(name).filename
    with pytest.raises(weights.MissingWeightsError, match=f"v2abench weights fetch {name}"):
        backbone()


def test_vggish_loads_registry_file(vggish: VGGishBackbone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    path = weights.get_spec("vggish").path
    path.parent.mkdir(parents=True)
    torch.save(vggish.network.state_dict(), path)
    loaded = VGGishBackbone()
    assert loaded.weights_sha256 == weights.sha256_file(path)
    audio = tone_bursts(2.0, 16_000)
    assert torch.equal(loaded.embed(audio).embeddings, vggish.embed(audio).embeddings)


def test_panns_loads_registry_checkpoint(panns: PannsBackbone, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    path = weights.get_spec("panns-cnn14-16k").path
    path.parent.mkdir(parents=True)
    torch.save({"iteration": 1, "model": panns.network.state_dict(), "sampler": {"indexes": np.arange(3)}}, path)
    loaded = PannsBackbone()
    assert loaded.weights_sha256 == weights.sha256_file(path)
    audio = tone_bursts(1.0, 16_000)
    ours, reference = loaded.embed(audio), panns.embed(audio)
    assert torch.equal(ours.embeddings, reference.embeddings) and torch.equal(ours.logits, reference.logits)


def test_passt_loads_registry_checkpoint(passt_full_state: dict[str, torch.Tensor], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    path = weights.get_spec("passt-s-swa-ap476").path
    path.parent.mkdir(parents=True)
    saved = passt_full_state
    torch.save(saved, path)
    loaded = PasstBackbone()
    assert loaded.weights_sha256 == weights.sha256_file(path)
    state = loaded.network.state_dict()
    assert state.keys() == saved.keys() and all(torch.equal(state[k], saved[k]) for k in saved)
    with pytest.raises(ValueError, match="only for random_init"):
        PasstBackbone(blocks=1)


# --- Resemblyzer (real weights) -------------------------------------------------------------------
@pytest.fixture(scope="module")
def resemblyzer() -> ResemblyzerBackbone:
    return ResemblyzerBackbone()


def test_resemblyzer_real(resemblyzer: ResemblyzerBackbone) -> None:
    assert resemblyzer.weights_sha256 == weights.sha256_file(shipped_weights_path())
    rate = 16_000
    t = torch.arange(3 * rate) / rate
    tone = 0.3 * torch.sin(2 * torch.pi * 440.0 * t)
    noise = 0.3 * torch.from_numpy(np.random.default_rng(0).standard_normal(3 * rate).astype(np.float32))
    a, b, c = (resemblyzer.embed(x).embeddings for x in (tone, noise, tone))
    assert a.shape == (1, 256) and a.dtype == torch.float32
    assert torch.equal(a, c)
    assert abs(float(a.norm()) - 1.0) < 1e-5
    same, different = float(a @ c.T), float(a @ b.T)
    assert same > 0.999 and different < 0.8, (same, different)


def test_resemblyzer_random_init_deterministic() -> None:
    audio = tone_bursts(2.0, 16_000)
    first = ResemblyzerBackbone(random_init=True, seed=0)
    out = first.embed(audio).embeddings
    assert out.shape == (1, 256) and first.weights_sha256 is None
    assert torch.equal(out, ResemblyzerBackbone(random_init=True, seed=0).embed(audio).embeddings)
