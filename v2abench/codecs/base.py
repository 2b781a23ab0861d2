"""The two codec interfaces every audio representation in v2abench implements.

Shapes (``B`` clips, ``N`` samples, ``T`` frames at ``frame_rate``)::

    DiscreteCodec     encode: wav float32 [B, 1, N] -> tokens int64  [B, K, T]
                      decode: tokens      [B, K, T] -> wav   float32 [B, 1, T * hop]
    ContinuousCodec   encode: wav float32 [B, 1, N] -> latents float32 [B, C, T]   (normalised)
                      decode: latents     [B, C, T] -> wav     float32 [B, 1, T * hop]

``T = ceil(N / hop)`` with ``hop = sample_rate / frame_rate``: ``encode`` pads the end of the
waveform with zeros up to a whole number of frames, and ``decode`` returns ``T * hop`` samples, or
exactly ``length`` samples when ``length`` is given (trimmed, or zero-padded at the end). A waveform
whose length is a multiple of ``hop`` therefore comes back at its own length.

Both are ``nn.Module``s whose ``encode``/``decode`` run under ``torch.no_grad()`` in eval mode and
are deterministic (no sampling at inference). Implementations override the ``_encode``/``_decode``
hooks; the public methods check shapes and handle padding/trimming.
"""

from __future__ import annotations

import abc
import math

import torch
from torch import nn


def _check_wav(wav: torch.Tensor) -> torch.Tensor:
    if wav.dim() == 2:  # [B, N]: accept and add the channel axis
        wav = wav.unsqueeze(1)
    if wav.dim() != 3 or wav.shape[1] != 1:
        raise ValueError(f"expected a mono waveform [B, 1, N], got shape {tuple(wav.shape)}")
    return wav.float()


def fit_length(wav: torch.Tensor, length: int | None) -> torch.Tensor:
    """Trim or zero-pad the last axis of ``wav`` to ``length`` samples (``None``: unchanged)."""
    if length is None or wav.shape[-1] == length:
        return wav
    if wav.shape[-1] > length:
        return wav[..., :length]
    return nn.functional.pad(wav, (0, length - wav.shape[-1]))


class AudioCodec(nn.Module, abc.ABC):
    """What both codec kinds share: rates, hop, and padding to a whole number of frames."""

    sample_rate: int
    frame_rate: float

    @property
    def hop_length(self) -> int:
        """Samples per frame (``sample_rate / frame_rate``, an integer for every codec here)."""
        return round(self.sample_rate / self.frame_rate)

    def num_frames(self, num_samples: int) -> int:
        """Frames ``encode`` produces for ``num_samples`` samples: ``ceil(N / hop)``."""
        return math.ceil(num_samples / self.hop_length)

    def pad_to_frames(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav`` [B, 1, N] zero-padded at the end to ``num_frames(N) * hop`` samples."""
        wav = _check_wav(wav)
        return fit_length(wav, self.num_frames(wav.shape[-1]) * self.hop_length)


class DiscreteCodec(AudioCodec):
    """A residual-VQ codec: waveform <-> ``num_codebooks`` token streams of ``codebook_size`` symbols."""

    num_codebooks: int
    codebook_size: int

    @abc.abstractmethod
    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav`` [B, 1, T*hop] -> tokens int64 [B, K, T]."""

    @abc.abstractmethod
    def _decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens [B, K, T] -> wav [B, 1, T*hop]."""

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """Tokens ``[B, K, T]`` (int64, each in ``[0, codebook_size)``) of a waveform ``[B, 1, N]``."""
        tokens = self._encode(self.pad_to_frames(wav))
        return tokens.long()

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Waveform ``[B, 1, T*hop]`` (or ``length`` samples) from tokens ``[B, K, T]``."""
        if tokens.dim() != 3 or tokens.shape[1] != self.num_codebooks:
            raise ValueError(f"expected tokens [B, {self.num_codebooks}, T], got shape {tuple(tokens.shape)}")
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.codebook_size):
            raise ValueError(f"tokens must lie in [0, {self.codebook_size})")
        return fit_length(self._decode(tokens.long()), length)


class ContinuousCodec(AudioCodec):
    """An autoencoder: waveform <-> ``channels`` continuous latent streams, normalised per channel.

    ``encode`` returns ``(z - latent_mean) / latent_std`` with statistics measured on the training
    split, so the latents a flow model sees are roughly zero-mean, unit-variance per channel;
    ``decode`` undoes the normalisation before running the decoder.
    """

    channels: int
    latent_mean: torch.Tensor  # [C] buffer
    latent_std: torch.Tensor  # [C] buffer

    @abc.abstractmethod
    def _encode(self, wav: torch.Tensor) -> torch.Tensor:
        """``wav`` [B, 1, T*hop] -> raw (unnormalised) latents [B, C, T]."""

    @abc.abstractmethod
    def _decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Raw latents [B, C, T] -> wav [B, 1, T*hop]."""

    def normalise(self, raw: torch.Tensor) -> torch.Tensor:
        return (raw - self.latent_mean[None, :, None]) / self.latent_std[None, :, None]

    def denormalise(self, latents: torch.Tensor) -> torch.Tensor:
        return latents * self.latent_std[None, :, None] + self.latent_mean[None, :, None]

    @torch.no_grad()
    def encode(self, wav: torch.Tensor) -> torch.Tensor:
        """Normalised latents ``[B, C, T]`` of a waveform ``[B, 1, N]``."""
        return self.normalise(self._encode(self.pad_to_frames(wav)))

    @torch.no_grad()
    def decode(self, latents: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """Waveform ``[B, 1, T*hop]`` (or ``length`` samples) from normalised latents ``[B, C, T]``."""
        if latents.dim() != 3 or latents.shape[1] != self.channels:
            raise ValueError(f"expected latents [B, {self.channels}, T], got shape {tuple(latents.shape)}")
        return fit_length(self._decode(self.denormalise(latents.float())), length)
