"""``v2abench weights list|fetch|import|verify``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from v2abench.cli.errors import clear_errors

app = typer.Typer(no_args_is_help=True, help="Pretrained weights: list, fetch (online), import (offline copy), verify.")
console = Console()


@app.command("list")
def list_weights() -> None:
    """Every pretrained file the suite knows, and whether it is present."""
    from v2abench.weights import SHIPPED_ASSETS, WEIGHTS

    table = Table("name", "present", "hash", "licence", "file", "description")
    for spec in WEIGHTS.values():
        table.add_row(spec.name, "yes" if spec.present else "no", spec.expected[:12] or "unpinned", spec.licence, spec.filename, spec.description)
    for name, sha in SHIPPED_ASSETS.items():
        table.add_row(name, "shipped", sha[:12], "MIT (suite-trained)", f"v2abench/assets/{name}.safetensors", "trained by v2abench on SynthFoley")
    console.print(table)


@app.command("fetch")
def fetch(name: str = typer.Argument(...)) -> None:
    """Download NAME (needs network) and check its hash."""
    from v2abench import weights

    with clear_errors():
        try:
            path = weights.fetch(name)
        except ConnectionError as err:
            raise FileNotFoundError(str(err)) from err
    console.print(f"{name}: {path}")


@app.command("import")
def import_(name: str = typer.Argument(...), path: Path = typer.Argument(..., help="a copy obtained elsewhere")) -> None:
    """Copy a file obtained elsewhere into the registry after checking its hash."""
    from v2abench import weights

    with clear_errors():
        dest = weights.import_file(name, path)
    console.print(f"{name}: {dest}")


@app.command("verify")
def verify(names: list[str] = typer.Argument(None, help="default: every present file")) -> None:
    """Check present files against their hashes."""
    from v2abench import weights

    with clear_errors():
        chosen = names or [n for n, s in weights.WEIGHTS.items() if s.present]
        bad = 0
        for name in chosen:
            ok, message = weights.verify(name)
            bad += not ok
            console.print(f"{name}: {message}", highlight=False)
    if bad:
        raise typer.Exit(code=1)
