"""Exported artefacts of suite-trained models: one place for locating and hashing their files.

An artefact is a ``.safetensors`` file plus its JSON meta, given either as a run folder
(``model.safetensors`` + ``meta.json``, what ``v2abench train`` exports) or as the weights file with
a ``.json`` of the same stem beside it (how shipped assets sit in ``v2abench/assets``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artefact_files(path: str | Path, what: str) -> tuple[Path, Path]:
    """``(weights, meta)`` of an artefact; ``FileNotFoundError`` naming ``what`` when one is missing."""
    path = Path(path)
    weights = path / "model.safetensors" if path.is_dir() else path
    meta = weights.with_suffix(".json")
    if not meta.is_file():
        meta = weights.parent / "meta.json"
    for f in (weights, meta):
        if not f.is_file():
            raise FileNotFoundError(f"{what} artefact incomplete: {f} is missing")
    return weights, meta
