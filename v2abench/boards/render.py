"""Rendering a board version: markdown, CSV, HTML (with bar plots) and the input manifest.

Pure functions of (config, protocol, rows): no clocks, no machine state, so ``leaderboard build --check``
can demand byte-identical output.

Each table shows its config's ``columns`` (the metrics papers report for the task); every metric of
its ``metrics`` list stays in the CSV with its value and bootstrap interval (PROTOCOL.md "Board
display"). Model rows are ranked by the table's primary metric; reference rows (ground truth and its
codec round trips) follow in their own block, never ranked, bold or compared. Bold marks the best
*model* value of a column, speed columns only among generators (baselines do not generate); the
"≈" marks come from :func:`v2abench.boards.significance.not_significant` over the same rows.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from v2abench.atomic import canonical_json
from v2abench.boards import significance, speed
from v2abench.boards.board import BoardError
from v2abench.boards.display import (ARROW, MISSING, SPEED_IDS, display_name, fmt, is_dirty, is_generator,
                                     is_reference, label, scale)
from v2abench.results import Result

if TYPE_CHECKING:
    from v2abench.boards.board import Board

__all__ = ["ARROW", "fmt", "primary_metric", "table_columns", "table_order", "table_rows", "render_board"]

DIRTY = "†"


def _is_policy() -> str:
    from v2abench.metrics import class_scores

    fallback = (f"IS is the mean over {class_scores.IS_SPLITS} random splits of a table's clips (seed {class_scores.IS_SEED}), "
                "so it depends on the clips per split: compare IS within a table, not across tables of different sizes.")
    return str(getattr(class_scores, "IS_POLICY", fallback))


def _table_config(board: "Board", table: str) -> dict[str, Any]:
    try:
        return dict(board.config["tables"][table])
    except KeyError:  # an older board version whose table the current config no longer has
        return {}


def table_order(board: "Board", protocol: dict[str, Any]) -> list[str]:
    """The protocol's tables in the config's order (vta first), then any the config no longer names."""
    named = [t for t in (board.config.get("tables") or {}) if t in protocol["tables"]]
    return named + sorted(t for t in protocol["tables"] if t not in named)


def primary_metric(board: "Board", protocol: dict[str, Any], table: str) -> str:
    """The metric model rows are ranked by: the config's ``primary``, which must be one of the shown columns."""
    primary = _table_config(board, table).get("primary")
    columns = table_columns(board, protocol, table)
    if board.is_current and primary is not None and primary not in _table_config(board, table).get("columns", columns):
        raise BoardError(f"configs/benchmarks/{board.name}.yaml, table {table}: primary {primary} is not one of its columns")
    return primary if primary in columns else columns[0]


def table_columns(board: "Board", protocol: dict[str, Any], table: str) -> list[str]:
    """The metric ids the table shows: the config's ``columns`` (a subset of its ``metrics``) that the
    protocol holds (an older version's frozen protocol may lack some), else all the protocol's metrics."""
    tcfg = _table_config(board, table)
    metrics = list(protocol["tables"][table]["metrics"])
    columns = tcfg.get("columns")
    if not columns:
        return metrics
    unknown = [m for m in columns if m not in tcfg.get("metrics", [])]
    if unknown and board.is_current:  # an older version renders what its frozen protocol still holds
        raise BoardError(f"configs/benchmarks/{board.name}.yaml, table {table}: columns {', '.join(unknown)} are not among its metrics")
    shown = [m for m in columns if m in metrics]
    return shown or metrics


def _sort_key(result: Result, primary: str, direction: str) -> tuple:
    v = result.value(primary)
    missing = v is None
    return (missing, -(v or 0.0) if direction == "higher" else (v or 0.0), result.model["name"])


def table_rows(protocol: dict[str, Any], table: str, rows: list[tuple[Path, Result]], primary: str) -> list[Result]:
    """The table's model rows ranked by ``primary``, then its reference rows (ground truth first)."""
    direction = protocol["tables"][table]["metrics"][primary]["direction"]
    results = [r for _, r in rows if r.table == table]
    models = sorted((r for r in results if not is_reference(r)), key=lambda r: _sort_key(r, primary, direction))
    references = sorted((r for r in results if is_reference(r)), key=lambda r: (len(r.model["name"]), r.model["name"]))
    return models + references


def _candidates(results: list[Result], metric_id: str) -> list[int]:
    """Positions of the rows a column's best is chosen among: model rows; for speed, generators only."""
    keep = is_generator if metric_id in SPEED_IDS else (lambda r: not is_reference(r))
    return [i for i, r in enumerate(results) if keep(r)]


def column_marks(results: list[Result], metric_id: str, direction: str) -> tuple[set[int], set[int]]:
    """(positions shown bold, positions marked ≈) in ``results`` for one column.

    Bold: the best value among :func:`_candidates`, when at least two of them have a value and they
    differ as shown (a column where every candidate shows the same value, or a single candidate, has
    no best; values shown alike are bold alike). ≈: rows of the
    same candidates that a paired bootstrap cannot tell from the best.
    """
    pos = [i for i in _candidates(results, metric_id) if results[i].value(metric_id) is not None]
    values = [results[i].value(metric_id) for i in pos]
    shown = [fmt(metric_id, v) for v in values]
    if len(set(shown)) < 2:
        return set(), set()
    top = fmt(metric_id, max(values) if direction == "higher" else min(values))  # type: ignore[type-var]
    bold = {i for i, text in zip(pos, shown) if text == top}
    subset = [results[i] for i in pos]
    similar = {pos[j] for j in significance.not_significant(subset, metric_id, direction)}
    return bold, similar - bold


def _interval_text(metric_id: str, result: Result) -> str:
    m = result.metrics.get(metric_id)
    if m is None or m.interval is None:
        return ""
    return f"95% CI [{fmt(metric_id, m.interval[0])}, {fmt(metric_id, m.interval[1])}], n={m.n}"


def _name_cell(result: Result) -> str:
    return display_name(result) + (f" {DIRTY}" if is_dirty(result) else "")


def _cell(text: str, bold: bool, similar: bool) -> str:
    if bold:
        text = f"**{text}**"
    return significance.MARK + text if similar else text


def _header(board: "Board", rows: list[tuple[Path, Result]]) -> list[str]:
    status = "published" if board.published else "draft"
    lines = [
        f"# {board.config.get('title', board.name)} leaderboard — v{board.version} ({status})",
        "",
        "Generated by `v2abench leaderboard build` from the result files in `results/`; do not edit by hand.",
        "",
        "- Each table shows the columns papers report for its task. Every metric of the table, raw, with its bootstrap "
        "95% interval (`ci_low`, `ci_high`) and `n`, is in `leaderboard.csv`; intervals also show on hover in `leaderboard.html`.",
        "- x100: IB-style and CLAP-style scores (cosine similarities in [-1, 1]) and percentages (onset accuracy and AP, "
        "Align Acc) are shown multiplied by 100 (IB 31.7 is a cosine of 0.317). Three significant digits; "
        "nonzero values below 0.001 in magnitude show as <0.001 (>-0.001 when negative).",
        "- ↑ higher is better, ↓ lower is better. Model rows are ranked by the table's primary metric only; **bold** is the best "
        "model row of a column (speed columns: among generators only; the baselines do not generate). "
        "Reference rows (`ground-truth`, and `ground-truth@<codec>`: the ground truth after a round trip through that codec, "
        "the ceiling a model on that codec can reach) follow the ranked rows, never ranked or bold.",
        f"- {significance.EXPLANATION}",
        f"- {_is_policy()}",
        f"- {MISSING}: the metric is not in that row's result file (not computed for it).",
    ]
    if any(is_dirty(r) for _, r in rows):
        lines.append(f"- {DIRTY}: the result was produced from a working tree with uncommitted changes (git dirty).")
    return [*lines, ""]


def _table_intro(board: "Board", table: str, tproto: dict[str, Any], columns: list[str], primary: str) -> list[str]:
    tcfg = _table_config(board, table)
    gt = (tproto.get("ground_truth_sha256") or "unset")[:12]
    title = f" — {tcfg['title']}" if tcfg.get("title") else ""
    lines = [f"## {table}: {tproto['split']}{title}", "",
             f"Data: ground truth sha256 `{gt}`; ranked by {label(primary)}. "
             "Columns: " + ", ".join(f"{label(m)} `{m}`" + (" x100" if scale(m) != 1.0 else "") for m in columns) + "."]
    if tcfg.get("note"):
        lines.append(str(tcfg["note"]).strip())
    return [*lines, ""]


def _markdown_table(columns: list[str], tproto: dict[str, Any], results: list[Result]) -> list[str]:
    heads = [f"{label(m)} {ARROW[tproto['metrics'][m]['direction']]}" for m in columns]
    out = ["| rank | model | checkpoint | " + " | ".join(heads) + " |", "|---:|---|---|" + "---:|" * len(columns)]
    marks = {m: column_marks(results, m, tproto["metrics"][m]["direction"]) for m in columns}
    rank = 0
    for i, r in enumerate(results):
        if is_reference(r) and (i == 0 or not is_reference(results[i - 1])):
            out.append("| | *reference rows (not ranked)* | |" + " |" * len(columns))
        if not is_reference(r):
            rank += 1
        cells = [_cell(fmt(m, r.value(m)), i in marks[m][0], i in marks[m][1]) for m in columns]
        ckpt = (r.model.get("checkpoint_sha256") or "none")[:8]
        out.append(f"| {MISSING if is_reference(r) else rank} | {_name_cell(r)} | `{ckpt}` | " + " | ".join(cells) + " |")
    if not results:
        out.append("| – | (no rows yet) | | " + " | ".join("" for _ in columns) + " |")
    return out


def training_budgets(results: list[Result]) -> str:
    """One sentence giving each trained row's budget (parameters, steps, minutes), or "" when no row was trained."""
    parts = []
    for r in results:
        t = r.training or {}
        if not t.get("steps"):
            continue
        params = r.model.get("params")
        minutes = f", {float(t['fit_seconds']) / 60:.1f} min on {t.get('threads', '?')} threads" if t.get("fit_seconds") else ""
        parts.append(f"`{display_name(r)}` {params / 1e6:.2f} M parameters, {int(t['steps'])} steps{minutes}" if params else f"`{display_name(r)}` {int(t['steps'])} steps{minutes}")
    return ("Training budgets: " + "; ".join(parts) + ".") if parts else ""


def render_markdown(board: "Board", protocol: dict[str, Any], rows: list[tuple[Path, Result]]) -> str:
    out = _header(board, rows)
    for table in table_order(board, protocol):
        tproto = protocol["tables"][table]
        columns = table_columns(board, protocol, table)
        primary = primary_metric(board, protocol, table)
        results = table_rows(protocol, table, rows, primary)
        out += _table_intro(board, table, tproto, columns, primary)
        out += [*_markdown_table(columns, tproto, results), ""]
        budgets = training_budgets(results)
        out += [budgets, ""] if budgets else []
    out += speed.speed_markdown(board.root)
    return "\n".join(out)


def render_csv(protocol: dict[str, Any], rows: list[tuple[Path, Result]]) -> str:
    """Every metric of every table, raw (not scaled), with its interval, n and the row's flags."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["table", "model", "row", "reference", "git_dirty", "checkpoint_sha256", "metric", "value", "ci_low", "ci_high", "n", "direction"])
    for table, tproto in protocol["tables"].items():
        for r in sorted((r for _, r in rows if r.table == table), key=lambda r: r.model["name"]):
            for m in tproto["metrics"]:
                metric = r.metrics.get(m)
                if metric is None:
                    continue
                lo, hi = metric.interval if metric.interval else (None, None)
                writer.writerow([table, r.model["name"], display_name(r), int(is_reference(r)), int(is_dirty(r)),
                                 r.model.get("checkpoint_sha256") or "", m, metric.value, lo, hi, metric.n, metric.direction.value])
    return buf.getvalue()


def _bars(metric_id: str, results: list[Result]) -> str:
    values = [(display_name(r), r.value(metric_id)) for r in results]
    values = [(n, v) for n, v in values if v is not None]
    if not values:
        return ""
    top = max(abs(v) for _, v in values) or 1.0
    h = 18 * len(values) + 24
    title = f"{label(metric_id)} ({metric_id})"
    parts = [f'<svg width="460" height="{h}" role="img" aria-label="{html.escape(title)}">', f'<text x="0" y="14" font-size="12">{html.escape(title)}</text>']
    for i, (name, v) in enumerate(values):
        y = 22 + 18 * i
        w = 240 * abs(v) / top
        parts.append(f'<text x="0" y="{y + 12}" font-size="11">{html.escape(name)}</text>')
        parts.append(f'<rect x="160" y="{y}" width="{w:.1f}" height="14" fill="#4a7bb7"/>')
        parts.append(f'<text x="{164 + w:.1f}" y="{y + 12}" font-size="11">{fmt(metric_id, v)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _html_table(columns: list[str], tproto: dict[str, Any], results: list[Result]) -> list[str]:
    """A table whose cells carry their interval as a hover title."""
    marks = {m: column_marks(results, m, tproto["metrics"][m]["direction"]) for m in columns}
    out = ["<table border='1' cellpadding='4'>",
           "<tr><th>rank</th><th>model</th>" + "".join(f"<th title='{html.escape(m)}'>{html.escape(label(m))} {ARROW[tproto['metrics'][m]['direction']]}</th>" for m in columns) + "</tr>"]
    rank = 0
    for i, r in enumerate(results):
        if is_reference(r) and (i == 0 or not is_reference(results[i - 1])):
            out.append(f"<tr><td></td><td colspan='{len(columns) + 1}'><em>reference rows (not ranked)</em></td></tr>")
        if not is_reference(r):
            rank += 1
        cells = []
        for m in columns:
            text = html.escape(fmt(m, r.value(m)))
            text = f"<b>{text}</b>" if i in marks[m][0] else text
            text = (significance.MARK + text) if i in marks[m][1] else text
            cells.append(f"<td title='{html.escape(_interval_text(m, r))}'>{text}</td>")
        out.append(f"<tr><td>{MISSING if is_reference(r) else rank}</td><td>{html.escape(_name_cell(r))}</td>" + "".join(cells) + "</tr>")
    return [*out, "</table>"]


def render_html(board: "Board", protocol: dict[str, Any], rows: list[tuple[Path, Result]]) -> str:
    body = [f"<h1>{html.escape(str(board.config.get('title', board.name)))} leaderboard v{board.version}</h1>"]
    body += [f"<p>{html.escape(line[2:].replace('**', '').replace('`', ''))}</p>" for line in _header(board, rows) if line.startswith("- ")]
    for table in table_order(board, protocol):
        tproto = protocol["tables"][table]
        columns = table_columns(board, protocol, table)
        primary = primary_metric(board, protocol, table)
        results = table_rows(protocol, table, rows, primary)
        body.append(f"<h2>{html.escape(table)}: {html.escape(tproto['split'])}</h2>")
        body += _html_table(columns, tproto, results)
        body += [f"<p>{html.escape(t.replace('`', ''))}</p>" for t in [training_budgets(results)] if t]
        rest = [m for m in tproto["metrics"] if m not in columns]
        if rest:
            body.append("<details><summary>every other metric of this table</summary>")
            body += _html_table(rest, tproto, results)
            body.append("</details>")
        body += [_bars(m, results) for m in columns]
    body += [t for t in [speed.speed_html(board.root)] if t]
    return "<!doctype html>\n<html><head><meta charset='utf-8'><title>v2abench</title></head><body>\n" + "\n".join(body) + "\n</body></html>\n"


def render_manifest(board: "Board", protocol: dict[str, Any], rows: list[tuple[Path, Result]]) -> str:
    proto_blob = json.dumps(protocol, sort_keys=True, separators=(",", ":")).encode()
    return canonical_json(
        {
            "board": board.name,
            "version": board.version,
            "status": "published" if board.published else "draft",
            "protocol": protocol,
            "protocol_sha256": hashlib.sha256(proto_blob).hexdigest(),
            "inputs": {board.relative(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in board.input_files(rows)},
            **({"speed": {board.relative(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in speed.speed_files(board.root)}}
               if speed.speed_files(board.root) else {}),
        }
    )


def render_board(board: "Board", protocol: dict[str, Any], rows: list[tuple[Path, Result]]) -> dict[str, str]:
    return {
        "leaderboard.md": render_markdown(board, protocol, rows),
        "leaderboard.csv": render_csv(protocol, rows),
        "leaderboard.html": render_html(board, protocol, rows),
        "manifest.json": render_manifest(board, protocol, rows),
    }
