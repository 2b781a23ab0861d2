"""``v2abench leaderboard build|show|add|publish``."""

from __future__ import annotations

import difflib
import tempfile
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from v2abench.cli.errors import clear_errors

app = typer.Typer(no_args_is_help=True, help="Versioned leaderboards: build, show, add rows, publish.")
console = Console()


@app.command("build")
def build(
    board: Optional[str] = typer.Argument(None, help="e.g. synthfoley or synthfoley-v1 (default: every committed board)"),
    check: bool = typer.Option(False, "--check", help="rebuild elsewhere and fail on any difference from what is committed"),
) -> None:
    """Rebuild leaderboard.md/.csv/.html and manifest.json from the result files."""
    from v2abench.boards.board import committed_boards, open_board

    with clear_errors():
        boards = [open_board(board)] if board else committed_boards()
        differences = []
        for b in boards:
            if check:
                with tempfile.TemporaryDirectory() as tmp:
                    files = b.build(out=Path(tmp))
                for name, text in files.items():
                    path = b.root / name
                    old = path.read_text(encoding="utf-8") if path.is_file() else ""
                    if old != text:
                        diff = "".join(list(difflib.unified_diff(old.splitlines(True), text.splitlines(True), str(path), "rebuilt"))[:40])
                        differences.append(f"{path} differs from its rebuild:\n{diff}")
            else:
                b.build()
                console.print(f"built {b.root}")
    if differences:
        for d in differences:
            console.print(d, highlight=False, markup=False)
        raise typer.Exit(code=1)
    if check:
        console.print(f"{len(boards)} boards match their results")


@app.command("show")
def show(board: str = typer.Argument(..., help="e.g. synthfoley")) -> None:
    """The committed rows beside your own rows (marked 'yours')."""
    from v2abench.boards.board import open_board
    from v2abench.cli.show import print_board

    with clear_errors():
        print_board(open_board(board))


@app.command("add")
def add(
    board: str = typer.Argument(...),
    results: list[Path] = typer.Argument(..., help="result JSON files of your runs"),
    allow_dirty: bool = typer.Option(False, "--allow-dirty", help="accept results made from a working tree with uncommitted changes (marked on the board)"),
) -> None:
    """Copy results of your own runs into a committed board (validated against its protocol)."""
    from v2abench.boards.board import open_board

    with clear_errors():
        b = open_board(board)
        written = b.add(results, allow_dirty=allow_dirty)
    for path in written:
        console.print(f"added {path}")


@app.command("publish")
def publish(board: str = typer.Argument(...)) -> None:
    """Freeze a board version: its protocol and its rows never change afterwards."""
    from v2abench.boards.board import open_board

    with clear_errors():
        b = open_board(board)
        b.publish()
    console.print(f"published {b.dir_name}")
