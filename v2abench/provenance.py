"""Provenance recorded in every result: code version, git state, environment."""

from __future__ import annotations

import platform
import subprocess
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


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
    }


def utc_now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def code_version() -> str:
    return v2abench.__version__
