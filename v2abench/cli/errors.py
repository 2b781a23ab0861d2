"""Turning the suite's expected errors into one clear line and a non-zero exit."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import typer
from rich.console import Console

from v2abench.boards.board import BoardError
from v2abench.data.splits import SplitNotPreparedError, UnknownSplitError
from v2abench.interface import UnsupportedTaskError
from v2abench.media import MediaError
from v2abench.registry import RegistryError
from v2abench.results import ResultSchemaError
from v2abench.weights import WeightsHashError

EXPECTED = (SplitNotPreparedError, UnknownSplitError, UnsupportedTaskError, MediaError, RegistryError, BoardError, ResultSchemaError, WeightsHashError, FileNotFoundError, KeyError, ValueError)
err_console = Console(stderr=True)


@contextmanager
def clear_errors() -> Iterator[None]:
    try:
        yield
    except EXPECTED as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from err
