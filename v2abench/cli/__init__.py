"""The ``v2abench`` command line (typer). ``v2abench --help`` lists only commands that work."""

from v2abench.cli.app import app, main

__all__ = ["app", "main"]
