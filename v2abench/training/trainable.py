"""What a trainable registry entry provides to ``v2abench train``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import lightning as L


@runtime_checkable
class Trainable(Protocol):
    """Builds the LightningModule and data module from a resolved config, and exports weights.

    ``export`` writes the weights-only artefact of a finished run (``model.safetensors`` plus a
    ``meta.json``) into ``run_dir`` and returns its path; it is what gets shipped or loaded by the
    generator/codec/encoder entry.
    """

    config_dir: str  # e.g. "codecs/synth-rvq": configs/<config_dir>/<tiny|quick|paper>.yaml

    def build_module(self, config: dict[str, Any]) -> L.LightningModule: ...

    def build_datamodule(self, config: dict[str, Any]) -> L.LightningDataModule: ...

    def export(self, module: L.LightningModule, config: dict[str, Any], run_dir: Path) -> Path: ...
