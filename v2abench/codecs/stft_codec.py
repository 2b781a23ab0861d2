"""The suite's STFT-domain codec family: ``synth-rvq`` (discrete) and ``synth-latent`` (continuous).

Chosen for quality per CPU-minute (issue 3: an STFT encoder with an iSTFT head trains about 3x
faster than a strided-convolution SEANet at equal quality). One frame of the codec is one STFT
frame, so there is no learned up- or down-sampling at all::

    wav [B,1,N] ──STFT (hop = frame hop, n_fft = 4 hop, "same" padding)──> X [B,F,T]
      │  features: log|X|  (+ |X|^0.3 cos∠X, |X|^0.3 sin∠X  when phase_features)
      ▼
    Conv1d(k=1) ─> LayerNorm ─> ConvNeXt x enc_depth ─> LayerNorm ─> Conv1d(k=1) ─> z [B,D,T]
      │
      │  synth-rvq:    encodec ResidualVectorQuantizer (K codebooks x V entries, EMA, k-means init)
      │  synth-latent: D = 2C (mean, log-variance); the mean is the latent, training samples it
      ▼
    Conv1d(k=3) ─> LayerNorm ─> ConvNeXt x dec_depth ─> LayerNorm ─> Linear -> (log|S|, φ) [B,F,T]
      │                                                                 (Vocos-style head)
      ▼
    S = exp(log|S|) · e^{iφ} ──iSTFT, "same" padding──> wav [B,1,T·hop]

"Same" padding: the signal is zero-padded by ``(n_fft - hop) / 2`` on both sides, so frame ``t``
is centred on sample ``t·hop + hop/2`` and ``T = N / hop`` frames cover ``N`` samples exactly;
the overlap-add inverse trims the same amount and returns ``T·hop`` samples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from encodec.quantization import ResidualVectorQuantizer
from torch import nn

from v2abench.codecs.base import ContinuousCodec, DiscreteCodec

_LOG_EPS = 1e-5
_MAX_LOG_MAG = 4.6  # exp(4.6) ~ 100: the largest magnitude the head may predict (as in Vocos)
_INIT_LOG_MAG = -6.0  # the head's initial log-magnitude bias: about SynthFoley's mean (a quiet start trains faster)


@dataclass
class STFTCodecConfig:
    """Sizes of an STFT codec. ``latent_dim`` is the quantiser dimension (synth-rvq) and
    ``channels`` the latent channels (synth-latent); the other kind ignores it."""

    sample_rate: int = 16_000
    hop: int = 320  # samples per frame: 50 Hz at 16 kHz
    n_fft: int = 1280
    dim: int = 128
    hidden: int = 384
    enc_depth: int = 3
    dec_depth: int = 3
    kernel: int = 7
    phase_features: bool = True
    latent_dim: int = 64
    num_codebooks: int = 4
    codebook_size: int = 1024
    channels: int = 8
    kmeans_init: bool = True
    kmeans_iters: int = 20
    ema_decay: float = 0.99

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> STFTCodecConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown codec model options: {', '.join(unknown)}")
        cfg = cls(**data)
        if cfg.sample_rate % cfg.hop:
            raise ValueError(f"hop {cfg.hop} must divide the sample rate {cfg.sample_rate}")
        if (cfg.n_fft - cfg.hop) % 2:
            raise ValueError("n_fft - hop must be even for 'same' padding")
        return cfg

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def frame_rate(self) -> float:
        return self.sample_rate / self.hop

    @property
    def freq_bins(self) -> int:
        return self.n_fft // 2 + 1


class SameSTFT(nn.Module):
    """STFT and its overlap-add inverse with "same" padding: ``N = T·hop`` samples <-> ``T`` frames."""

    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        self.n_fft, self.hop, self.pad = n_fft, hop, (n_fft - hop) // 2
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav`` [B, N] (N a multiple of hop) -> complex spectrum [B, n_fft/2+1, N/hop]."""
        x = F.pad(wav, (self.pad, self.pad))
        return torch.stft(x, self.n_fft, self.hop, window=self.window, center=False, return_complex=True)

    def inverse(self, spec: torch.Tensor) -> torch.Tensor:
        """Complex spectrum [B, F, T] -> ``wav`` [B, T·hop] (windowed overlap-add, envelope-normalised)."""
        frames = spec.shape[-1]
        ifft = torch.fft.irfft(spec, self.n_fft, dim=1) * self.window[None, :, None]
        size = (frames - 1) * self.hop + self.n_fft
        fold = {"output_size": (1, size), "kernel_size": (1, self.n_fft), "stride": (1, self.hop)}
        y = F.fold(ifft, **fold)[:, 0, 0, self.pad : size - self.pad]
        env = self.window.square()[None, :, None].expand(1, -1, frames)
        env = F.fold(env, **fold)[:, 0, 0, self.pad : size - self.pad]
        return y / env.clamp_min(1e-11)


class ConvNeXtBlock(nn.Module):
    """Depthwise conv (time) -> LayerNorm -> pointwise MLP -> layer scale, with a residual."""

    def __init__(self, dim: int, hidden: int, kernel: int = 7, layer_scale: float = 1e-2) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.pw1 = nn.Linear(dim, hidden)
        self.pw2 = nn.Linear(hidden, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x [B, C, T]
        h = self.dwconv(x).transpose(1, 2)
        h = self.pw2(F.gelu(self.pw1(self.norm(h)))) * self.gamma
        return x + h.transpose(1, 2)


class ConvNeXtStack(nn.Module):
    """``in_ch`` -> ``dim`` (conv of width ``in_kernel``) -> ConvNeXt blocks -> LayerNorm, [B, C, T] layout."""

    def __init__(self, in_ch: int, dim: int, hidden: int, depth: int, kernel: int, in_kernel: int = 1) -> None:
        super().__init__()
        self.proj = nn.Conv1d(in_ch, dim, in_kernel, padding=in_kernel // 2)
        self.norm_in = nn.LayerNorm(dim)
        self.blocks = nn.ModuleList(ConvNeXtBlock(dim, hidden, kernel) for _ in range(depth))
        self.norm_out = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm_in(self.proj(x).transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        return self.norm_out(x.transpose(1, 2)).transpose(1, 2)


class SpectralEncoder(nn.Module):
    """Waveform [B, 1, T·hop] -> frame embeddings [B, out_dim, T]."""

    def __init__(self, cfg: STFTCodecConfig, out_dim: int) -> None:
        super().__init__()
        self.stft = SameSTFT(cfg.n_fft, cfg.hop)
        self.phase_features = cfg.phase_features
        in_ch = cfg.freq_bins * (3 if cfg.phase_features else 1)
        self.body = ConvNeXtStack(in_ch, cfg.dim, cfg.hidden, cfg.enc_depth, cfg.kernel)
        self.out = nn.Conv1d(cfg.dim, out_dim, 1)

    def features(self, wav: torch.Tensor) -> torch.Tensor:
        spec = self.stft(wav[:, 0])
        mag = spec.abs()
        feats = [torch.log(mag.clamp_min(_LOG_EPS))]
        if self.phase_features:  # power-law compressed complex spectrum: carries phase, bounded
            unit = spec / mag.clamp_min(_LOG_EPS)
            comp = mag.clamp_min(_LOG_EPS).pow(0.3)
            feats += [comp * unit.real, comp * unit.imag]
        return torch.cat(feats, dim=1)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(self.features(wav)))


class SpectralDecoder(nn.Module):
    """Frame embeddings [B, in_dim, T] -> waveform [B, 1, T·hop] through a log-magnitude/phase iSTFT head."""

    def __init__(self, cfg: STFTCodecConfig, in_dim: int) -> None:
        super().__init__()
        self.body = ConvNeXtStack(in_dim, cfg.dim, cfg.hidden, cfg.dec_depth, cfg.kernel, in_kernel=3)
        self.head = nn.Linear(cfg.dim, 2 * cfg.freq_bins)
        with torch.no_grad():
            self.head.bias[: cfg.freq_bins].fill_(_INIT_LOG_MAG)
        self.stft = SameSTFT(cfg.n_fft, cfg.hop)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.head(self.body(z).transpose(1, 2)).transpose(1, 2)
        log_mag, phase = h.chunk(2, dim=1)
        mag = torch.exp(log_mag.clamp(max=_MAX_LOG_MAG))
        spec = torch.complex(mag * torch.cos(phase), mag * torch.sin(phase))
        return self.stft.inverse(spec).unsqueeze(1)


class SynthRVQCodec(DiscreteCodec):
    """``synth-rvq``: STFT encoder -> encodec residual VQ (K x V, EMA codebooks) -> iSTFT decoder."""

    def __init__(self, cfg: STFTCodecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.sample_rate = cfg.sample_rate
        self.frame_rate = cfg.frame_rate
        self.num_codebooks = cfg.num_codebooks
        self.codebook_size = cfg.codebook_size
        self.encoder = SpectralEncoder(cfg, cfg.latent_dim)
        self.quantizer = ResidualVectorQuantizer(
            dimension=cfg.latent_dim, n_q=cfg.num_codebooks, bins=cfg.codebook_size, decay=cfg.ema_decay,
            kmeans_init=cfg.kmeans_init, kmeans_iters=cfg.kmeans_iters,
        )
        self.decoder = SpectralDecoder(cfg, cfg.latent_dim)

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass: ``(reconstruction [B,1,N], codes [B,K,T], commitment loss)``; N = T·hop."""
        z = self.encoder(wav)
        q = self.quantizer(z, self.sample_rate)
        return self.decoder(q.quantized), q.codes.transpose(0, 1), q.penalty

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        return self.quantizer.encode(self.encoder(wav), self.sample_rate).transpose(0, 1)

    def _decode(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.quantizer.decode(tokens.transpose(0, 1)))


class SynthLatentCodec(ContinuousCodec):
    """``synth-latent``: STFT encoder -> ``channels`` Gaussian latents (mean used at inference) -> iSTFT decoder."""

    def __init__(self, cfg: STFTCodecConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.sample_rate = cfg.sample_rate
        self.frame_rate = cfg.frame_rate
        self.channels = cfg.channels
        self.encoder = SpectralEncoder(cfg, 2 * cfg.channels)
        self.decoder = SpectralDecoder(cfg, cfg.channels)
        self.register_buffer("latent_mean", torch.zeros(cfg.channels))
        self.register_buffer("latent_std", torch.ones(cfg.channels))

    def posterior(self, wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance [B, C, T] of the (raw, unnormalised) latent."""
        mean, logvar = self.encoder(wav).chunk(2, dim=1)
        return mean, logvar.clamp(-20.0, 10.0)

    def forward(self, wav: torch.Tensor, sample: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training pass: ``(reconstruction, raw latent mean, KL to N(0, I) per element)``."""
        mean, logvar = self.posterior(wav)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar) if sample else mean
        kl = 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).mean()
        return self.decoder(z), mean, kl

    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        return self.posterior(wav)[0]

    def _decode(self, latents: torch.Tensor) -> torch.Tensor:
        return self.decoder(latents)


def build_codec(kind: str, model: dict[str, Any]) -> SynthRVQCodec | SynthLatentCodec:
    """``kind`` is ``"rvq"`` or ``"latent"``; ``model`` the ``model:`` section of a codec config."""
    cfg = STFTCodecConfig.from_dict(model)
    if kind == "rvq":
        return SynthRVQCodec(cfg)
    if kind == "latent":
        return SynthLatentCodec(cfg)
    raise ValueError(f"unknown codec kind {kind!r} (rvq | latent)")


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
