"""Building the VGGSound manifest from a local folder of clips and the official CSV.

Clips are named like the public release: ``<youtube_id>_<start_seconds:06d>.mp4``. The CSV has rows
``youtube_id,start_seconds,label,split`` (no header in the official file; a header row is skipped).
Each listed clip is probed once; a clip that is missing, unreadable, shorter than the protocol
duration or without an audio stream is listed in ``report.jsonl`` (and ``report.csv``) with the
reason, and never stops the run. The manifest rows use the same schema as SynthFoley's, with
``events: null`` (onsets are detected on the reference audio) and the label as caption.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from rich.progress import track

from v2abench import media
from v2abench.atomic import atomic_path, write_text

log = logging.getLogger(__name__)
MIN_DURATION = 8.0


@dataclass(frozen=True)
class CsvRow:
    youtube_id: str
    start: int
    label: str
    split: str

    @property
    def clip_id(self) -> str:
        return f"{self.youtube_id}_{self.start:06d}"


def read_vggsound_csv(path: Path) -> list[CsvRow]:
    rows = []
    with open(path, newline="", encoding="utf-8") as fh:
        for i, fields in enumerate(csv.reader(fh)):
            if len(fields) < 4:
                if any(f.strip() for f in fields):
                    log.warning("%s:%d: expected youtube_id,start_seconds,label,split; skipped", path, i + 1)
                continue
            yid, start, label, split = (f.strip() for f in fields[:4])
            if not start.lstrip("-").isdigit():
                continue  # a header row
            rows.append(CsvRow(yid, int(start), label, split))
    return rows


def prepare_vggsound(videos: Path, csv_path: Path, out: Path, *, min_duration: float = MIN_DURATION) -> tuple[int, list[dict]]:
    """Write ``out/manifest.jsonl`` and ``out/report.{jsonl,csv}``. Returns (clips kept, problems)."""
    videos, out = Path(videos).resolve(), Path(out)
    manifest, problems = [], []
    rows = read_vggsound_csv(csv_path)
    for row in track(rows, description="vggsound: probing clips"):
        path = videos / f"{row.clip_id}.mp4"
        reason = None
        info = None
        if not path.is_file():
            reason = "missing"
        else:
            try:
                info = media.probe(path)
            except media.MediaError as err:
                reason = f"unreadable: {err.reason}"
        if info is not None and reason is None:
            if not info.has_video:
                reason = "no video stream"
            elif not info.has_audio:
                reason = "no audio stream"
            elif info.duration + 1e-3 < min_duration:
                reason = f"too short: {info.duration:.2f} s < {min_duration:.2f} s"
        if reason is not None:
            problems.append({"id": row.clip_id, "split": row.split, "file": str(path), "reason": reason})
            continue
        assert info is not None
        manifest.append(
            {
                "id": row.clip_id,
                "split": row.split,
                "video": str(path),
                "duration": round(min(info.duration, min_duration), 4),
                "labels": [row.label],
                "caption": row.label,
                "events": None,
                "reference_audio": None,
                "text": None,
                "style_audio": None,
                "prefix_seconds": None,
                "sha256": {"video": media.sha256_file(path)},
            }
        )
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "manifest.jsonl") as tmp:
        tmp.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in manifest), encoding="utf-8")
    write_text(out / "report.jsonl", "".join(json.dumps(p, sort_keys=True) + "\n" for p in problems))
    with atomic_path(out / "report.csv") as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=["id", "split", "file", "reason"], lineterminator="\n")
            writer.writeheader()
            writer.writerows(problems)
    return len(manifest), problems
