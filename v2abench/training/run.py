"""``v2abench train``: a thin wrapper over ``lightning.Trainer``.

Run folder: ``$V2ABENCH_HOME/runs/<name>/<run-id>/`` with ``config.yaml`` (resolved), ``metrics.csv``
(Lightning's CSV logger), ``checkpoints/last.ckpt`` (full state, for ``--resume``) and the exported
weights-only artefact (``model.safetensors`` + ``meta.json``). Budgets are step counts
(``trainer.max_steps`` in the config, ``--max-steps`` to override); ``--max-minutes`` is a safety cap
for interactive use only.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import yaml

from v2abench import paths
from v2abench.atomic import write_text
from v2abench.config import config_hash, load_yaml
from v2abench.registry import REGISTRY

log = logging.getLogger(__name__)


def load_train_config(name: str, config: str) -> dict[str, Any]:
    """``config`` is a preset (tiny|quick|paper) of the entry, or a path to a YAML file."""
    trainer = REGISTRY.get(name).load_trainer()
    path = Path(config)
    if not path.suffix:
        path = paths.configs_dir() / trainer.config_dir / f"{config}.yaml"
    if not path.is_file():
        presets = sorted(p.stem for p in (paths.configs_dir() / trainer.config_dir).glob("*.yaml"))
        raise FileNotFoundError(f"no config {config!r} for {name}; presets: {', '.join(presets)}")
    cfg = load_yaml(path)
    cfg.setdefault("trainer", {})
    return cfg


def _record_timing(run_dir: Path, setup: float, fit: float, steps: int, threads: int, resumed: bool) -> None:
    """``timing.json``: the run's data setup and step time, added up over resumed parts."""
    path = run_dir / "timing.json"
    before = json.loads(path.read_text()) if resumed and path.is_file() else {}
    fit_seconds = before.get("fit_seconds", 0.0) + fit
    fit_steps = before.get("fit_steps", 0) + steps
    write_text(path, json.dumps({
        "setup_seconds": round(before.get("setup_seconds", 0.0) + setup, 1), "fit_seconds": round(fit_seconds, 1),
        "fit_steps": fit_steps, "seconds_per_step": round(fit_seconds / max(1, fit_steps), 4), "threads": threads,
        "parts": before.get("parts", 0) + 1,
    }, indent=2) + "\n")


def train(
    name: str,
    config: str = "tiny",
    *,
    max_steps: int | None = None,
    max_minutes: float | None = None,
    devices: int = 1,
    seed: int = 0,
    resume: Path | None = None,
    progress: bool = True,
) -> Path:
    """Train registry entry ``name``; returns the run folder."""
    import lightning as L
    from lightning.pytorch.callbacks import ModelCheckpoint, RichProgressBar
    from lightning.pytorch.loggers import CSVLogger

    entry = REGISTRY.get(name)
    trainer_spec = entry.load_trainer()
    if resume is not None:
        run_dir = Path(resume)
        cfg = load_yaml(run_dir / "config.yaml")
        ckpt = run_dir / "checkpoints" / "last.ckpt"
        if not ckpt.is_file():
            raise FileNotFoundError(f"{run_dir} has no checkpoints/last.ckpt to resume from")
        seed = int(cfg.get("seed", seed))
        if max_steps is not None:  # continue to a larger budget
            cfg["trainer"]["max_steps"] = max_steps
            write_text(run_dir / "config.yaml", yaml.safe_dump(cfg, sort_keys=True))
    else:
        cfg = load_train_config(name, config)
        if max_steps is not None:
            cfg["trainer"]["max_steps"] = max_steps
        cfg["seed"] = seed
        cfg["preset"] = Path(config).stem  # latest_run() finds a backend's newest quick run by it
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + config_hash(cfg)[:8]
        run_dir = paths.runs_dir() / name / run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        write_text(run_dir / "config.yaml", yaml.safe_dump(cfg, sort_keys=True))
        ckpt = None
    L.seed_everything(seed, workers=True, verbose=False)
    start = time.perf_counter()
    module = trainer_spec.build_module(cfg)
    data = trainer_spec.build_datamodule(cfg)
    if hasattr(data, "setup"):
        data.setup("fit")  # features / audio of the split (cached): timed apart from the steps
    tcfg = cfg["trainer"]
    every = int(tcfg.get("checkpoint_every", max(1, int(tcfg.get("max_steps", 100)) // 4)))
    callbacks: list[Any] = [ModelCheckpoint(dirpath=run_dir / "checkpoints", save_last=True, every_n_train_steps=every, save_top_k=0)]
    if progress:
        callbacks.append(RichProgressBar())
    trainer = L.Trainer(
        max_steps=int(tcfg.get("max_steps", 100)),
        max_time={"minutes": max_minutes} if max_minutes else None,
        accelerator=tcfg.get("accelerator", "auto"),
        devices=devices,
        precision=tcfg.get("precision", "32-true"),
        gradient_clip_val=tcfg.get("gradient_clip_val"),
        log_every_n_steps=int(tcfg.get("log_every_n_steps", 10)),
        logger=CSVLogger(run_dir, name="", version=""),
        callbacks=callbacks,
        enable_progress_bar=progress,
        enable_model_summary=False,
        default_root_dir=run_dir,
        num_sanity_val_steps=0,
        limit_val_batches=tcfg.get("limit_val_batches", 0),
    )
    setup_seconds = time.perf_counter() - start
    import torch

    # a fresh Trainer restores global_step only inside fit(): read it from the checkpoint
    first_step = int(torch.load(ckpt, map_location="cpu", weights_only=False).get("global_step", 0)) if ckpt else 0
    fit_start = time.perf_counter()
    trainer.fit(module, datamodule=data, ckpt_path=str(ckpt) if ckpt else None)
    fit_seconds = time.perf_counter() - fit_start
    steps = trainer.global_step - first_step
    log.info("%s: %d steps in %.0f s (%.3f s/step; data setup %.0f s)", name, steps, fit_seconds, fit_seconds / max(1, steps), setup_seconds)
    _record_timing(run_dir, setup_seconds, fit_seconds, steps, torch.get_num_threads(), resumed=ckpt is not None)
    artefact = trainer_spec.export(module, cfg, run_dir)
    log.info("run %s: %d steps; weights %s", run_dir, trainer.global_step, artefact)
    return run_dir
