"""Released codecs behind the DiscreteCodec interface: EnCodec 24 kHz, DAC 16/24/44 kHz, AudioGen's EnCodec.

No real weights exist on this machine. Each test builds a codec with seeded random weights, writes
them in the release's own file format, puts the file where the weights registry looks, and loads it
back through :func:`load_pretrained_codec`: that proves the loading path, the shapes and the round
trip. The key names and shapes are compared with ``tests/fixtures/state_keys_<name>.json``, taken
from each release's reference implementation (see the fixture's ``derivation``), so a network that
would not accept the real file fails here, before anyone downloads it.
"""

from __future__ import annotations

import functools
import json
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from v2abench import weights
from v2abench.codecs.base import DiscreteCodec
from v2abench.codecs.pretrained import (
    AUDIOGEN_ENCODEC_16K,
    AudioGenEncodec16k,
    DacCodec,
    EncodecCodec,
    PretrainedCodec,
    audiogen_config,
    load_pretrained_codec,
    load_strict,
)

FIXTURES = Path(__file__).parent / "fixtures"

# audiocraft's xp.cfg layout (OmegaConf.to_yaml of the Hydra config: references left unresolved)
XP_CFG = """\
device: cuda
dtype: float32
sample_rate: 16000
channels: 1
compression_model: encodec
encodec:
  autoencoder: seanet
  quantizer: rvq
  sample_rate: ${sample_rate}
  channels: ${channels}
  causal: false
  renormalize: false
seanet:
  dimension: 128
  channels: ${channels}
  causal: ${encodec.causal}
  n_filters: 64
  n_residual_layers: 1
  ratios: [8, 5, 4, 2]
  activation: ELU
  activation_params: {alpha: 1.0}
  norm: weight_norm
  norm_params: {}
  kernel_size: 7
  residual_kernel_size: 3
  last_kernel_size: 7
  dilation_base: 2
  pad_mode: constant
  true_skip: true
  compress: 2
  lstm: 2
  disable_norm_outer_blocks: 0
  decoder: {trim_right_ratio: 1.0, final_activation: null, final_activation_params: null}
  encoder: {}
rvq:
  n_q: 4
  q_dropout: false
  bins: 2048
  decay: 0.99
  kmeans_init: true
  kmeans_iters: 50
  threshold_ema_dead_code: 2
  orthogonal_reg_weight: 0.0
  orthogonal_reg_active_codes_only: false
"""


def _write_encodec(codec: PretrainedCodec, path: Path) -> None:
    torch.save(codec.network.state_dict(), path)  # the .th release is a plain state dict


def _write_dac(codec: PretrainedCodec, path: Path) -> None:
    codec.network.save(str(path), package=False)  # audiotools' format: {"state_dict", "metadata": {"kwargs"}}


def _write_audiogen(codec: PretrainedCodec, path: Path) -> None:
    # audiocraft.utils.export.export_encodec's layout
    torch.save({"best_state": codec.network.state_dict(), "xp.cfg": XP_CFG, "version": "1.0.0", "exported": True}, path)


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], PretrainedCodec]
    write: Callable[[PretrainedCodec, Path], None]
    sample_rate: int
    hop: int
    num_codebooks: int
    codebook_size: int
    seconds: float = 0.5  # length of the test clip
    reference_outputs: bool = False  # also compare outputs with a copy built without the meta device


CASES = [
    Case("encodec-24khz", EncodecCodec, _write_encodec, 24000, 320, 8, 1024),
    # DAC: ~70M weights and a 1536-channel decoder; 0.1 s clips keep this file well under a minute on 2 busy cores
    Case("dac-16khz", lambda: DacCodec("16khz"), _write_dac, 16000, 320, 12, 1024, seconds=0.1),
    Case("dac-24khz", lambda: DacCodec("24khz"), _write_dac, 24000, 320, 32, 1024, seconds=0.1),
    Case("dac-44khz", lambda: DacCodec("44khz"), _write_dac, 44100, 512, 9, 1024, seconds=0.1),
    Case("audiogen-encodec-16khz", AudioGenEncodec16k, _write_audiogen, 16000, 320, 4, 2048, reference_outputs=True),
]


def _fixture_keys(name: str) -> dict[str, list[int]]:
    return json.loads((FIXTURES / f"state_keys_{name}.json").read_text())["keys"]


def _keys(module: torch.nn.Module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in module.state_dict().items()}


def _random_state(network: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """Seeded random weights for every entry of ``network``'s state dict, as after some training:
    unit-gain weight-normed convs, Snake alpha 1, filled (and marked initialised) EnCodec codebooks.
    Much cheaper than the packages' own init (truncated normals over ~70M DAC weights)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for name, t in network.state_dict().items():
        if name.endswith((".weight_g", ".alpha", "_codebook.inited", "_codebook.cluster_size")):
            state[name] = torch.ones(t.shape)
        elif name.endswith(("_codebook.embed", "_codebook.embed_avg")):
            state[name] = torch.randn(t.shape, generator=g)
        elif t.is_floating_point():
            state[name] = 0.1 * torch.randn(t.shape, generator=g)
        else:
            state[name] = torch.zeros(t.shape, dtype=t.dtype)
    return state


@functools.lru_cache(maxsize=1)
def _random_dac16() -> PretrainedCodec:
    return _random_codec(CASES[1])


def _random_codec(case: Case, meta: bool = True) -> PretrainedCodec:
    """``case``'s codec with :func:`_random_state` weights; ``meta=False`` builds it the ordinary way
    (slow for DAC) and copies them in, as a reference for the loader's meta-device path."""
    if meta:
        with torch.device("meta"):
            codec = case.build()
        load_strict(codec.network, _random_state(codec.network), case.name)
    else:
        codec = case.build()
        codec.network.load_state_dict(_random_state(codec.network))
    return codec.eval()


def _install(name: str, file: Path) -> Path:
    """Put ``file`` where ``weights.require(name)`` finds it.

    Unpinned entries go through ``weights.import_file``, the path a user takes. ``encodec-24khz`` is
    pinned to the publisher's hash prefix d7cc33bc, which a file of random weights cannot match, so
    ``import_file`` would rightly refuse it; that file is copied straight to ``WeightsSpec.path``.
    """
    spec = weights.get_spec(name)
    if spec.pinned:
        spec.path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, spec.path)
        return spec.path
    return weights.import_file(name, file)


def _recorded_sha256(name: str, path: Path) -> str:
    """The sha256 ``import_file`` recorded in ``weights.lock.json`` (computed here for a pinned entry)."""
    if weights.get_spec(name).pinned:
        return weights.sha256_file(path)
    return json.loads((path.parent.parent / "weights.lock.json").read_text())[name]


def _clip(rate: int, seconds: float) -> torch.Tensor:
    n = int(rate * seconds)
    t = torch.arange(n) / rate
    g = torch.Generator().manual_seed(0)
    return (0.3 * torch.sin(2 * math.pi * 440.0 * t) + 0.05 * torch.randn(n, generator=g)).reshape(1, 1, n)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_release_file_loads_and_round_trips(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path / "home"))
    original = _random_dac16() if case.name == "dac-16khz" else _random_codec(case, meta=not case.reference_outputs)
    # our network has the reference implementation's key names and shapes
    assert _keys(original.network) == _fixture_keys(case.name)

    file = tmp_path / weights.get_spec(case.name).filename
    case.write(original, file)
    installed = _install(case.name, file)
    try:
        codec = load_pretrained_codec(case.name)
        recorded = _recorded_sha256(case.name, installed)
    finally:  # up to 300 MB each: do not leave them in pytest's kept temporary folders
        file.unlink()
        installed.unlink()
    assert isinstance(codec, DiscreteCodec) and not codec.training
    assert codec.weights_sha256 == recorded
    loaded = codec.network.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in original.network.state_dict().items())  # the file's weights
    assert (codec.sample_rate, codec.hop_length, codec.num_codebooks, codec.codebook_size) == (
        case.sample_rate, case.hop, case.num_codebooks, case.codebook_size)
    assert codec.frame_rate == pytest.approx(case.sample_rate / case.hop)

    wav = _clip(codec.sample_rate, case.seconds)
    n = wav.shape[-1]
    frames = math.ceil(n / case.hop)
    tokens = codec.encode(wav)
    assert tokens.shape == (1, case.num_codebooks, frames) and tokens.dtype == torch.long
    assert int(tokens.min()) >= 0 and int(tokens.max()) < case.codebook_size
    assert len(tokens.unique()) > 1
    audio = codec.decode(tokens, length=n)
    assert audio.shape == (1, 1, n) and torch.isfinite(audio).all()
    assert codec.pad_to_frames(wav).shape[-1] == frames * case.hop
    if case.reference_outputs:  # SEANet, LSTM and RVQ built on the meta device compute what ordinary ones do
        assert torch.equal(tokens, original.encode(wav))
        assert torch.allclose(audio, original.decode(tokens, length=n), atol=1e-5)


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_missing_file_names_the_fetch_command(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    with pytest.raises(weights.MissingWeightsError, match=f"v2abench weights fetch {name}"):
        load_pretrained_codec(name)


def test_unknown_codec_name_suggests() -> None:
    with pytest.raises(KeyError, match="Did you mean: dac-16khz"):
        load_pretrained_codec("dac-16k")


def test_encodec_bandwidth_sets_codebooks_and_never_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    codec = EncodecCodec(bandwidth=1.5)
    assert (codec.num_codebooks, codec.frame_rate, codec.sample_rate) == (2, 75.0, 24000)
    assert codec.encode(torch.zeros(1, 1, 640)).shape == (1, 2, 2)
    with pytest.raises(ValueError, match="bandwidth"):
        EncodecCodec(bandwidth=5.0)


def test_dac_codebook_prefix() -> None:
    codec = _random_dac16()
    wav = _clip(16000, 0.1)
    full = codec.encode(wav)
    try:
        codec.num_codebooks = 4  # what DacCodec("16khz", num_codebooks=4) sets
        part = codec.encode(wav)
        assert torch.equal(part, full[:, :4])  # residual VQ: the first codebooks do not depend on the later ones
        assert codec.decode(part).shape == (1, 1, 1600)
    finally:
        _random_dac16.cache_clear()  # 300 MB of weights: not kept for the rest of the session
    with pytest.raises(ValueError, match="out of range"):
        DacCodec("16khz", num_codebooks=13)


def test_audiogen_config_reads_xp_cfg() -> None:
    assert audiogen_config(XP_CFG) == AUDIOGEN_ENCODEC_16K  # references resolved, extra sections dropped
    assert audiogen_config(None) == AUDIOGEN_ENCODEC_16K
    eight = audiogen_config(XP_CFG.replace("n_q: 4", "n_q: 8"))
    assert AudioGenEncodec16k(eight).num_codebooks == 8
    with pytest.raises(ValueError, match="disable_norm_outer_blocks"):
        AudioGenEncodec16k(audiogen_config(XP_CFG.replace("disable_norm_outer_blocks: 0", "disable_norm_outer_blocks: 1")))
    with pytest.raises(ValueError, match="cannot resolve"):
        audiogen_config(XP_CFG.replace("${channels}", "${nowhere.channels}"))


def test_wrong_file_is_refused_with_the_mismatch(tmp_path: Path) -> None:
    with torch.device("meta"):
        network = AudioGenEncodec16k().network
    state = _random_state(network)
    state.pop("quantizer.vq.layers.3._codebook.embed")
    state["encoder.model.0.conv.conv.bias"] = torch.zeros(32)
    path = tmp_path / "compression_state_dict.bin"
    torch.save({"best_state": state, "xp.cfg": XP_CFG}, path)
    with pytest.raises(ValueError, match="1 missing .*1 of another shape"):
        AudioGenEncodec16k.from_file(path)
    torch.save(state, path)  # a bare state dict is not audiocraft's format
    with pytest.raises(ValueError, match="best_state"):
        AudioGenEncodec16k.from_file(path)
