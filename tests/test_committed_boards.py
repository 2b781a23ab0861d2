"""The committed boards are exactly what their result files produce (`make leaderboards`)."""

from __future__ import annotations

from typer.testing import CliRunner

from v2abench.boards.board import committed_boards
from v2abench.cli import app


def test_committed_boards_rebuild_identically() -> None:
    boards = committed_boards()
    assert any(b.dir_name == "synthfoley-v1" for b in boards)
    result = CliRunner().invoke(app, ["leaderboard", "build", "--check"])
    assert result.exit_code == 0, result.output


def test_committed_synthfoley_board_ranks_ground_truth_above_floors() -> None:
    board = next(b for b in committed_boards() if b.dir_name == "synthfoley-v1")
    rows = {r.model["name"]: r for _, r in board.rows()}
    assert {"ground-truth", "silence", "noise", "retrieval"} <= set(rows)
    acc = {k: r.value("onset_acc") for k, r in rows.items()}
    assert acc["ground-truth"] > acc["silence"] and acc["ground-truth"] > acc["noise"]
    for r in rows.values():
        assert r.split["name"] == "synthfoley-test" and r.split["n_clips"] == 300
