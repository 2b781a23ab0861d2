"""Provenance recorded in every result: code version, git state, environment."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from datetime import datetime, timezone
from typing import Any

import torch

import v2abench
from v2abench import paths


def git_state() -> dict[str, Any]:
    """``{"sha": ..., "dirty": ...}`` of the repository the code runs from (None outside git)."""
    def run(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=paths.REPO_ROOT, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    sha = run("rev-parse", "HEAD")
    status = run("status", "--porcelain", "--untracked-files=no") if sha else None
    return {"sha": sha, "dirty": bool(status) if sha else None}


# distributions whose version can change a number (signal processing, decoding, arrays)
LIBRARIES = ("numpy", "scipy", "librosa", "torchaudio", "torchvision", "av", "soundfile")


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str | None]:
    """Installed version of each distribution in ``names`` (None when it is not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        **library_versions(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
    }


def _weights_sha(module: Any) -> str | None:
    return getattr(module, "weights_sha256", None)


def generator_networks(generator: Any) -> dict[str, str | None]:
    """Role -> sha256 of every network a generator runs with (None: a network without weights).

    ``checkpoint``: the generator's own weights (``meta.checkpoint_sha256``); ``codec``, ``visual``
    (a dual encoder as ``visual.semantic`` and ``visual.sync``) and ``text``: the ``weights_sha256`` of
    its ``codec``, ``encoder`` and ``text_encoder`` attributes; then whatever ``meta.networks`` declares.
    The result records this map and the generated-audio cache key hashes it, so swapping any asset
    (a retrained codec under the same checkpoint, say) never reuses audio made with the old one.
    """
    meta = generator.meta
    networks: dict[str, str | None] = {}
    if meta.checkpoint_sha256 is not None:
        networks["checkpoint"] = meta.checkpoint_sha256
    codec = getattr(generator, "codec", None)
    if codec is not None:
        networks["codec"] = _weights_sha(codec)
    encoder = getattr(generator, "encoder", None)
    if encoder is not None:
        parts = {k: getattr(encoder, k, None) for k in ("semantic", "sync")}
        if all(p is not None for p in parts.values()):
            networks.update({f"visual.{k}": _weights_sha(p) for k, p in parts.items()})
        else:
            networks["visual"] = _weights_sha(encoder)
    text_encoder = getattr(generator, "text_encoder", None)
    if text_encoder is not None:
        networks["text"] = _weights_sha(text_encoder)
    networks.update(meta.networks)
    return dict(sorted(networks.items()))


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def code_version() -> str:
    return v2abench.__version__
