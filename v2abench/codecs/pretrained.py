"""Released neural codecs behind the :class:`~v2abench.codecs.base.DiscreteCodec` interface.

Each one is built from its own package's modules on the meta device (no random initialisation),
then given the tensors of the file the weights registry holds, every key and shape checked
(:func:`load_strict`; :func:`v2abench.weights.require` finds the file, nothing here downloads).
Files are read with ``torch.load(weights_only=True)``; ``weights_sha256`` is the file's sha256::

    name                     class               rate     hop   frames/s  K x V        file (registry entry)
    encodec-24khz            EncodecCodec        24000    320   75        2..32 x 1024 state dict (.th)
    dac-16khz                DacCodec("16khz")   16000    320   50        12 x 1024    {"state_dict", "metadata": {"kwargs"}}
    dac-24khz                DacCodec("24khz")   24000    320   75        32 x 1024    (same)
    dac-44khz                DacCodec("44khz")   44100    512   86.13     9 x 1024     (same)
    audiogen-encodec-16khz   AudioGenEncodec16k  16000    320   50        4 x 2048     {"best_state", "xp.cfg", ...}

- EnCodec 24 kHz: ``encodec.EncodecModel.encodec_model_24khz(pretrained=False)`` (that flag only
  skips the download; the architecture is the release's). ``bandwidth`` in kbps picks K: 1.5, 3, 6,
  12, 24 -> 2, 4, 8, 16, 32 codebooks (default 6 kbps, 8 codebooks, the encodec CLI's default).
- DAC: ``dac.DAC(**kwargs)`` with the model section of descript-audio-codec's ``conf/final/<variant>.yml``,
  overridden by the file's ``metadata["kwargs"]`` where present (what ``DAC.load`` does, minus its
  download). DAC was trained with quantizer dropout, so ``num_codebooks`` may keep a prefix of the K.
- AudioGen's 16 kHz EnCodec (FoleyGen, VATT): audiocraft's release is a dict with ``best_state`` (the
  model's state dict) and ``xp.cfg`` (its Hydra config as YAML). audiocraft itself is not a dependency:
  the model is rebuilt with the ``encodec`` package's ``SEANetEncoder``/``SEANetDecoder`` and
  ``ResidualVectorQuantizer``, which audiocraft's modules descend from and whose state-dict keys
  (``encoder.model.*``, ``decoder.model.*``, ``quantizer.vq.layers.*._codebook.*``) are the same, so
  ``best_state`` loads with no renaming. The architecture comes from the file's ``xp.cfg`` sections
  ``seanet``/``rvq``/``encodec`` (``${...}`` references resolved), and without one from
  :data:`AUDIOGEN_ENCODEC_16K`: audiocraft's ``config/model/encodec/default.yaml`` +
  ``encodec_large_nq4_s320.yaml`` at 16 kHz mono (non-causal, 64 filters, ratios 8-5-4-2, LSTM 2,
  true skip, constant padding, 4 x 2048 RVQ).

``tests/fixtures/state_keys_<name>.json`` holds each release's key names and shapes taken from its
reference implementation; the tests compare our networks against them.
"""

from __future__ import annotations

import copy
import difflib
import inspect
import logging
import math
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from v2abench.codecs.base import DiscreteCodec, fit_length

log = logging.getLogger(__name__)

ENCODEC_24K_BANDWIDTHS = (1.5, 3.0, 6.0, 12.0, 24.0)

# descript-audio-codec conf/final/{16khz,24khz,44khz}.yml, model section (commit c7cfc5d).
DAC_CONFIGS: dict[str, dict[str, Any]] = {
    "16khz": {"sample_rate": 16000, "encoder_dim": 64, "encoder_rates": [2, 4, 5, 8], "decoder_dim": 1536, "decoder_rates": [8, 5, 4, 2], "n_codebooks": 12, "codebook_size": 1024, "codebook_dim": 8},
    "24khz": {"sample_rate": 24000, "encoder_dim": 64, "encoder_rates": [2, 4, 5, 8], "decoder_dim": 1536, "decoder_rates": [8, 5, 4, 2], "n_codebooks": 32, "codebook_size": 1024, "codebook_dim": 8},
    "44khz": {"sample_rate": 44100, "encoder_dim": 64, "encoder_rates": [2, 4, 8, 8], "decoder_dim": 1536, "decoder_rates": [8, 8, 4, 2], "n_codebooks": 9, "codebook_size": 1024, "codebook_dim": 8},
}
_DAC_STRUCTURE = ("sample_rate", "encoder_dim", "encoder_rates", "latent_dim", "decoder_dim", "decoder_rates", "n_codebooks", "codebook_size", "codebook_dim")

# audiocraft config/model/encodec/default.yaml + encodec_large_nq4_s320.yaml, with channels=1 and
# sample_rate=16000 (config/solver/compression/encodec_audiogen_16khz.yaml), interpolations resolved.
AUDIOGEN_ENCODEC_16K: dict[str, Any] = {
    "sample_rate": 16000,
    "channels": 1,
    "encodec": {"autoencoder": "seanet", "quantizer": "rvq", "sample_rate": 16000, "channels": 1, "causal": False, "renormalize": False},
    "seanet": {
        "dimension": 128, "channels": 1, "causal": False, "n_filters": 64, "n_residual_layers": 1, "ratios": [8, 5, 4, 2],
        "activation": "ELU", "activation_params": {"alpha": 1.0}, "norm": "weight_norm", "norm_params": {}, "kernel_size": 7,
        "residual_kernel_size": 3, "last_kernel_size": 7, "dilation_base": 2, "pad_mode": "constant", "true_skip": True,
        "compress": 2, "lstm": 2, "disable_norm_outer_blocks": 0,
        "decoder": {"trim_right_ratio": 1.0, "final_activation": None, "final_activation_params": None}, "encoder": {},
    },
    "rvq": {"n_q": 4, "q_dropout": False, "bins": 2048, "decay": 0.99, "kmeans_init": True, "kmeans_iters": 50, "threshold_ema_dead_code": 2,
            "orthogonal_reg_weight": 0.0, "orthogonal_reg_active_codes_only": False},
}
# audiocraft options the encodec package's modules lack; they change nothing at these values (or at inference)
_AUDIOCRAFT_ONLY = {"disable_norm_outer_blocks": 0}
_RVQ_TRAINING_ONLY = ("q_dropout", "orthogonal_reg_weight", "orthogonal_reg_active_codes_only", "orthogonal_reg_max_codes")


def read_checkpoint(path: Path | str) -> Any:
    """``torch.load(path, weights_only=True)`` on CPU, with an error that names the file."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError) as err:
        raise ValueError(f"{path} is not a checkpoint torch.load(weights_only=True) can read: {err}") from err


def load_strict(network: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """Load ``state`` into ``network`` (built on the meta device or not), every key and shape matching.

    The tensors are assigned, not copied, so a network built under ``torch.device("meta")`` costs
    no random initialisation; a mismatch raises ``ValueError`` with a short account of it.
    """
    ours, theirs = network.state_dict(), state
    missing = sorted(set(ours) - set(theirs))
    unexpected = sorted(set(theirs) - set(ours))
    shapes = sorted(k for k in set(ours) & set(theirs) if tuple(ours[k].shape) != tuple(theirs[k].shape))
    if missing or unexpected or shapes:
        parts = [f"{len(missing)} missing (e.g. {missing[:3]})" if missing else "",
                 f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})" if unexpected else "",
                 f"{len(shapes)} of another shape (e.g. {shapes[:3]})" if shapes else ""]
        raise ValueError(f"{what}: the state dict does not fit the network: " + "; ".join(p for p in parts if p))
    network.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in theirs.items()}, strict=True, assign=True)
    left = [n for n, t in (*network.named_parameters(), *network.named_buffers()) if t.is_meta]
    if left:
        raise ValueError(f"{what}: {len(left)} tensors were not in the state dict (e.g. {left[:3]})")


class PretrainedCodec(DiscreteCodec):
    """A released codec: ``network`` is the module whose state dict the release file holds."""

    name: str
    weights_name: str
    network: nn.Module
    weights_sha256: str | None = None  # of the loaded file; None for random weights

    def _loaded_from(self, path: Path | str) -> None:
        from v2abench.weights import sha256_file

        self.weights_sha256 = sha256_file(Path(path))
        self.eval()
        log.info("loaded %s from %s (sha256 %s)", self.name, path, self.weights_sha256[:12])


# ------------------------------------------------------------------------------------------- EnCodec


class EncodecCodec(PretrainedCodec):
    """EnCodec 24 kHz (causal, 75 Hz), K = 8 codebooks of 1024 at the default 6 kbps."""

    name = "encodec-24khz"
    weights_name = "encodec-24khz"

    def __init__(self, bandwidth: float = 6.0) -> None:
        super().__init__()
        from encodec import EncodecModel

        if bandwidth not in ENCODEC_24K_BANDWIDTHS:
            raise ValueError(f"EnCodec 24 kHz bandwidth must be one of {ENCODEC_24K_BANDWIDTHS} kbps, got {bandwidth}")
        self.network = EncodecModel.encodec_model_24khz(pretrained=False)  # pretrained=False: no download
        self.network.set_target_bandwidth(bandwidth)
        self.bandwidth = float(bandwidth)
        self.sample_rate = int(self.network.sample_rate)
        self.frame_rate = float(self.network.frame_rate)
        self.codebook_size = int(self.network.quantizer.bins)
        self.num_codebooks = int(self.network.quantizer.get_num_quantizers_for_bandwidth(self.network.frame_rate, bandwidth))
        self.eval()

    @classmethod
    def from_file(cls, path: Path | str, bandwidth: float = 6.0) -> EncodecCodec:
        state = read_checkpoint(path)
        with torch.device("meta"):
            codec = cls(bandwidth)
        load_strict(codec.network, state, f"EnCodec 24 kHz ({path})")
        codec._loaded_from(path)
        return codec

    @classmethod
    def pretrained(cls, bandwidth: float = 6.0) -> EncodecCodec:
        from v2abench.weights import require

        return cls.from_file(require(cls.weights_name), bandwidth)

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        emb = self.network.encoder(wav)
        return self.network.quantizer.encode(emb, self.network.frame_rate, self.bandwidth).transpose(0, 1)

    def _decode(self, tokens: torch.Tensor) -> torch.Tensor:
        wav = self.network.decoder(self.network.quantizer.decode(tokens.transpose(0, 1)))
        return fit_length(wav, tokens.shape[-1] * self.hop_length)


# ----------------------------------------------------------------------------------------------- DAC


class DacCodec(PretrainedCodec):
    """Descript Audio Codec at 16, 24 or 44.1 kHz; ``num_codebooks`` keeps the first K' of its K.

    The 16 and 24 kHz decoders (a stride-5 transposed convolution) return ``T * hop - 8`` samples;
    ``decode`` pads the last 8 with zeros, as the interface returns ``T * hop``.
    """

    def __init__(self, variant: str = "44khz", num_codebooks: int | None = None, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        import dac

        if variant not in DAC_CONFIGS:
            raise ValueError(f"unknown DAC variant {variant!r}; one of {sorted(DAC_CONFIGS)}")
        kwargs = {**DAC_CONFIGS[variant], **(config or {})}
        if kwargs["sample_rate"] != DAC_CONFIGS[variant]["sample_rate"]:
            raise ValueError(f"DAC {variant} config has sample rate {kwargs['sample_rate']}, expected {DAC_CONFIGS[variant]['sample_rate']}")
        total = int(kwargs["n_codebooks"])
        if num_codebooks is not None and not 1 <= num_codebooks <= total:
            raise ValueError(f"DAC {variant} has {total} codebooks; num_codebooks={num_codebooks} is out of range")
        self.variant, self.config = variant, kwargs
        self.name = self.weights_name = f"dac-{variant}"
        self.network = dac.DAC(**kwargs)
        self.sample_rate = int(kwargs["sample_rate"])
        self.frame_rate = self.sample_rate / math.prod(kwargs["encoder_rates"])
        self.codebook_size = int(kwargs["codebook_size"])
        self.num_codebooks = total if num_codebooks is None else int(num_codebooks)
        self.eval()

    @classmethod
    def from_file(cls, path: Path | str, variant: str, num_codebooks: int | None = None) -> DacCodec:
        package = read_checkpoint(path)
        if not isinstance(package, dict) or "state_dict" not in package:
            raise ValueError(f"{path} is not a DAC weights file (a dict with 'state_dict' and 'metadata')")
        saved = (package.get("metadata") or {}).get("kwargs") or {}
        config = {k: saved[k] for k in _DAC_STRUCTURE if saved.get(k) is not None}
        with torch.device("meta"):
            codec = cls(variant, num_codebooks, config)
        load_strict(codec.network, package["state_dict"], f"DAC {variant} ({path})")
        codec._loaded_from(path)
        return codec

    @classmethod
    def pretrained(cls, variant: str = "44khz", num_codebooks: int | None = None) -> DacCodec:
        from v2abench.weights import require

        return cls.from_file(require(f"dac-{variant}"), variant, num_codebooks)

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        z = self.network.encoder(wav)
        _, codes, *_ = self.network.quantizer(z, self.num_codebooks)  # eval mode: stops after K' codebooks
        return codes[:, : self.num_codebooks]

    def _decode(self, tokens: torch.Tensor) -> torch.Tensor:
        z = self.network.quantizer.from_codes(tokens)[0]
        return fit_length(self.network.decoder(z), tokens.shape[-1] * self.hop_length)


# ------------------------------------------------------------------------------ AudioGen's EnCodec


_REFERENCE = re.compile(r"^\$\{([A-Za-z0-9_.]+)\}$")


def _resolve(node: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """Replace OmegaConf ``${a.b}`` references (whole-value ones, the only kind these sections use)."""
    if depth > 16:
        raise ValueError("xp.cfg: reference cycle")
    if isinstance(node, dict):
        return {k: _resolve(v, root, depth) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, root, depth) for v in node]
    if isinstance(node, str) and (match := _REFERENCE.match(node)):
        value: Any = root
        for part in match.group(1).split("."):
            if not isinstance(value, dict) or part not in value:
                raise ValueError(f"xp.cfg: cannot resolve {node}")
            value = value[part]
        return _resolve(value, root, depth + 1)
    return node


def audiogen_config(xp_cfg: str | dict[str, Any] | None) -> dict[str, Any]:
    """The architecture sections of an audiocraft compression ``xp.cfg`` (YAML text or a dict).

    Keeps ``sample_rate``, ``channels``, ``encodec``, ``seanet`` and ``rvq`` with references resolved;
    sections the file lacks come from :data:`AUDIOGEN_ENCODEC_16K`.
    """
    import yaml

    if xp_cfg is None:
        return copy.deepcopy(AUDIOGEN_ENCODEC_16K)
    root = yaml.safe_load(xp_cfg) if isinstance(xp_cfg, str) else xp_cfg
    if not isinstance(root, dict):
        raise TypeError("xp.cfg is not a mapping")
    if root.get("compression_model", "encodec") != "encodec":
        raise ValueError(f"xp.cfg describes a {root['compression_model']!r} model, not EnCodec")
    keys = ("sample_rate", "channels", "encodec", "seanet", "rvq")
    return {k: _resolve(root[k], root) if k in root else copy.deepcopy(AUDIOGEN_ENCODEC_16K[k]) for k in keys}


def _accepted(factory: Callable[..., Any], options: dict[str, Any], what: str, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """``options`` the encodec ``factory`` takes; audiocraft-only ones must hold their neutral value."""
    params = inspect.signature(factory).parameters
    kept = {}
    for key, value in options.items():
        if key in params:
            kept[key] = value
        elif (key in _AUDIOCRAFT_ONLY and value == _AUDIOCRAFT_ONLY[key]) or key in ignore:
            continue
        else:
            raise ValueError(f"{what}: option {key}={value!r} has no equivalent in the encodec package")
    return kept


def build_audiocraft_encodec(config: dict[str, Any]) -> tuple[nn.Module, nn.Module, nn.Module]:
    """(encoder, decoder, quantizer) of an audiocraft EnCodec config, from ``encodec`` modules."""
    from encodec.modules import SEANetDecoder, SEANetEncoder
    from encodec.quantization import ResidualVectorQuantizer

    if config["encodec"].get("autoencoder", "seanet") != "seanet" or config["encodec"].get("quantizer", "rvq") != "rvq":
        raise ValueError("only SEANet autoencoders with a residual VQ are supported")
    if config["encodec"].get("renormalize", False):
        raise ValueError("renormalised EnCodec models are not supported")
    seanet = dict(config["seanet"])
    enc_only, dec_only = seanet.pop("encoder", None) or {}, seanet.pop("decoder", None) or {}
    encoder = SEANetEncoder(**_accepted(SEANetEncoder, {**seanet, **enc_only}, "seanet encoder"))
    decoder = SEANetDecoder(**_accepted(SEANetDecoder, {**seanet, **dec_only}, "seanet decoder"))
    rvq = _accepted(ResidualVectorQuantizer, dict(config["rvq"]), "rvq", ignore=_RVQ_TRAINING_ONLY)
    quantizer = ResidualVectorQuantizer(dimension=encoder.dimension, **rvq)
    return encoder, decoder, quantizer


class AudioGenEncodec16k(PretrainedCodec):
    """AudioGen's 16 kHz EnCodec (FoleyGen, VATT): 4 codebooks of 2048 at 50 Hz, strides 2-4-5-8."""

    name = "audiogen-encodec-16khz"
    weights_name = "audiogen-encodec-16khz"

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.config = copy.deepcopy(config or AUDIOGEN_ENCODEC_16K)
        encoder, decoder, quantizer = build_audiocraft_encodec(self.config)
        # keys encoder.* / decoder.* / quantizer.*: those of audiocraft's EncodecModel and its best_state
        self.network = nn.ModuleDict({"encoder": encoder, "decoder": decoder, "quantizer": quantizer})
        self.sample_rate = int(self.config["encodec"].get("sample_rate", self.config["sample_rate"]))
        self.frame_rate = self.sample_rate / int(encoder.hop_length)
        self.num_codebooks = int(quantizer.n_q)
        self.codebook_size = int(quantizer.bins)
        self.eval()

    @classmethod
    def from_file(cls, path: Path | str) -> AudioGenEncodec16k:
        package = read_checkpoint(path)
        if not isinstance(package, dict) or "best_state" not in package:
            raise ValueError(f"{path} is not an audiocraft compression checkpoint (a dict with 'best_state' and 'xp.cfg')")
        config = audiogen_config(package.get("xp.cfg"))
        if config["sample_rate"] != AUDIOGEN_ENCODEC_16K["sample_rate"] or config["rvq"].get("n_q") != 4:
            log.warning("%s: xp.cfg describes %s Hz, %s codebooks; building that", path, config["sample_rate"], config["rvq"].get("n_q"))
        with torch.device("meta"):
            codec = cls(config)
        load_strict(codec.network, package["best_state"], f"AudioGen EnCodec ({path})")
        codec._loaded_from(path)
        return codec

    @classmethod
    def pretrained(cls) -> AudioGenEncodec16k:
        from v2abench.weights import require

        return cls.from_file(require(cls.weights_name))

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        emb = self.network["encoder"](wav)
        return self.network["quantizer"].encode(emb, self.frame_rate).transpose(0, 1)

    def _decode(self, tokens: torch.Tensor) -> torch.Tensor:
        wav = self.network["decoder"](self.network["quantizer"].decode(tokens.transpose(0, 1)))
        return fit_length(wav, tokens.shape[-1] * self.hop_length)


# ------------------------------------------------------------------------------------------ factory


def encodec_24khz(bandwidth: float = 6.0) -> EncodecCodec:
    return EncodecCodec.pretrained(bandwidth)


def dac_16khz(num_codebooks: int | None = None) -> DacCodec:
    return DacCodec.pretrained("16khz", num_codebooks)


def dac_24khz(num_codebooks: int | None = None) -> DacCodec:
    return DacCodec.pretrained("24khz", num_codebooks)


def dac_44khz(num_codebooks: int | None = None) -> DacCodec:
    return DacCodec.pretrained("44khz", num_codebooks)


def audiogen_encodec_16khz() -> AudioGenEncodec16k:
    return AudioGenEncodec16k.pretrained()


PRETRAINED_CODECS: dict[str, Callable[..., PretrainedCodec]] = {
    "encodec-24khz": encodec_24khz,
    "dac-16khz": dac_16khz,
    "dac-24khz": dac_24khz,
    "dac-44khz": dac_44khz,
    "audiogen-encodec-16khz": audiogen_encodec_16khz,
}


def load_pretrained_codec(name: str, **options: Any) -> PretrainedCodec:
    """The released codec ``name`` with its weights from the registry (options: ``bandwidth`` for
    EnCodec, ``num_codebooks`` for DAC). A missing file raises
    :class:`~v2abench.weights.MissingWeightsError` naming ``v2abench weights fetch NAME``."""
    if name not in PRETRAINED_CODECS:
        close = difflib.get_close_matches(name, list(PRETRAINED_CODECS), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown pretrained codec {name!r}.{hint} Known: {', '.join(PRETRAINED_CODECS)}")
    return PRETRAINED_CODECS[name](**options)
