"""Ready-to-use SynthAV encoders from an exported run or the shipped asset.

An artefact is ``model.safetensors`` (fp32, every SynthAV network and training head) plus a JSON
meta file (sizes, the caption vocabulary, the run's config, steps, final losses and quality figures),
written by :meth:`~v2abench.encoders.synthav_training.SynthAVTrainable.export`. Two layouts are read:

- a run folder (or its ``model.safetensors``): ``<run>/model.safetensors`` + ``<run>/meta.json``;
- the shipped asset: ``v2abench/assets/synthav-v1.safetensors`` + ``v2abench/assets/synthav-v1.json``.

:func:`load_synthav` returns a :class:`SynthAVEncoders` bundle; unpacking it gives the three
encoders the generators use, ``semantic, sync, text = load_synthav()``; its ``audio`` field holds the
audio encoder (used for the quality figures and available to metrics). Every encoder is in eval mode
and carries ``weights_sha256`` (of the .safetensors file, for feature-cache keys) and ``meta``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from v2abench.artefacts import artefact_files
from v2abench.artefacts import sha256_file as file_sha256
from typing import Any

import torch
from safetensors.torch import load_file

from v2abench.encoders.synthav import (
    AudioEncoder,
    SemanticEncoder,
    SyncEncoder,
    SynthAV,
    SynthAVConfig,
    TextEncoder,
)
from v2abench.encoders.text_tokenizer import WordTokenizer

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
SHIPPED_VERSION = "v1"
NAME = "synthav"
TRAIN_COMMAND = f"v2abench train --model {NAME} --config quick"


def shipped_asset() -> tuple[Path, Path]:
    """``(weights, meta)`` paths of the shipped SynthAV asset (they may not exist)."""
    stem = f"{NAME}-{SHIPPED_VERSION}"
    return ASSETS_DIR / f"{stem}.safetensors", ASSETS_DIR / f"{stem}.json"


def _artefact_files(path: Path) -> tuple[Path, Path]:
    return artefact_files(path, "synthav")




@dataclass(frozen=True)
class SynthAVEncoders:
    """The loaded SynthAV networks; iterating yields ``(semantic, sync, text)``."""

    semantic: SemanticEncoder
    sync: SyncEncoder
    text: TextEncoder
    audio: AudioEncoder
    model: SynthAV
    meta: dict[str, Any]
    weights_sha256: str

    def __iter__(self) -> Iterator[Any]:
        return iter((self.semantic, self.sync, self.text))

    @property
    def tokenizer(self) -> WordTokenizer:
        return self.text.tokenizer


def load_artefact(path: Path | str) -> SynthAVEncoders:
    """Build the networks an artefact's meta describes and load its weights (strict)."""
    weights, meta_path = _artefact_files(Path(path))
    meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("name") != NAME:
        raise ValueError(f"{meta_path} describes {meta.get('name')!r}, not a {NAME} artefact")
    cfg = SynthAVConfig.from_dict(dict(meta["model"]))
    tokenizer = WordTokenizer.from_dict(meta["tokenizer"])
    model = SynthAV(cfg, tokenizer)
    state = load_file(str(weights))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{weights} does not fit the model in {meta_path}: missing {missing}, unexpected {unexpected}")
    model.eval()
    sha = file_sha256(weights)
    for part in (model.semantic, model.sync, model.text, model.audio):
        part.weights_sha256 = sha  # type: ignore[misc]
        part.meta = meta  # type: ignore[attr-defined]
    log.debug("loaded synthav from %s (sha256 %s)", weights, sha)
    return SynthAVEncoders(model.semantic, model.sync, model.text, model.audio, model, meta, sha)


def load_synthav(path: Path | str | None = None) -> SynthAVEncoders:
    """SynthAV from an exported run (folder or .safetensors), or the shipped asset when ``path`` is None."""
    if path is None:
        weights, meta = shipped_asset()
        if not (weights.is_file() and meta.is_file()):
            raise FileNotFoundError(
                f"the shipped {NAME} weights ({weights.name} + {meta.name} in {ASSETS_DIR}) are missing; "
                f"produce them with: {TRAIN_COMMAND}"
            )
        path = weights
    return load_artefact(Path(path))


def load_synthav_semantic(path: Path | str | None = None) -> SemanticEncoder:
    """The semantic encoder alone (5 fps, unit-norm joint-space embeddings)."""
    return load_synthav(path).semantic


def load_synthav_sync(path: Path | str | None = None) -> SyncEncoder:
    """The sync encoder alone (25 fps)."""
    return load_synthav(path).sync


def load_synthav_text(path: Path | str | None = None) -> TextEncoder:
    """The text encoder alone (word tokenizer of the SynthFoley train captions)."""
    return load_synthav(path).text


@torch.no_grad()
def recompute_quality(path: Path | str | None = None, split: str | None = None, limit: int | None = None) -> dict[str, Any]:
    """The quality figures of an artefact, measured again (on the split its meta names, by default)."""
    from v2abench.encoders.synthav_training import quality

    enc = load_synthav(path)
    recorded = enc.meta.get("quality") or {}
    window = int(enc.meta.get("config", {}).get("data", {}).get("sync_window", 48))
    return quality(enc.model, split or recorded.get("split", "synthfoley-val"), limit=limit, window=window)
