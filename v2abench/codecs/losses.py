"""Reconstruction losses and quality measures of the suite's codecs.

The log-mel distance is both a training loss and the reported quality measure, with one fixed
configuration (:data:`MEL_16K`)::

    mel_l1(x, y) = mean | log(max(M·|STFT(x)|, 1e-5)) - log(max(M·|STFT(y)|, 1e-5)) |

    STFT: n_fft 1024, hop 256, Hann window of 1024, centred (reflect padding), magnitude (power 1)
    M:    80 Slaney-normalised mel filters (librosa.filters.mel, htk=False), 0-8000 Hz

(natural log; the mean runs over batch, mel bins and frames). For scale, measured on SynthFoley
train audio: white noise added at -30 / -20 / -10 dB relative to each clip's RMS scores 2.04 / 2.75
/ 3.58 (the 1e-5 floor makes the measure sensitive to noise filling quiet time-frequency regions;
the numbers quoted in issue 3 used another mel setting and are not comparable).

The multi-resolution STFT loss (Yamamoto et al., Parallel WaveGAN) sums, over STFT sizes
(512, 1024, 2048; hop = size/4), the spectral convergence ``‖|Y|-|X|‖_F / ‖|Y|‖_F`` and the L1
distance of log magnitudes.

SI-SDR (Le Roux et al. 2019), in dB, of an estimate ``x̂`` against a reference ``x``, both made
zero-mean: ``α = <x̂, x> / ‖x‖²``, ``SI-SDR = 10 log10(‖αx‖² / ‖αx - x̂‖²)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import torch
import torch.nn.functional as F
from torch import nn

_EPS = 1e-5


@dataclass(frozen=True)
class MelConfig:
    """A log-mel spectrogram's settings."""

    sample_rate: int = 16_000
    n_fft: int = 1024
    hop: int = 256
    n_mels: int = 80
    f_min: float = 0.0
    f_max: float | None = None  # None: sample_rate / 2


MEL_16K = MelConfig()
"""The mel configuration of every reported ``mel_l1`` of the 16 kHz codecs."""


class LogMel(nn.Module):
    """``wav`` [B, 1, N] or [B, N] -> log-mel [B, n_mels, frames] (see the module docstring)."""

    def __init__(self, cfg: MelConfig = MEL_16K) -> None:
        super().__init__()
        self.cfg = cfg
        fb = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.f_min,
                                 fmax=cfg.f_max, htk=False, norm="slaney")
        self.register_buffer("filters", torch.from_numpy(fb).float(), persistent=False)
        self.register_buffer("window", torch.hann_window(cfg.n_fft), persistent=False)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        if wav.dim() == 3:
            wav = wav[:, 0]
        spec = torch.stft(wav.float(), self.cfg.n_fft, self.cfg.hop, window=self.window, center=True,
                          pad_mode="reflect", return_complex=True).abs()
        return torch.log(torch.matmul(self.filters, spec).clamp_min(_EPS))


class MelL1Loss(nn.Module):
    """L1 distance of log-mel spectrograms (the reported ``mel_l1``)."""

    def __init__(self, cfg: MelConfig = MEL_16K) -> None:
        super().__init__()
        self.mel = LogMel(cfg)

    def forward(self, estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return F.l1_loss(self.mel(estimate), self.mel(reference))


class MultiResolutionSTFTLoss(nn.Module):
    """Sum over STFT sizes of spectral convergence + log-magnitude L1 (see the module docstring)."""

    def __init__(self, sizes: tuple[int, ...] = (512, 1024, 2048)) -> None:
        super().__init__()
        self.sizes = tuple(sizes)
        for n in self.sizes:
            self.register_buffer(f"window_{n}", torch.hann_window(n), persistent=False)

    def _mag(self, wav: torch.Tensor, n: int) -> torch.Tensor:
        window = getattr(self, f"window_{n}")
        spec = torch.stft(wav, n, n // 4, window=window, center=True, return_complex=True)
        return spec.abs().clamp_min(_EPS)

    def forward(self, estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        est, ref = estimate.reshape(-1, estimate.shape[-1]), reference.reshape(-1, reference.shape[-1])
        total = est.new_zeros(())
        for n in self.sizes:
            x, y = self._mag(est, n), self._mag(ref, n)
            convergence = torch.linalg.norm(y - x) / torch.linalg.norm(y).clamp_min(_EPS)
            total = total + convergence + F.l1_loss(torch.log(x), torch.log(y))
        return total / len(self.sizes)


def si_sdr(estimate: torch.Tensor, reference: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant SDR in dB per item; inputs [..., N] (trailing axis = time)."""
    est = estimate - estimate.mean(dim=-1, keepdim=True)
    ref = reference - reference.mean(dim=-1, keepdim=True)
    alpha = (est * ref).sum(-1, keepdim=True) / (ref.square().sum(-1, keepdim=True) + eps)
    target = alpha * ref
    noise = target - est
    return 10 * torch.log10((target.square().sum(-1) + eps) / (noise.square().sum(-1) + eps))


class CodecLoss(nn.Module):
    """``w_mel · mel_l1 + w_stft · mrstft`` between a reconstruction and its input, with the parts.

    One STFT per resolution serves both terms (the mel uses the ``MEL_16K``-sized one), and the
    reference's spectra are computed without autograd: about 30% cheaper than separate losses.
    """

    def __init__(self, mel_weight: float = 1.0, stft_weight: float = 1.0, sample_rate: int = 16_000,
                 sizes: tuple[int, ...] = (512, 1024, 2048)) -> None:
        super().__init__()
        self.mel_weight, self.stft_weight = mel_weight, stft_weight
        self.mel = LogMel(MelConfig(sample_rate=sample_rate))
        if self.mel.cfg.n_fft not in sizes or self.mel.cfg.hop != self.mel.cfg.n_fft // 4:
            raise ValueError("the mel STFT must be one of the multi-resolution sizes (hop = size / 4)")
        self.stft = MultiResolutionSTFTLoss(sizes)

    def forward(self, estimate: torch.Tensor, reference: torch.Tensor) -> dict[str, torch.Tensor]:
        est, ref = estimate.reshape(-1, estimate.shape[-1]), reference.reshape(-1, reference.shape[-1])
        stft = est.new_zeros(())
        mel = est.new_zeros(())
        for n in self.stft.sizes:
            x = self.stft._mag(est, n)
            with torch.no_grad():
                y = self.stft._mag(ref, n)
            convergence = torch.linalg.norm(y - x) / torch.linalg.norm(y).clamp_min(_EPS)
            stft = stft + convergence + F.l1_loss(torch.log(x), torch.log(y))
            if n == self.mel.cfg.n_fft:
                mel_x = torch.log(torch.matmul(self.mel.filters, x).clamp_min(_EPS))
                mel_y = torch.log(torch.matmul(self.mel.filters, y).clamp_min(_EPS))
                mel = F.l1_loss(mel_x, mel_y)
        stft = stft / len(self.stft.sizes)
        return {"recon": self.mel_weight * mel + self.stft_weight * stft, "mel_l1": mel, "stft": stft}
