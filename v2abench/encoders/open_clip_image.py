"""open_clip CLIP / EVA-CLIP image towers as per-frame visual encoders.

::

    frames uint8 [B, T, 3, H, W] at fps
      │  resample to the encoder's fps (nearest frame at k / fps, see encoders.base)
      ▼
    resize (shorter side -> image size, bicubic, antialiased, back to uint8) -> centre crop
      │  -> [0, 1] -> (x - mean) / std          (the tag's preprocess config: OpenAI's mean/std)
      ▼
    image tower (ViT / timm EVA) -> embedding [dim]  -> L2-normalised (``normalize=True``)
      ▼
    features float32 [B, T', dim] at fps

The tower is built by ``open_clip.create_model(model_name, pretrained=None)`` (random weights,
nothing downloaded, no base tower weights either) and filled with the ``visual.*`` part of the CLIP
checkpoint the weights registry holds (``open_clip_pytorch_model.bin``, or a ``.safetensors`` file);
the text tower is discarded. The preprocessing is a tensor version of open_clip's evaluation
transform (``Resize(size, bicubic)`` on the shorter side, ``CenterCrop``, ``Normalize``) with the
mean, std and interpolation the model's ``preprocess_cfg`` declares.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from v2abench.encoders.base import check_frames, resample_index
from v2abench.encoders.specs import DEFAULT_OPEN_CLIP_WEIGHTS, open_clip_checkpoint

log = logging.getLogger(__name__)


def read_state_dict(path: Path | str) -> dict[str, torch.Tensor]:
    """A CLIP state dict from ``.safetensors`` or ``torch.load(weights_only=True)``; unwraps a training
    checkpoint's ``state_dict`` and a DistributedDataParallel ``module.`` prefix."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state: Any = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise TypeError(f"{path} holds no state dict")
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def image_tower_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ``visual.*`` entries of a CLIP state dict, without the prefix."""
    tower = {k[len("visual."):]: v for k, v in state.items() if k.startswith("visual.")}
    if not tower:
        raise ValueError("the checkpoint has no 'visual.*' entries: not an open_clip CLIP state dict")
    return tower


def clip_pixels(images: torch.Tensor, size: tuple[int, int], mean: torch.Tensor, std: torch.Tensor, interpolation: str = "bicubic") -> torch.Tensor:
    """uint8 ``[N, 3, H, W]`` -> normalised float ``[N, 3, *size]`` (shorter side resized, centre crop).

    Sizes and crop offsets follow torchvision's ``Resize(int)`` and ``CenterCrop`` (as open_clip
    uses them); the resized image is rounded back to uint8 as PIL's resize would.
    """
    h, w = size
    height, width = images.shape[-2:]
    if h == w:  # Resize(int): shorter side to h, the longer scaled and truncated
        short, long = sorted((height, width))
        new_long = int(h * long / short)
        rh, rw = (h, new_long) if height <= width else (new_long, h)
    else:  # ResizeKeepRatio-like: cover the target
        scale = max(h / height, w / width)
        rh, rw = max(h, round(height * scale)), max(w, round(width * scale))
    x = images.float()
    if (rh, rw) != (height, width):
        x = F.interpolate(x, size=(rh, rw), mode=interpolation, antialias=True, align_corners=False).round().clamp(0, 255)
    top, left = round((rh - h) / 2.0), round((rw - w) / 2.0)
    x = x[..., top : top + h, left : left + w] / 255.0
    return (x - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)


class OpenClipImageEncoder(nn.Module):
    """Per-frame open_clip image embeddings ``[B, T', dim]`` at ``fps`` (1 by default).

    ``weights_name`` is a weights registry entry holding the CLIP checkpoint (default: the entry
    registered for ``model_name``, e.g. ``openclip-vit-b-32-laion2b`` for ViT-B-32). A missing file
    raises :class:`~v2abench.weights.MissingWeightsError` naming ``v2abench weights fetch NAME``.
    ``random_init=True`` keeps seeded random weights (tests of shapes and plumbing only).
    """

    def __init__(self, model_name: str = "ViT-B-32", fps: float = 1.0, weights_name: str | None = None, *,
                 random_init: bool = False, seed: int = 0, normalize: bool = True, batch_size: int = 64,
                 device: str | torch.device = "cpu") -> None:
        super().__init__()
        import open_clip

        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        path: Path | None = None
        if not random_init:
            weights_name = weights_name or DEFAULT_OPEN_CLIP_WEIGHTS.get(model_name)
            if weights_name is None:
                raise ValueError(f"no registered open_clip weights for {model_name!r}; pass weights_name "
                                 f"(known: {', '.join(f'{m}: {w}' for m, w in DEFAULT_OPEN_CLIP_WEIGHTS.items())})")
            checkpoint = open_clip_checkpoint(weights_name)
            if checkpoint is not None and checkpoint.model_name != model_name:
                raise ValueError(f"weights {weights_name!r} are for {checkpoint.model_name}, not {model_name}")
            from v2abench.weights import require

            path = require(weights_name)  # before building: a missing file fails fast
        self.model_name, self.fps, self.normalize, self.batch_size = model_name, float(fps), normalize, batch_size
        self.weights_name = None if random_init else weights_name
        self.name = self.weights_name or f"open_clip-{model_name}-random"
        self.weights_sha256: str | None = None
        self.seed = seed

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            clip = open_clip.create_model(model_name, pretrained=None, load_weights=False, pretrained_image=False, pretrained_text=False)
        self.visual = clip.visual  # the text tower is not kept
        del clip
        if path is not None:
            from v2abench.weights import sha256_file

            self.visual.load_state_dict(image_tower_state(read_state_dict(path)), strict=True)
            self.weights_sha256 = sha256_file(path)
            log.info("loaded %s image tower from %s (sha256 %s)", model_name, path, self.weights_sha256[:12])
        self.dim = int(open_clip.get_model_config(model_name)["embed_dim"])

        pre = dict(self.visual.preprocess_cfg)
        checkpoint = open_clip_checkpoint(weights_name) if weights_name else None
        if checkpoint is not None:  # the tag's own mean/std/interpolation, as open_clip merges them
            tag_cfg = open_clip.get_pretrained_cfg(model_name, checkpoint.tag)
            pre.update({k: tag_cfg[k] for k in ("mean", "std", "interpolation", "resize_mode") if k in tag_cfg})
        size = pre["size"]
        self.image_size: tuple[int, int] = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        self.interpolation = str(pre.get("interpolation", "bicubic"))
        if pre.get("resize_mode", "shortest") != "shortest":
            raise ValueError(f"{model_name}: resize mode {pre['resize_mode']!r} is not supported (only 'shortest')")
        self.register_buffer("mean", torch.tensor(pre["mean"], dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(pre["std"], dtype=torch.float32), persistent=False)
        self.to(device).eval()

    @property
    def device(self) -> torch.device:
        return self.mean.device

    def settings(self) -> dict[str, Any]:
        """Everything besides weights and input that decides the output (feature-cache key)."""
        return {"name": self.name, "model": self.model_name, "fps": self.fps, "image_size": list(self.image_size),
                "interpolation": self.interpolation, "normalize": self.normalize,
                **({"random_init_seed": self.seed} if self.weights_name is None else {})}

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Preprocessed ``[N, 3, h, w]`` -> embeddings ``[N, dim]`` (L2-normalised when ``normalize``)."""
        features = self.visual(pixels)
        return F.normalize(features, dim=-1) if self.normalize else features

    @torch.no_grad()
    def encode(self, frames: torch.Tensor, fps: float) -> torch.Tensor:
        """uint8 ``[B, T, 3, H, W]`` at ``fps`` -> float32 ``[B, T', dim]`` at ``self.fps``."""
        check_frames(frames)
        b = frames.shape[0]
        index = resample_index(frames.shape[1], fps, self.fps)
        images = frames[:, index].flatten(0, 1)
        out = []
        for start in range(0, images.shape[0], self.batch_size):
            chunk = images[start : start + self.batch_size].to(self.device)
            out.append(self(clip_pixels(chunk, self.image_size, self.mean, self.std, self.interpolation)).float().cpu())
        return torch.cat(out).reshape(b, len(index), self.dim)
