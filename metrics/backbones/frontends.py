"""Front ends of the audio backbones: the exact spectrogram each pretrained network was trained on.

They are written out here, with every parameter named, instead of being borrowed from the
reference packages; the tests feed the same audio to each and to the reference implementation
(torchvggish ``waveform_to_examples``, torchlibrosa ``Spectrogram`` + ``LogmelFilterBank`` as
PANNs builds them, hear21passt ``AugmentMelSTFT`` in eval mode) and require agreement to 1e-5.

Inputs are mono waveforms already at the backbone's rate (the loader of PROTOCOL.md resamples,
removes DC and truncates); nothing here resamples.

VGGish (16 kHz)::

    wave ──frames 400 (25 ms), hop 160 (10 ms), no padding──▶ × periodic Hann ──|rfft 512|──▶
    magnitude [T, 257] ──▶ × HTK-mel triangles (64 bands, 125–7500 Hz, DC bin zero) ──▶
    log(x + 0.01) [T, 64] ──▶ examples of 96 frames (0.96 s), hop 96, incomplete tail dropped

PANNs CNN14 16 kHz::

    wave ──reflect pad 256 | Conv1d(window × DFT, 512 taps, stride 160)──▶ power [T, 257] ──▶
    × Slaney mel (librosa, 64 bands, 50–8000 Hz) ──▶ 10 log10(max(x, 1e-10)) (ref 1, no top_db)

PaSST (32 kHz)::

    wave ──pre-emphasis y[t] = x[t+1] − 0.97 x[t]──▶ STFT n_fft 1024, hop 320, symmetric Hann
    800, centred (reflect) ──▶ power [513, T] ──▶ Kaldi mel (128 bins, 0–15 000 Hz, Nyquist bin
    zero) ──▶ log(x + 1e-5) ──▶ (x + 4.5) / 5
"""

from __future__ import annotations

import math

import librosa
import torch
from torch import nn
from torch.nn import functional as F

# --- VGGish ---------------------------------------------------------------------------------------
VGGISH_SAMPLE_RATE = 16_000
VGGISH_WINDOW = 400  # 25 ms
VGGISH_HOP = 160  # 10 ms
VGGISH_FFT = 512  # next power of two above the window
VGGISH_MEL_BANDS = 64
VGGISH_FMIN_HZ = 125.0
VGGISH_FMAX_HZ = 7500.0
VGGISH_LOG_OFFSET = 0.01
VGGISH_EXAMPLE_FRAMES = 96  # 0.96 s examples, hop 0.96 s (no overlap)


def htk_mel(freq_hz: torch.Tensor) -> torch.Tensor:
    """HTK mel scale ``1127 ln(1 + f / 700)`` (VGGish and Kaldi both use it)."""
    return 1127.0 * torch.log(1.0 + freq_hz / 700.0)


def vggish_mel_matrix(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``[257, 64]`` weights mapping |STFT| bins to VGGish's mel bands.

    Triangles are linear in mel between 66 edges evenly spaced from mel(125 Hz) to mel(7500 Hz);
    the spectrogram bins sit at ``linspace(0, 8000, 257)`` Hz; the DC bin gets weight zero (HTK).
    """
    n_bins = VGGISH_FFT // 2 + 1
    bins_mel = htk_mel(torch.linspace(0.0, VGGISH_SAMPLE_RATE / 2, n_bins, dtype=torch.float64))
    edges = torch.linspace(
        float(htk_mel(torch.tensor(VGGISH_FMIN_HZ, dtype=torch.float64))),
        float(htk_mel(torch.tensor(VGGISH_FMAX_HZ, dtype=torch.float64))),
        VGGISH_MEL_BANDS + 2,
        dtype=torch.float64,
    )
    lower, centre, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bins_mel[:, None]) / (upper - centre)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    weights[0, :] = 0.0
    return weights.to(dtype)


def vggish_log_mel(audio: torch.Tensor) -> torch.Tensor:
    """Log-mel frames ``[T, 64]`` (float64) of a 16 kHz waveform; ``T = 1 + (N - 400) // 160``."""
    x = audio.detach().to(torch.float64).reshape(-1)
    if x.numel() < VGGISH_WINDOW:
        return torch.zeros(0, VGGISH_MEL_BANDS, dtype=torch.float64, device=x.device)
    frames = x.unfold(0, VGGISH_WINDOW, VGGISH_HOP)  # [T, 400], complete frames only
    window = torch.hann_window(VGGISH_WINDOW, periodic=True, dtype=torch.float64, device=x.device)
    magnitude = torch.fft.rfft(frames * window, n=VGGISH_FFT).abs()  # [T, 257]
    mel = magnitude @ vggish_mel_matrix().to(x.device)
    return torch.log(mel + VGGISH_LOG_OFFSET)


def vggish_examples(audio: torch.Tensor) -> torch.Tensor:
    """VGGish input examples ``[n, 96, 64]`` (float32): 0.96 s log-mel patches, tail dropped.

    ``n = T // 96`` with ``T = 1 + (N - 400) // 160`` frames, i.e. ``floor(duration / 0.96)`` except
    within 15 ms of a multiple of 0.96 s; clips shorter than 0.975 s give ``n = 0``.
    """
    log_mel = vggish_log_mel(audio)
    n = log_mel.shape[0] // VGGISH_EXAMPLE_FRAMES
    return log_mel[: n * VGGISH_EXAMPLE_FRAMES].reshape(n, VGGISH_EXAMPLE_FRAMES, VGGISH_MEL_BANDS).float()


# --- PANNs (torchlibrosa layout, so that the checkpoint's front-end tensors load) -----------------
class ConvStft(nn.Module):
    """STFT as two ``Conv1d`` banks whose kernels are ``periodic Hann × cos`` and ``× −sin``.

    The kernels are fixed (they are rebuilt here and also stored in PANNs checkpoints under
    ``spectrogram_extractor.stft.conv_real/conv_imag.weight``, ``[n_fft // 2 + 1, 1, n_fft]``).
    The input is reflect-padded by ``n_fft // 2`` on both sides (``center=True``).
    """

    def __init__(self, n_fft: int = 512, hop: int = 160) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        n_out = n_fft // 2 + 1
        self.conv_real = nn.Conv1d(1, n_out, n_fft, stride=hop, bias=False)
        self.conv_imag = nn.Conv1d(1, n_out, n_fft, stride=hop, bias=False)
        self.conv_real.weight.requires_grad_(False)
        self.conv_imag.weight.requires_grad_(False)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        device = self.conv_real.weight.device
        n = torch.arange(self.n_fft, dtype=torch.float64, device=device)
        k = torch.arange(self.n_fft // 2 + 1, dtype=torch.float64, device=device)
        window = torch.hann_window(self.n_fft, periodic=True, dtype=torch.float64, device=device)
        angle = 2.0 * math.pi * torch.remainder(k[:, None] * n[None, :], self.n_fft) / self.n_fft
        self.conv_real.weight.copy_((torch.cos(angle) * window)[:, None, :])
        self.conv_imag.weight.copy_((-torch.sin(angle) * window)[:, None, :])

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, N]`` -> real, imag ``[B, 1, T, n_fft // 2 + 1]`` with ``T = 1 + N // hop``."""
        x = F.pad(wave[:, None, :], (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        real = self.conv_real(x).transpose(1, 2)[:, None]
        imag = self.conv_imag(x).transpose(1, 2)[:, None]
        return real, imag


class PowerSpectrogram(nn.Module):
    """``|STFT|^2`` ``[B, 1, T, F]`` (PANNs ``spectrogram_extractor``; its ConvStft is ``.stft``)."""

    def __init__(self, n_fft: int = 512, hop: int = 160) -> None:
        super().__init__()
        self.stft = ConvStft(n_fft, hop)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        real, imag = self.stft(wave)
        return real**2 + imag**2


class LogMelFilterBank(nn.Module):
    """Slaney mel (``librosa.filters.mel``, norm ``slaney``, not HTK) then dB without ``top_db``.

    ``melW`` ``[n_fft // 2 + 1, n_mels]`` is a frozen parameter (PANNs ``logmel_extractor.melW``);
    output ``10 log10(max(x @ melW, amin)) - 10 log10(max(amin, ref))`` with ``amin = 1e-10``,
    ``ref = 1``.
    """

    def __init__(self, sample_rate: int = 16_000, n_fft: int = 512, n_mels: int = 64, fmin: float = 50.0, fmax: float = 8000.0, amin: float = 1e-10, ref: float = 1.0) -> None:
        super().__init__()
        self.amin, self.ref = amin, ref
        weights = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax).T
        self.melW = nn.Parameter(torch.tensor(weights, dtype=torch.float32), requires_grad=False)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        mel = torch.matmul(power, self.melW)
        return 10.0 * torch.log10(torch.clamp(mel, min=self.amin)) - 10.0 * math.log10(max(self.amin, self.ref))


# --- PaSST ----------------------------------------------------------------------------------------
PASST_SAMPLE_RATE = 32_000
PASST_N_FFT = 1024
PASST_WINDOW = 800
PASST_HOP = 320
PASST_MEL_BINS = 128
PASST_FMIN_HZ = 0.0
PASST_FMAX_HZ = 15_000.0  # hear21passt: fmax=None -> sr // 2 - fmax_aug_range // 2 = 16000 - 1000
PASST_PREEMPHASIS = 0.97
PASST_LOG_OFFSET = 1e-5


def kaldi_mel_banks(n_mels: int, n_fft: int, sample_rate: float, fmin: float, fmax: float) -> torch.Tensor:
    """Kaldi triangular mel banks ``[n_mels, n_fft // 2]`` (HTK mel, unnormalised, no VTLN warp).

    Edges evenly spaced in mel between mel(fmin) and mel(fmax) (``n_mels + 2`` of them); FFT bin
    ``i`` sits at ``i * sample_rate / n_fft`` Hz for ``i < n_fft / 2`` (the Nyquist bin is left out).
    Computed in float32 with the operations of ``torchaudio.compliance.kaldi.get_mel_banks``, which
    is what PaSST was trained with (float64 banks differ from those by up to 1.3e-5).
    """
    mel_low = 1127.0 * math.log(1.0 + fmin / 700.0)
    mel_high = 1127.0 * math.log(1.0 + fmax / 700.0)
    delta = (mel_high - mel_low) / (n_mels + 1)
    band = torch.arange(n_mels, dtype=torch.float32)[:, None]
    left, centre, right = mel_low + band * delta, mel_low + (band + 1.0) * delta, mel_low + (band + 2.0) * delta
    bins_mel = htk_mel((sample_rate / n_fft) * torch.arange(float(n_fft // 2), dtype=torch.float32))[None, :]
    rising = (bins_mel - left) / (centre - left)
    falling = (right - bins_mel) / (right - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0)


class PasstMel(nn.Module):
    """hear21passt's ``AugmentMelSTFT`` in eval mode (no augmentation), as PaSST-S was trained.

    ``[B, N]`` at 32 kHz -> ``[B, 128, T]`` with ``T = 1 + (N - 1) // 320`` (10 s -> 1000 frames).
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(PASST_WINDOW, periodic=False), persistent=False)
        banks = kaldi_mel_banks(PASST_MEL_BINS, PASST_N_FFT, PASST_SAMPLE_RATE, PASST_FMIN_HZ, PASST_FMAX_HZ)
        banks = F.pad(banks, (0, 1))  # zero weight on the Nyquist bin -> [128, 513]
        self.register_buffer("mel_banks", banks, persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = wave[..., 1:] - PASST_PREEMPHASIS * wave[..., :-1]
        spec = torch.stft(x, PASST_N_FFT, hop_length=PASST_HOP, win_length=PASST_WINDOW, window=self.window, center=True, pad_mode="reflect", normalized=False, return_complex=True)
        power = torch.view_as_real(spec).pow(2).sum(-1)  # [B, 513, T]
        mel = torch.matmul(self.mel_banks, power)
        return (torch.log(mel + PASST_LOG_OFFSET) + 4.5) / 5.0
