"""Feature caches keyed by content, extractor, weights and settings — never by file existence alone.

``cache/feat/<extractor>@<weights-sha8>/<settings-hash>/<content-sha256>.pt``. A change of the
extractor, its weights or any setting lands in another folder, so a cache entry is never stale; the
content hash is the sha256 of the input (a clip file, or a split's ground truth for whole-split
tensors). Writes are atomic (temporary file + rename); reads use ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import torch

from v2abench import paths
from v2abench.atomic import atomic_path, write_json
from v2abench.config import config_hash

log = logging.getLogger(__name__)


class FeatureCache:
    def __init__(self, extractor: str, weights_sha256: str | None, settings: dict[str, Any], root: Path | None = None) -> None:
        self.extractor = extractor
        self.weights_sha256 = weights_sha256
        self.settings = settings
        base = (root or paths.cache_dir()) / "feat"
        self.dir = base / f"{extractor}@{(weights_sha256 or 'none')[:8]}" / config_hash(settings)

    def path(self, content_sha256: str) -> Path:
        return self.dir / f"{content_sha256}.pt"

    def get(self, content_sha256: str) -> Any | None:
        path = self.path(content_sha256)
        if not path.is_file():
            return None
        try:
            return torch.load(path, weights_only=True)
        except Exception as err:  # a torn or foreign file: recompute rather than trust it
            log.warning("ignoring unreadable cache entry %s (%s)", path, err)
            return None

    def put(self, content_sha256: str, value: Any) -> Path:
        path = self.path(content_sha256)
        if not (self.dir / "settings.json").is_file():
            write_json(self.dir / "settings.json", {"extractor": self.extractor, "weights_sha256": self.weights_sha256, "settings": self.settings})
        with atomic_path(path) as tmp:
            torch.save(value, tmp)
        return path

    def get_or_compute(self, content_sha256: str, compute: Callable[[], Any]) -> Any:
        value = self.get(content_sha256)
        if value is None:
            value = compute()
            self.put(content_sha256, value)
        return value
