"""The speed table of a board: measured generation time per clip, by decoding variant.

Speed files live beside the results, ``leaderboards/<board>-v<N>/speed/<model>.json``, and are written
by a benchmark script (``benchmarks/lm_decoding_speed.py --board synthfoley``), never by a test: a
measurement on a named machine, not part of a row's protocol. Each file holds the model, its checkpoint
sha256, the machine and thread count, the clip duration and batch, and one entry per variant
(``kv_cache+batched_cfg`` ...) with ``sec_per_clip`` and ``nfe``. Rendering is a pure function of the
files, so ``leaderboard build --check`` stays byte-stable.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

SPEED_DIR = "speed"
REQUIRED = ("model", "checkpoint_sha256", "machine", "threads", "duration", "batch", "clips", "variants")


def speed_files(board_root: Path) -> list[Path]:
    return sorted((board_root / SPEED_DIR).glob("*.json"))


def load_speed(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    missing = [k for k in REQUIRED if k not in doc]
    if missing:
        raise ValueError(f"{path}: speed file lacks {', '.join(missing)}")
    return doc


def speed_rows(board_root: Path) -> list[dict[str, Any]]:
    """One flat row per (model, variant), in file then variant order."""
    rows = []
    for path in speed_files(board_root):
        doc = load_speed(path)
        fastest = min(v["sec_per_clip"] for v in doc["variants"].values())
        for variant, v in doc["variants"].items():
            rows.append({
                "model": doc["model"], "checkpoint": doc["checkpoint_sha256"][:8], "variant": variant,
                "sec_per_clip": v["sec_per_clip"], "nfe": v["nfe"], "vs_fastest": v["sec_per_clip"] / fastest,
                "machine": f"{doc['machine']}, {doc['threads']} thread(s)", "setting": f"{doc['duration']:g} s clips, batch {doc['batch']}, {doc['clips']} clips",
            })
    return rows


def speed_markdown(board_root: Path) -> list[str]:
    """Markdown lines of the speed section (empty when the board has no speed files)."""
    rows = speed_rows(board_root)
    if not rows:
        return []
    out = ["## speed: generation time per clip by decoding variant", "",
           "Measured by `benchmarks/lm_decoding_speed.py --board` on the machine named; not a ranked metric.", "",
           "| model | checkpoint | variant | sec/clip | nfe | x fastest | machine | setting |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['model']} | `{r['checkpoint']}` | {r['variant']} | {r['sec_per_clip']:.3f} | {r['nfe']} | {r['vs_fastest']:.2f} | {r['machine']} | {r['setting']} |")
    return [*out, ""]


def speed_html(board_root: Path) -> str:
    """The speed section as an HTML table ('' when the board has no speed files)."""
    rows = speed_rows(board_root)
    if not rows:
        return ""
    cols = ("model", "checkpoint", "variant", "sec_per_clip", "nfe", "vs_fastest", "machine", "setting")
    head = "".join(f"<th>{c}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(f'{r[c]:.3f}' if isinstance(r[c], float) else str(r[c]))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<h2>speed: generation time per clip by decoding variant</h2><table border='1' cellpadding='4'><tr>{head}</tr>{body}</table>"
