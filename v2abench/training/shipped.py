"""Shipped checkpoints of trained generators, and the one place a trained backend finds its weights.

A trained generator's main-row checkpoint ships inside the package as
``v2abench/assets/<name>-quick-v<N>.safetensors`` with its record ``.json`` (the run's exported meta:
config and steps; its timing; the run id) and its model card ``.md`` (command, steps, loss curve,
time, parameters). Its sha256 is pinned in :data:`v2abench.weights.SHIPPED_ASSETS`; loading checks it.

Resolution (:func:`load_trained_checkpoint`) for a backend ``name``:

1. ``--ckpt`` given: that run folder (or its ``model.safetensors``), or a shipped asset's ``.safetensors``;
2. otherwise the newest shipped asset ``<name>-quick-v<N>``;
3. otherwise the newest finished run of ``v2abench train --model NAME --config quick``
   (:func:`~v2abench.training.runs.latest_run`), for backends that ship nothing yet;
4. otherwise ``FileNotFoundError`` naming the training command.

:func:`ship_run` turns a finished run into such an asset (float32, or float16 when float32 would pass
the 8 MB limit) and writes its card.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from v2abench.artefacts import sha256_file
from v2abench.atomic import atomic_path, write_json
from v2abench.training.runs import resolve_checkpoint
from v2abench.weights import SHIPPED_ASSETS, WeightsHashError, shipped_asset_path

log = logging.getLogger(__name__)

MAX_ASSET_BYTES = 8_000_000
"""Largest shipped checkpoint (DESIGN.md: at most 8 MB)."""


@dataclass(frozen=True)
class TrainedCheckpoint:
    """Weights of a trained generator with what made them."""

    weights: Path
    meta: dict[str, Any]  # the run's export: {"name", "config", "steps", ...}
    timing: dict[str, Any] = field(default_factory=dict)  # timing.json of the run
    run: str = ""  # the run id that trained it
    asset: str | None = None  # the shipped asset's name, when it is one

    @property
    def sha256(self) -> str:
        return sha256_file(self.weights)


def train_command(name: str) -> str:
    return f"v2abench train --model {name} --config quick"


def shipped_checkpoint(name: str) -> str | None:
    """The newest registered asset ``<name>-quick-v<N>`` whose file is present (None when none)."""
    pattern = re.compile(rf"^{re.escape(name)}-quick-v(\d+)$")
    versions = [(int(m.group(1)), asset) for asset in SHIPPED_ASSETS if (m := pattern.match(asset))]
    versions = [(v, a) for v, a in versions if shipped_asset_path(a).is_file()]
    return max(versions)[1] if versions else None


def _load_asset(asset: str) -> TrainedCheckpoint:
    weights = shipped_asset_path(asset)
    sha = sha256_file(weights)
    if sha != SHIPPED_ASSETS[asset]:
        raise WeightsHashError(f"{weights}: sha256 {sha[:12]}… is not the registered {SHIPPED_ASSETS[asset][:12]}… of {asset}")
    record = json.loads(weights.with_suffix(".json").read_text(encoding="utf-8"))
    return TrainedCheckpoint(weights, record["meta"], record.get("timing", {}), record.get("run", ""), asset)


def _asset_of(path: Path) -> str | None:
    name = path.name.removesuffix(".safetensors")
    return name if path.suffix == ".safetensors" and name in SHIPPED_ASSETS and path.resolve() == shipped_asset_path(name).resolve() else None


def _load_run(run: Path) -> TrainedCheckpoint:
    timing = json.loads((run / "timing.json").read_text()) if (run / "timing.json").is_file() else {}
    return TrainedCheckpoint(run / "model.safetensors", json.loads((run / "meta.json").read_text()), timing, run.name)


def load_trained_checkpoint(name: str, ckpt: str | Path | None = None) -> TrainedCheckpoint:
    """The checkpoint a trained backend ``name`` uses (resolution order in the module docstring)."""
    if ckpt is not None:
        asset = _asset_of(Path(ckpt))
        return _load_asset(asset) if asset else _load_run(resolve_checkpoint(name, ckpt, train_command(name)))
    asset = shipped_checkpoint(name)
    if asset is not None:
        return _load_asset(asset)
    return _load_run(resolve_checkpoint(name, None, train_command(name)))


def load_state(checkpoint: TrainedCheckpoint) -> dict[str, torch.Tensor]:
    """The state dict (float16 storage is widened to float32 for the float32 module)."""
    return {k: v.float() if v.dtype == torch.float16 else v for k, v in load_file(str(checkpoint.weights)).items()}


def loss_curve(run: Path, every: int = 250) -> list[tuple[int, float]]:
    """(step, train/loss) from the run's ``metrics.csv``, one point per ``every`` steps and the last one."""
    rows = [(int(r["step"]), float(r["train/loss"])) for r in csv.DictReader((run / "metrics.csv").open()) if r.get("train/loss")]
    picked = [(s, v) for s, v in rows if (s + 1) % every == 0]
    return picked + ([rows[-1]] if rows and (not picked or picked[-1] != rows[-1]) else [])


def ship_run(run: Path, asset: str, params: int | None = None) -> Path:
    """Write ``run`` as the shipped asset ``asset`` (+ ``.json`` record and ``.md`` card); returns the weights path.

    ``params``: trainable parameters (default: every element of the exported state dict). The sha256 to
    pin in :data:`~v2abench.weights.SHIPPED_ASSETS` is logged (and is the file's).
    """
    checkpoint = _load_run(run)
    state = {k: v.contiguous() for k, v in load_file(str(checkpoint.weights)).items()}
    params = params if params is not None else sum(v.numel() for v in state.values())
    if sum(v.numel() * v.element_size() for v in state.values()) > MAX_ASSET_BYTES - 100_000:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    target = shipped_asset_path(asset)
    with atomic_path(target) as tmp:
        save_file(state, str(tmp), metadata={"name": checkpoint.meta["name"], "run": run.name})
    if target.stat().st_size > MAX_ASSET_BYTES:
        raise ValueError(f"{target} is {target.stat().st_size} bytes, over the {MAX_ASSET_BYTES} limit")
    curve = loss_curve(run)
    write_json(target.with_suffix(".json"), {"asset": asset, "run": run.name, "meta": checkpoint.meta, "timing": checkpoint.timing,
                                             "params": params, "dtype": str(next(iter(state.values())).dtype).removeprefix("torch."), "curve": curve})
    target.with_suffix(".md").write_text(_card(asset, checkpoint, params, curve, str(next(iter(state.values())).dtype).removeprefix("torch.")), encoding="utf-8")
    log.info("shipped %s: %s (sha256 %s)", asset, target, sha256_file(target))
    return target


def _card(asset: str, checkpoint: TrainedCheckpoint, params: int, curve: list[tuple[int, float]], dtype: str) -> str:
    name, cfg, timing = checkpoint.meta["name"], checkpoint.meta["config"], checkpoint.timing
    steps, fit = int(checkpoint.meta["steps"]), float(timing.get("fit_seconds", 0.0))
    lines = [f"# {asset}: the `{name}` main-row checkpoint", "",
             f"- Command: `OMP_NUM_THREADS={timing.get('threads', '?')} {train_command(name)}` (seed {cfg.get('seed', 0)}), run `{checkpoint.run}`.",
             f"- Trainable parameters: {params:,} ({params / 1e6:.2f} M; the frozen codec and visual encoder are shipped assets of their own, not counted).",
             f"- Steps: {steps} (batch {cfg['data']['batch_size']}, split `{cfg['data']['split']}`); training time {fit / 60:.1f} min "
             f"({timing.get('seconds_per_step', '?')} s/step on {timing.get('threads', '?')} threads of the 2-core reference machine; data setup {float(timing.get('setup_seconds', 0.0)):.0f} s).",
             f"- Storage: {dtype} safetensors; sha256 pinned in `v2abench.weights.SHIPPED_ASSETS[{asset!r}]`; the full config is in `{asset}.json`.",
             f"- `v2abench eval --model {name}` (and `v2abench run`) use this file when no `--ckpt` is given.", "",
             "Training loss at the logged steps (one batch of the step; mean of the per-codebook cross-entropies):", "",
             "| step | loss |", "|---:|---:|", *(f"| {s + 1} | {v:.3f} |" for s, v in curve), ""]
    return "\n".join(lines)
