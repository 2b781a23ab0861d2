"""Shared pieces of the autoregressive backends: codec and visual encoder from a config, and the
token/feature data module.

``codec`` config: ``{asset: synth-rvq}`` (the shipped asset), ``{path: RUN_DIR}`` (an exported run)
or ``{random: tiny, seed: 0}`` — an *untrained* codec built from ``configs/codecs/synth-rvq/<random>.yaml``
with a fixed seed, so tests can train a backend end to end with nothing downloaded or shipped.
``visual`` config: ``{name: thumbnail, size: 8, fps: 25}``, ``{name: open-clip, model: ViT-B-32, fps: 1}``,
``{name: synthav-semantic}`` / ``{name: synthav-sync}`` (the shipped SynthAV asset, or ``path: RUN_DIR``),
or ``{name: dual, semantic: {...}, sync: {...}}`` (:class:`~v2abench.encoders.dual.DualVisualEncoder`).
Codec tokens and visual features are cached separately (shared by every backend using the same codec or
encoder), each keyed by its network's weights sha256 and settings, so new weights never hit a stale entry.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from v2abench import media, paths
from v2abench.config import config_hash, load_yaml
from v2abench.data.feature_cache import FeatureCache
from v2abench.data.splits import load_split

log = logging.getLogger(__name__)


def build_codec(cfg: dict[str, Any]) -> torch.nn.Module:
    from v2abench.codecs.synth import load_synth_rvq

    if "random" in cfg:
        from v2abench.codecs.stft_codec import STFTCodecConfig, SynthRVQCodec

        model = load_yaml(paths.configs_dir() / "codecs" / "synth-rvq" / f"{cfg['random']}.yaml")["model"]
        with torch.random.fork_rng():
            torch.manual_seed(int(cfg.get("seed", 0)))
            codec = SynthRVQCodec(STFTCodecConfig.from_dict(dict(model) | {"kmeans_init": False}))
        # random weights have no file: key caches by the weights themselves, so a changed tiny config or
        # initialisation never hits stale tokens
        digest = hashlib.sha256()
        for key, value in sorted(codec.state_dict().items()):
            digest.update(key.encode())
            digest.update(value.detach().cpu().contiguous().numpy().tobytes())
        codec.weights_sha256 = digest.hexdigest()  # type: ignore[attr-defined]
        return codec.eval()
    if "pretrained" in cfg:
        from v2abench.codecs.pretrained import load_pretrained_codec

        return load_pretrained_codec(cfg["pretrained"]).eval()
    return load_synth_rvq(cfg.get("path"))


def build_visual_encoder(cfg: dict[str, Any]) -> Any:
    if cfg.get("name", "thumbnail") == "thumbnail":
        from v2abench.encoders.thumbnail import ThumbnailEncoder

        return ThumbnailEncoder(size=int(cfg.get("size", 8)), fps=float(cfg.get("fps", 25.0)))
    if cfg["name"] == "open-clip":
        from v2abench.encoders.open_clip_image import OpenClipImageEncoder

        return OpenClipImageEncoder(model_name=cfg.get("model", "ViT-B-32"), fps=float(cfg.get("fps", 1.0)), weights_name=cfg.get("weights"))
    if cfg["name"] in ("synthav-semantic", "synthav-sync"):
        from v2abench.encoders.synthav_load import load_synthav

        encoders = load_synthav(cfg.get("path"))
        return encoders.semantic if cfg["name"] == "synthav-semantic" else encoders.sync
    if cfg["name"] == "dual":
        from v2abench.encoders.dual import DualVisualEncoder

        return DualVisualEncoder(build_visual_encoder(cfg["semantic"]), build_visual_encoder(cfg["sync"]))
    raise ValueError(f"unknown visual encoder {cfg.get('name')!r} (available: thumbnail, open-clip, synthav-semantic, synthav-sync, dual)")


class TokenFeatureSet(Dataset):
    """Items as tuples ``(visual, tokens)`` or ``(visual, tokens, text_ids)`` when captions are used."""

    def __init__(self, items: list[dict[str, torch.Tensor]]) -> None:
        self.items = items
        self.keys = ("visual", "tokens", "text") if items and "text" in items[0] else ("visual", "tokens")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        return tuple(self.items[i][k] for k in self.keys)


class TokenFeatureDataModule(L.LightningDataModule):
    """Visual features and codec tokens of a split, computed once per clip and cached by content.

    ``text_ids``: caption(s) -> ids ``[B, L]`` (DreamFoley's tokenizer); given, each item also holds its
    caption's ids.
    """

    def __init__(self, cfg: dict[str, Any], text_ids: Callable[[list[str | None]], torch.Tensor] | None = None) -> None:
        super().__init__()
        self.cfg = cfg
        self.text_ids = text_ids
        self.items: list[dict[str, torch.Tensor]] = []

    def setup(self, stage: str | None = None) -> None:
        if self.items:
            return
        from rich.progress import track

        data_cfg, duration = self.cfg["data"], float(self.cfg["duration"])
        split = load_split(data_cfg["split"], limit=data_cfg.get("limit"))
        codec, encoder = build_codec(self.cfg["codec"]), build_visual_encoder(self.cfg["visual"])
        tokens_cache = FeatureCache("codec-tokens", getattr(codec, "weights_sha256", None), {"codec": self.cfg["codec"], "duration": duration})
        visual_cache = FeatureCache("visual-features", getattr(encoder, "weights_sha256", None), {"visual": self.cfg["visual"], "duration": duration})
        for clip in track(split.clips, description=f"tokens + features ({split.spec.name})", transient=True):
            decoded: list[media.Clip] = []

            def clip_media() -> media.Clip:  # one decode per clip, only when a cache misses
                if not decoded:
                    decoded.append(media.decode_clip(clip.video, fps=25.0, sample_rate=codec.sample_rate, max_seconds=duration))
                return decoded[0]

            def compute_tokens() -> dict[str, torch.Tensor]:
                n = int(round(duration * codec.sample_rate))
                audio = clip_media().audio.mean(0)
                wav = torch.nn.functional.pad(audio, (0, max(0, n - audio.shape[-1])))[:n]
                with torch.no_grad():
                    return {"tokens": codec.encode(wav.view(1, 1, -1))[0].short()}

            def compute_visual() -> dict[str, torch.Tensor]:
                with torch.no_grad():
                    return {"visual": encoder.encode(clip_media().frames.unsqueeze(0), 25.0)[0].half()}

            key = clip.sha256 or clip.id + config_hash({"duration": duration})
            try:
                item = tokens_cache.get_or_compute(key, compute_tokens) | visual_cache.get_or_compute(key, compute_visual)
            except media.MediaError as err:
                log.warning("skipping %s: %s", clip.id, err)
                continue
            entry = {"tokens": item["tokens"].long(), "visual": item["visual"].float()}
            if self.text_ids is not None:
                entry["text"] = self.text_ids([clip.caption])[0]
            self.items.append(entry)

    def train_dataloader(self) -> DataLoader:
        gen = torch.Generator().manual_seed(int(self.cfg.get("seed", 0)))
        return DataLoader(TokenFeatureSet(self.items), batch_size=int(self.cfg["data"]["batch_size"]), shuffle=True, generator=gen, drop_last=len(self.items) > int(self.cfg["data"]["batch_size"]))
