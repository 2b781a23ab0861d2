"""The committed boards: exactly what their result files produce (`make leaderboards`), table by table,
and every number on them within its metric's range.

Every check runs over every (table, row) pair of every committed board; rows are keyed by table and
model together (the same model sits in several tables with different numbers). Each check collects
all its violations, so one failing run lists every row to re-run.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2abench.boards.board import Board, committed_boards
from v2abench.boards.display import display_name, fmt, is_reference
from v2abench.boards.render import table_columns
from v2abench.cli import app
from v2abench.results import Result
from v2abench.boards import significance

BOARDS = committed_boards()
FD_LIKE = ("fd", "fad", "fad_inf")  # Fréchet distances: never below 0, nor their intervals (PROTOCOL.md, Statistics)
TOL = 1e-9


def _ids(board: Board) -> str:
    return board.dir_name


def _rows_by_table(board: Board) -> dict[tuple[str, str], tuple[Path, Result]]:
    return {(r.table, r.model["name"]): (p, r) for p, r in board.rows()}


def _md_sections(md: str) -> dict[str, list[list[str]]]:
    """Table name -> its markdown data rows as cell lists (rank, model, checkpoint, values...)."""
    out: dict[str, list[list[str]]] = {}
    for part in md.split("\n## ")[1:]:
        table = part.split(":", 1)[0]
        rows = []
        for line in part.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("| ") and cells[1] not in ("model", "*reference rows (not ranked)*", "(no rows yet)"):
                rows.append(cells)
        out[table] = rows
    return out


def test_committed_boards_rebuild_identically() -> None:
    assert any(b.dir_name == "synthfoley-v1" for b in BOARDS)
    result = CliRunner().invoke(app, ["leaderboard", "build", "--check"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("board", BOARDS, ids=_ids)
def test_every_table_shows_exactly_its_own_rows_and_numbers(board: Board) -> None:
    protocol = json.loads((board.root / "manifest.json").read_text())["protocol"]
    rows = _rows_by_table(board)
    sections = _md_sections((board.root / "leaderboard.md").read_text())
    problems = []
    for table in protocol["tables"]:
        mids = table_columns(board, protocol, table)
        expected = {display_name(r): r for (t, _), (_, r) in rows.items() if t == table}
        shown = {cells[1].removesuffix(" †"): cells for cells in sections.get(table, [])}
        if set(shown) != set(expected):
            problems.append(f"{table}: markdown rows {sorted(shown)} != result files {sorted(expected)}")
        for name, cells in shown.items():
            result = expected.get(name)
            if result is None:
                continue
            if is_reference(result) and (cells[0] != "–" or any("**" in c for c in cells)):
                problems.append(f"{table}/{name}: a reference row is ranked or bold")
            if len(cells) - 3 != len(mids):
                problems.append(f"{table}/{name}: {len(cells) - 3} value cells, the table has {len(mids)} columns")
                continue
            for mid, cell in zip(mids, cells[3:]):
                if cell.replace("**", "").removeprefix(significance.MARK) != fmt(mid, result.value(mid)):
                    problems.append(f"{table}/{name}/{mid}: markdown {cell!r} != result file {result.value(mid)!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("board", BOARDS, ids=_ids)
def test_csv_holds_every_metric_of_every_row_as_in_its_result_file(board: Board) -> None:
    protocol = json.loads((board.root / "manifest.json").read_text())["protocol"]
    with open(board.root / "leaderboard.csv", newline="", encoding="utf-8") as fh:
        csv_rows = {(r["table"], r["model"], r["metric"]): r for r in csv.DictReader(fh)}
    problems = []
    expected = set()
    for (table, model), (path, result) in _rows_by_table(board).items():
        for mid in protocol["tables"][table]["metrics"]:
            metric = result.metrics.get(mid)
            if metric is None:
                continue
            expected.add((table, model, mid))
            row = csv_rows.get((table, model, mid))
            lo, hi = metric.interval or (None, None)
            got = None if row is None else [row["value"], row["ci_low"], row["ci_high"], row["n"]]
            want = ["" if v is None else str(v) for v in (metric.value, lo, hi, metric.n)]
            if got != want:
                problems.append(f"{path.name} ({table}) {mid}: csv {got} != result file {want}")
    extra = set(csv_rows) - expected
    assert not extra, f"csv rows without a result file: {sorted(extra)[:5]}"
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("board", BOARDS, ids=_ids)
def test_every_committed_number_is_within_its_range(board: Board) -> None:
    """Every row of every table: intervals hold their point, Fréchet distances and their intervals are
    >= 0, and the row scored the table's whole split on the data the board's protocol names."""
    protocol = json.loads((board.root / "manifest.json").read_text())["protocol"]
    problems = []
    for (table, model), (path, result) in _rows_by_table(board).items():
        where = f"{table}/{path.name}"
        tproto = protocol["tables"][table]
        if result.split["name"] != tproto["split"] or result.split["ground_truth_sha256"] != tproto["ground_truth_sha256"]:
            problems.append(f"{where}: data {result.split['name']} {result.split['ground_truth_sha256'][:8]} is not the board's")
        if result.split.get("n_clips") != result.split.get("n_clips_total"):
            problems.append(f"{where}: covers {result.split.get('n_clips')} of {result.split.get('n_clips_total')} clips")
        for mid, metric in result.metrics.items():
            if metric.value is None:
                continue
            if metric.interval is not None:
                lo, hi = metric.interval
                if not lo - TOL <= metric.value <= hi + TOL:
                    problems.append(f"{where} {mid}: {metric.value!r} outside its own interval [{lo!r}, {hi!r}]")
            if mid.split("@")[0] in FD_LIKE:
                if metric.value < 0 or (metric.interval is not None and min(metric.interval) < 0):
                    problems.append(f"{where} {mid}: a Fréchet distance below 0 ({metric.value!r}, interval {metric.interval})")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("board", [b for b in BOARDS if b.name == "synthfoley"], ids=_ids)
def test_every_synthfoley_table_has_ground_truth_above_its_floors(board: Board) -> None:
    protocol = json.loads((board.root / "manifest.json").read_text())["protocol"]
    rows = _rows_by_table(board)
    problems = []
    for table in protocol["tables"]:
        names = {m for t, m in rows if t == table}
        if not names:
            continue
        if "ground-truth" not in names:
            problems.append(f"{table}: no ground-truth reference row")
            continue
        truth = rows[(table, "ground-truth")][1]
        for floor in ("silence", "noise"):
            if floor not in names:
                problems.append(f"{table}: no {floor} row")
                continue
            got, ceiling = rows[(table, floor)][1].value("onset_acc"), truth.value("onset_acc")
            if got is None or ceiling is None or not ceiling > got:
                problems.append(f"{table}: ground-truth onset_acc {ceiling} is not above {floor}'s {got}")
    assert not problems, "\n".join(problems)


def test_piped_board_show_prints_every_row_name_in_full(tmp_path: Path) -> None:
    """`v2abench leaderboard show ... | grep NAME` must find every row: piped output gets no ellipses."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, V2ABENCH_HOME=str(tmp_path), COLUMNS="60", HF_HUB_OFFLINE="1")
    cli = Path(sys.executable).with_name("v2abench")
    out = subprocess.run([str(cli), "leaderboard", "show", "synthfoley"], env=env,
                         capture_output=True, text=True, check=True).stdout
    board = next(b for b in committed_boards() if b.name == "synthfoley")
    names = {display_name(r) for _, r in board.rows()}
    assert "ground-truth@synth-latent" in names
    for name in names:
        assert f" {name} " in out, f"{name} cut in piped output"
    assert "…" not in out
