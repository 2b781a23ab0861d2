"""YAML configs and their hashes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from v2abench import paths


def load_yaml(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def config_hash(config: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a config (first 16 hex digits)."""
    blob = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def benchmark_config(board: str) -> dict[str, Any]:
    """``configs/benchmarks/<board>.yaml``: board name, current version and its tables."""
    path = paths.configs_dir() / "benchmarks" / f"{board}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (paths.configs_dir() / "benchmarks").glob("*.yaml"))
        raise KeyError(f"unknown board {board!r}; known: {', '.join(known)}")
    return load_yaml(path)


def known_boards() -> list[str]:
    return sorted(p.stem for p in (paths.configs_dir() / "benchmarks").glob("*.yaml"))
