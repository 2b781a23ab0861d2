"""Finding exported training runs: ``$V2ABENCH_HOME/runs/<name>/<run-id>/{model.safetensors,meta.json}``.

A trained backend given no ``--ckpt`` uses its shipped checkpoint (:mod:`v2abench.training.shipped`);
one that ships none uses the newest *finished* run of its ``quick`` preset (the one
``v2abench train --model NAME --config quick`` writes; ``make run`` never trains): a run counts as finished when its exported ``meta.json`` records as many steps as its config asked for, and
it counts as *that preset's* run only when its config (seed and preset name aside) equals the preset
file as it is now, so a ``--max-steps`` override or a run of an older version of the preset is never
picked (pass ``--ckpt`` to use one).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from v2abench import paths
from v2abench.config import config_hash


def run_meta(run_dir: Path) -> dict[str, Any] | None:
    """The exported meta of a run folder, or None when it has not been exported."""
    meta = run_dir / "meta.json"
    if not (meta.is_file() and (run_dir / "model.safetensors").is_file()):
        return None
    return json.loads(meta.read_text(encoding="utf-8"))


def is_finished(meta: dict[str, Any]) -> bool:
    wanted = int(meta.get("config", {}).get("trainer", {}).get("max_steps", 0))
    return int(meta.get("steps", -1)) >= wanted


def signature(config: dict[str, Any]) -> str:
    """What makes two training configs the same budget and setting (seed and preset name aside)."""
    return config_hash({k: v for k, v in config.items() if k not in ("seed", "preset")})


def current_preset(name: str, preset: str) -> dict[str, Any] | None:
    """The preset's config as the files in ``configs/`` say now (None when ``name`` has no such preset)."""
    from v2abench.training.run import load_train_config

    try:
        return load_train_config(name, preset)
    except (LookupError, FileNotFoundError, ValueError):
        return None


def latest_run(name: str, preset: str = "quick", config: dict[str, Any] | None = None) -> Path | None:
    """The newest finished exported run of ``name`` trained from ``preset`` (None when there is none).

    ``config``: the preset's config to match (default: :func:`current_preset`; when there is none, any
    run labelled with the preset's name counts).
    """
    root = paths.runs_dir() / name
    if not root.is_dir():
        return None
    config = config if config is not None else current_preset(name, preset)
    wanted = signature(config) if config is not None else None
    for run_dir in sorted((p for p in root.iterdir() if p.is_dir()), reverse=True):  # run ids start with a UTC time
        meta = run_meta(run_dir)
        if not meta or meta.get("config", {}).get("preset") != preset or not is_finished(meta):
            continue
        if wanted is None or signature(meta["config"]) == wanted:
            return run_dir
    return None


def resolve_checkpoint(name: str, ckpt: str | Path | None, command: str) -> Path:
    """The run folder of ``--ckpt`` (a folder or its model.safetensors), or the latest quick run.

    Raises FileNotFoundError naming ``command`` (the one that writes such a run) when there is none.
    """
    if ckpt is None:
        found = latest_run(name)
        if found is None:
            raise FileNotFoundError(f"{name} has no trained run in {paths.runs_dir() / name}: train one with `{command}` (or pass --ckpt RUN_DIR)")
        return found
    run = Path(ckpt)
    run = run.parent if run.suffix == ".safetensors" else run
    if run_meta(run) is None:
        raise FileNotFoundError(f"{run} holds no exported model.safetensors + meta.json; `{command}` writes a run folder holding them")
    return run
