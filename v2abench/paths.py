"""Where v2abench keeps things.

``V2ABENCH_HOME`` (default ``~/.cache/v2abench``) holds ``data/``, ``weights/``, ``cache/``, ``runs/``
and ``results/`` (a user's own evaluation results). Committed leaderboards live in the repository's
``leaderboards/`` folder, or in ``V2ABENCH_BOARDS`` when that is set.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    """The v2abench home folder (created on demand)."""
    root = Path(os.environ.get("V2ABENCH_HOME", Path.home() / ".cache" / "v2abench")).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def data_dir() -> Path:
    return home() / "data"


def cache_dir() -> Path:
    return home() / "cache"


def results_dir() -> Path:
    """A user's own results: ``results/<board>/<table>/<model>@<sha8>.json``."""
    return home() / "results"


def runs_dir() -> Path:
    return home() / "runs"


def weights_dir() -> Path:
    return home() / "weights"


def boards_dir() -> Path:
    """The committed boards: ``$V2ABENCH_BOARDS`` or ``<repo>/leaderboards``."""
    env = os.environ.get("V2ABENCH_BOARDS")
    return Path(env).expanduser() if env else REPO_ROOT / "leaderboards"


def configs_dir() -> Path:
    """The YAML configs (top-level ``configs/``, installed as ``v2abench.configs``)."""
    import v2abench.configs as configs_pkg

    return Path(configs_pkg.__file__).resolve().parent
