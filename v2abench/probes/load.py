"""Loading the SynthFoley probe: from a training run's export or the shipped asset.

Layouts read:

- a run folder (or its ``model.safetensors``), written by
  :meth:`~v2abench.probes.training.SynthProbeTrainable.export`;
- a shipped asset ``v2abench/assets/synthprobe-<version>.safetensors`` (+ ``.json``, its record:
  training config, steps, time and the sanity figures; + ``.md``, its model card). ``v2`` is the
  default of every ``@synthprobe`` metric; ``v1`` (whose aligned head only knew pristine renders)
  stays loadable for results that name it by sha256 (:data:`SHIPPED_VERSIONS`).

The model config and vocabulary are read from the safetensors metadata, so the file's sha256
(``weights_sha256`` on the loaded probe) identifies everything the metrics depend on.
"""

from __future__ import annotations

import json
from pathlib import Path

from v2abench.artefacts import sha256_file as file_sha256
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from v2abench.probes.synthprobe import SynthProbe, SynthProbeConfig, build_vocab
from v2abench.weights import MissingWeightsError

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
SHIPPED_VERSION = "v2"
"""The probe the metrics load by default."""
SHIPPED_VERSIONS = ("v1", "v2")
"""Every shipped probe (``v2abench.weights.SHIPPED_ASSETS`` holds their sha256)."""
TRAIN_COMMAND = "v2abench train --model synthprobe --config quick"


def shipped_asset(version: str | None = None) -> tuple[Path, Path]:
    """``(weights, meta)`` paths of the shipped probe ``version`` (default :data:`SHIPPED_VERSION`;
    they may not exist)."""
    version = version or SHIPPED_VERSION
    if version not in SHIPPED_VERSIONS:
        raise ValueError(f"no shipped synthprobe {version!r}; shipped: {', '.join(SHIPPED_VERSIONS)}")
    stem = f"synthprobe-{version}"
    return ASSETS_DIR / f"{stem}.safetensors", ASSETS_DIR / f"{stem}.json"




def _weights_file(path: Path | str | None) -> Path:
    if path is None:
        weights = shipped_asset()[0]
        if not weights.is_file():
            raise MissingWeightsError(
                f"the SynthFoley probe is not shipped in this checkout ({weights} is missing); train it with "
                f"`{TRAIN_COMMAND}` and load the run's model.safetensors, or restore the asset")
        return weights
    path = Path(path)
    weights = path / "model.safetensors" if path.is_dir() else path
    if not weights.is_file():
        raise MissingWeightsError(f"no SynthFoley probe weights at {weights}; train them with `{TRAIN_COMMAND}`")
    return weights


def _meta_file(weights: Path) -> Path | None:
    for candidate in (weights.with_suffix(".json"), weights.parent / "meta.json"):
        if candidate.is_file():
            return candidate
    return None


def load_synthprobe(path: Path | str | None = None) -> SynthProbe:
    """The trained probe (eval mode) from ``path`` (a run folder or .safetensors) or the shipped asset.

    The returned module carries ``weights_sha256`` (of the .safetensors file) and ``meta`` (the JSON
    beside it, ``{}`` when there is none). Missing weights raise
    :class:`~v2abench.weights.MissingWeightsError` (a ``FileNotFoundError``) naming the training command.
    """
    weights = _weights_file(path)
    with safe_open(str(weights), framework="pt") as fh:
        metadata = fh.metadata() or {}
    if metadata.get("name") != "synthprobe" or "config" not in metadata:
        raise ValueError(f"{weights} is not a SynthFoley probe artefact (no synthprobe config in its metadata)")
    cfg = SynthProbeConfig.from_dict(json.loads(metadata["config"]))
    probe = SynthProbe(cfg)
    probe.load_state_dict(load_file(str(weights)), strict=True)
    probe.eval()
    meta_path = _meta_file(weights)
    probe.weights_sha256 = file_sha256(weights)  # type: ignore[assignment]
    probe.meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path else {}  # type: ignore[assignment]
    probe.weights_path = weights  # type: ignore[assignment]
    return probe


def random_synthprobe(seed: int = 0, captions: list[str] | None = None, **model: Any) -> SynthProbe:
    """A probe with seeded random weights (tests of shapes and determinism); ``weights_sha256`` is None."""
    vocab = build_vocab(captions or [])
    cfg = SynthProbeConfig.from_dict(dict(model) | {"vocab": vocab})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        probe = SynthProbe(cfg)
    probe.eval()
    probe.weights_sha256 = None  # type: ignore[assignment]
    probe.meta = {}  # type: ignore[assignment]
    return probe
