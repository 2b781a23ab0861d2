"""Root of the command line: sub-apps for data and leaderboards, commands for models, generate, eval, run."""

from __future__ import annotations

import logging
import os

import typer
from rich.console import Console
from rich.logging import RichHandler

from v2abench.cli import ablation_cmd, data_cmd, eval_cmd, leaderboard_cmd, metrics_cmd, run_cmd, train_cmd, weights_cmd

console = Console()
app = typer.Typer(add_completion=False, no_args_is_help=True, help="v2abench: a comparative benchmark suite for video-to-audio generation.")
app.add_typer(data_cmd.app, name="data")
app.add_typer(leaderboard_cmd.app, name="leaderboard")
app.add_typer(weights_cmd.app, name="weights")
app.add_typer(ablation_cmd.app, name="ablation")
eval_cmd.register(app)
run_cmd.register(app)
train_cmd.register(app)
metrics_cmd.register(app)


@app.callback()
def _setup(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False, show_time=False)],
        force=True,
    )


def main() -> None:
    app()
