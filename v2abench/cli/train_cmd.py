"""``v2abench train``: train any trainable registry entry (generator, codec, encoder, probe)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from v2abench.cli.errors import clear_errors

console = Console()


def register(app: typer.Typer) -> None:
    app.command("train")(train)


def train(
    model: str = typer.Option(..., "--model", help="a trainable registry entry (see `v2abench models --all`)"),
    config: str = typer.Option("quick", "--config", help="tiny | quick | paper | PATH.yaml"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="override the config's step budget"),
    max_minutes: Optional[float] = typer.Option(None, "--max-minutes", help="wall-clock safety cap (interactive use)"),
    devices: int = typer.Option(1, "--devices"),
    seed: int = typer.Option(0, "--seed"),
    resume: Optional[Path] = typer.Option(None, "--resume", help="a run folder to continue from its last checkpoint"),
) -> None:
    """Train a backend with Lightning; writes a run folder under $V2ABENCH_HOME/runs/NAME/."""
    from v2abench.training import train as run_training

    with clear_errors():
        run_dir = run_training(model, config, max_steps=max_steps, max_minutes=max_minutes, devices=devices, seed=seed, resume=resume)
    console.print(f"run: {run_dir}")
