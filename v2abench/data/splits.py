"""Split names and the clips they hold.

A split name says where its manifest lives:

- ``synthfoley-<split>`` (default scale) and ``synthfoley-<scale>-<split>`` (``tiny``/``small``):
  ``$V2ABENCH_HOME/data/synthfoley-<scale>/manifest.jsonl``; splits ``train val test probe test-tc
  test-ac test-fe``. Results on a non-default scale never land on a board.
- ``vggsound-<split>``: ``$V2ABENCH_HOME/data/vggsound/manifest.jsonl`` (``train``/``test``).

A split that is not prepared raises :class:`SplitNotPreparedError` naming the command that prepares it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from v2abench import paths
from v2abench.interface import Task

SYNTH_SPLITS = ("train", "val", "test", "probe", "test-tc", "test-ac", "test-fe")
SYNTH_SCALES = ("tiny", "small", "default")
VGGSOUND_SPLITS = ("train", "test")

# The board table (task) a split is evaluated under by default.
SPLIT_TASK = {"test-tc": Task.TC_VTA, "test-ac": Task.AC_VTA, "test-fe": Task.FE}


class SplitNotPreparedError(FileNotFoundError):
    """The split's data is not on this machine; the message names the command that prepares it."""


class UnknownSplitError(ValueError):
    pass


@dataclass(frozen=True)
class SplitSpec:
    name: str  # e.g. "synthfoley-test", "synthfoley-tiny-test", "vggsound-test"
    dataset: str  # "synthfoley" | "vggsound"
    scale: str  # synthfoley scale, "default" for vggsound
    split: str  # split inside the dataset
    root: Path  # the folder holding manifest.jsonl

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.jsonl"

    @property
    def board(self) -> str | None:
        """The board this split feeds, or None (non-default scales never land on a board)."""
        if self.dataset == "synthfoley":
            return "synthfoley" if self.scale == "default" else None
        return "vggsound"

    @property
    def default_task(self) -> Task:
        return SPLIT_TASK.get(self.split, Task.VTA)

    @property
    def prepare_command(self) -> str:
        if self.dataset == "synthfoley":
            scale = "" if self.scale == "default" else f" --scale {self.scale}"
            return f"v2abench data synth{scale}"
        return "v2abench data prepare vggsound --videos DIR --csv vggsound.csv"

    def sibling(self, split: str) -> "SplitSpec":
        """The same dataset and scale, another split (e.g. the train split for retrieval)."""
        return resolve_split(_compose(self.dataset, self.scale, split))

    @property
    def is_prepared(self) -> bool:
        return self.manifest.is_file()


def _compose(dataset: str, scale: str, split: str) -> str:
    return f"{dataset}-{split}" if scale == "default" else f"{dataset}-{scale}-{split}"


def resolve_split(name: str) -> SplitSpec:
    """Parse a split name (no file access)."""
    dataset, _, rest = name.partition("-")
    if dataset == "synthfoley":
        scale = "default"
        for candidate in ("tiny", "small"):
            if rest.startswith(candidate + "-"):
                scale, rest = candidate, rest[len(candidate) + 1 :]
        if rest not in SYNTH_SPLITS:
            raise UnknownSplitError(f"unknown SynthFoley split {name!r}; known: {', '.join(known_splits())}")
        return SplitSpec(name, "synthfoley", scale, rest, paths.data_dir() / f"synthfoley-{scale}")
    if dataset == "vggsound":
        if rest not in VGGSOUND_SPLITS:
            raise UnknownSplitError(f"unknown VGGSound split {name!r}; known: vggsound-train, vggsound-test")
        return SplitSpec(name, "vggsound", "default", rest, paths.data_dir() / "vggsound")
    raise UnknownSplitError(f"unknown split {name!r}; known: {', '.join(known_splits())}")


def known_splits() -> list[str]:
    names = [_compose("synthfoley", scale, s) for scale in ("default", "small", "tiny") for s in SYNTH_SPLITS]
    return names + [f"vggsound-{s}" for s in VGGSOUND_SPLITS]


@dataclass(frozen=True)
class ClipRecord:
    """One clip of a split, with its ground truth (absolute paths)."""

    id: str
    split: str
    video: Path
    duration: float
    labels: tuple[str, ...]
    caption: str | None
    events: tuple[dict[str, Any], ...] | None  # None when onsets are not annotated (VGGSound)
    text: str | None = None
    reference_audio: Path | None = None  # None: the video's own track
    style_audio: Path | None = None
    prefix_seconds: float | None = None
    sha256: str | None = None

    @property
    def onsets(self) -> list[float] | None:
        return None if self.events is None else sorted(float(e["onset"]) for e in self.events)

    @classmethod
    def from_row(cls, row: dict[str, Any], root: Path) -> "ClipRecord":
        def opt_path(key: str) -> Path | None:
            return root / row[key] if row.get(key) else None

        events = row.get("events")
        return cls(
            id=row["id"],
            split=row["split"],
            video=root / row["video"],
            duration=float(row["duration"]),
            labels=tuple(row.get("labels") or ()),
            caption=row.get("caption"),
            events=None if events is None else tuple(events),
            text=row.get("text"),
            reference_audio=opt_path("reference_audio"),
            style_audio=opt_path("style_audio"),
            prefix_seconds=row.get("prefix_seconds"),
            sha256=(row.get("sha256") or {}).get("video"),
        )


def read_manifest(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def ground_truth_sha256(rows: list[dict[str, Any]]) -> str:
    """Hash of the ground truth (rows without file hashes), canonical JSON: what boards key on."""
    stripped = [{k: v for k, v in row.items() if k != "sha256"} for row in rows]
    blob = "\n".join(json.dumps(r, sort_keys=True, separators=(",", ":")) for r in stripped)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass(frozen=True)
class SplitData:
    spec: SplitSpec
    clips: list[ClipRecord]
    ground_truth_sha256: str


def load_split(spec: SplitSpec | str, limit: int | None = None) -> SplitData:
    """The clips of a split (first ``limit`` when given). The hash covers the whole split."""
    if isinstance(spec, str):
        spec = resolve_split(spec)
    if not spec.is_prepared:
        raise SplitNotPreparedError(f"split {spec.name} is not prepared; run: {spec.prepare_command}")
    rows = [r for r in read_manifest(spec.manifest) if r["split"] == spec.split]
    if not rows:
        raise SplitNotPreparedError(f"split {spec.name} has no clips in {spec.manifest}; run: {spec.prepare_command}")
    gt = ground_truth_sha256(rows)
    if limit is not None:
        rows = rows[:limit]
    return SplitData(spec, [ClipRecord.from_row(r, spec.root) for r in rows], gt)
