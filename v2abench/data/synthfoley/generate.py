"""Writing a SynthFoley world to disk, with reuse of what is already there.

Layout of ``root``::

    world.json                 {"world", "version", "seed", "scale", "splits", "ground_truth_sha256"}
    manifest.jsonl             one row per clip (keys sorted), splits in SPLITS order, then index
    <split>/<index:05d>.mp4    H.264 + AAC (v2abench.media.write_clip)
    <split>/<index:05d>.reference.flac   test-tc / test-ac / test-fe: the task's target track
    <split>/<index:05d>.style.flac       test-ac: the 2 s style reference

Reuse: an existing manifest of the same world version and seed (any scale: clips do not depend on
it) vouches for its rows; a row is kept when every file it names exists with the recorded sha256,
and only the other clips are rendered again. If nothing needs writing, nothing is touched. (The world version names the
generator: a change to what any clip holds must bump ``WORLD_VERSION``, or stale rows are reused.)

``ground_truth_sha256`` hashes the rows without their ``sha256`` field, each serialised as compact
JSON with sorted keys, joined by newlines (as :func:`v2abench.data.splits.ground_truth_sha256`):
it identifies the world's ground truth independently of encoder bits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .spec import (
    FPS,
    SAMPLE_RATE,
    SCALES,
    SPLITS,
    WORLD_NAME,
    WORLD_VERSION,
    check_scale,
    clip_id,
)
from .world import SynthFoleyWorld, render_clip

log = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"
WORLD_JSON = "world.json"
FILE_KEYS = ("video", "reference_audio", "style_audio")
"""Row keys that name files; their sha256 is stored under ``row["sha256"][key]``."""


def manifest_line(row: dict[str, Any]) -> str:
    """One manifest line: the row as JSON with sorted keys."""
    return json.dumps(row, sort_keys=True)


def ground_truth_sha256(rows: Iterable[dict[str, Any]]) -> str:
    """sha256 of the rows without file hashes, canonical JSON, newline-joined (see module doc)."""
    stripped = [{k: v for k, v in row.items() if k != "sha256"} for row in rows]
    blob = "\n".join(json.dumps(r, sort_keys=True, separators=(",", ":")) for r in stripped)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_manifest(root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of ``root/manifest.jsonl`` (``root`` may also be the manifest file itself)."""
    path = Path(root)
    if path.is_dir():
        path = path / MANIFEST
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _write_text_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _write_if_changed(path: Path, text: str) -> bool:
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    _write_text_atomic(path, text)
    return True


def write_clip_files(seed: int, split: str, index: int, root: str | os.PathLike[str]) -> dict[str, Any]:
    """Render clip ``index`` of ``split``, write its files under ``root``; return its full row."""
    from v2abench.media import (  # heavy (torch): import lazily
        sha256_file,
        write_audio,
        write_clip,
    )

    clip = render_clip(seed, split, index)
    base = Path(root)
    (base / split).mkdir(parents=True, exist_ok=True)
    row = dict(clip.row)
    write_clip(base / row["video"], clip.frames, FPS, clip.audio, SAMPLE_RATE)
    hashes = {"video": sha256_file(base / row["video"])}
    for key, audio in clip.extra_audio.items():
        write_audio(base / row[key], audio, SAMPLE_RATE)
        hashes[key] = sha256_file(base / row[key])
    row["sha256"] = hashes
    return row


def _write_task(task: tuple[int, str, int, str]) -> dict[str, Any]:
    return write_clip_files(*task)


def _intact(root: Path, row: dict[str, Any]) -> bool:
    """Every file the row names exists and has the recorded sha256."""
    from v2abench.media import sha256_file

    recorded = row.get("sha256") or {}
    for key in FILE_KEYS:
        rel = row.get(key)
        if rel is None:
            continue
        path = root / rel
        if key not in recorded or not path.is_file() or sha256_file(path) != recorded[key]:
            return False
    return True


def _reusable_rows(root: Path, seed: int) -> dict[str, dict[str, Any]]:
    """Rows of an existing manifest of the same world version and seed, by id ({} if none)."""
    world_path, manifest_path = root / WORLD_JSON, root / MANIFEST
    if not (world_path.is_file() and manifest_path.is_file()):
        return {}
    try:
        meta = json.loads(world_path.read_text(encoding="utf-8"))
        rows = load_manifest(manifest_path)
    except (OSError, ValueError) as e:
        log.warning("SynthFoley: ignoring unreadable %s (%s); regenerating", root, e)
        return {}
    if meta.get("world") != WORLD_NAME or meta.get("version") != WORLD_VERSION or meta.get("seed") != seed:
        log.info("SynthFoley: %s holds another world (%s %s seed %s); regenerating", root,
                 meta.get("world"), meta.get("version"), meta.get("seed"))
        return {}
    return {row["id"]: row for row in rows if "id" in row}


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), disable=not enabled,
    )


def generate_world(
    root: str | os.PathLike[str], *, scale: str = "default", seed: int = 0, workers: int | None = None,
    progress: bool = True,
) -> Path:
    """Write (or complete) the SynthFoley world of ``seed`` at ``scale`` under ``root``.

    Clips whose files are already present with the recorded sha256 are kept; the others are
    rendered in a pool of ``workers`` processes (default ``os.cpu_count()``) with a progress bar.
    ``manifest.jsonl`` and ``world.json`` are written atomically, and only when they change.
    Returns the manifest path. Workers are spawned, so a script calling this with ``workers > 1``
    must do so under ``if __name__ == "__main__":``.
    """
    check_scale(scale)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    world = SynthFoleyWorld(seed=seed, scale=scale)
    wanted = world.clips()
    old = _reusable_rows(root, world.seed)
    rows: dict[str, dict[str, Any]] = {}
    todo: list[tuple[str, int]] = []
    with _progress(progress and bool(old)) as bar:
        check = bar.add_task("SynthFoley: checking files", total=len(wanted))
        for split, index in wanted:
            row = old.get(clip_id(split, index))
            if row is not None and _intact(root, row):
                rows[row["id"]] = row
            else:
                todo.append((split, index))
            bar.advance(check)
    if todo:
        log.info("SynthFoley %s (seed %d, scale %s): rendering %d of %d clips into %s", WORLD_VERSION, world.seed,
                 scale, len(todo), len(wanted), root)
        for row in _render_all(root, world.seed, todo, workers, progress):
            rows[row["id"]] = row
    ordered = [rows[clip_id(split, index)] for split, index in wanted]
    manifest_text = "".join(manifest_line(row) + "\n" for row in ordered)
    meta = {
        "world": WORLD_NAME, "version": WORLD_VERSION, "seed": world.seed, "scale": scale,
        "splits": {split: SCALES[scale][split] for split in SPLITS},
        "ground_truth_sha256": ground_truth_sha256(ordered),
    }
    wrote_manifest = _write_if_changed(root / MANIFEST, manifest_text)
    wrote_meta = _write_if_changed(root / WORLD_JSON, json.dumps(meta, sort_keys=True, indent=2) + "\n")
    if not todo and not wrote_manifest and not wrote_meta:
        log.info("SynthFoley %s (seed %d, scale %s) at %s is complete; nothing to do", WORLD_VERSION, world.seed,
                 scale, root)
    return root / MANIFEST


def _render_all(root: Path, seed: int, todo: list[tuple[str, int]], workers: int | None,
                progress: bool) -> list[dict[str, Any]]:
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    tasks = [(seed, split, index, str(root)) for split, index in todo]
    out: list[dict[str, Any]] = []
    with _progress(progress) as bar:
        job = bar.add_task(f"SynthFoley {WORLD_VERSION}: writing clips", total=len(tasks))
        if workers == 1:
            for task in tasks:
                out.append(_write_task(task))
                bar.advance(job)
        else:
            # spawn: workers never inherit the parent's threads (torch, BLAS) through fork
            with multiprocessing.get_context("spawn").Pool(workers) as pool:
                for row in pool.imap_unordered(_write_task, tasks, chunksize=2):
                    out.append(row)
                    bar.advance(job)
    return out
