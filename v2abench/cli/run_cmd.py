"""``v2abench run``: the main job of ``make run``.

Generate (or reuse) the default SynthFoley world, evaluate every registered generator on
``synthfoley-test`` and show the synthfoley board: the committed rows beside this run's rows. It
writes only to ``$V2ABENCH_HOME`` (never into the committed boards).
"""

from __future__ import annotations

import logging

import typer

from v2abench.cli.errors import clear_errors

log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def run(
    scale: str = typer.Option("default", help="SynthFoley scale (non-default scales never land on a board)"),
    seed: int = typer.Option(0, help="world and generation seed"),
    models: list[str] = typer.Option(None, "--model", help="generators to evaluate (default: all registered)"),
) -> None:
    """Generate SynthFoley, evaluate every registered generator on its test split, show the board."""
    from v2abench import paths
    from v2abench.boards.board import open_board
    from v2abench.cli.show import print_board, print_result
    from v2abench.data.synthfoley import generate_world
    from v2abench.evaluation import evaluate_model
    from v2abench.registry import REGISTRY

    with clear_errors():
        generate_world(paths.data_dir() / f"synthfoley-{scale}", scale=scale, seed=seed)
        split = "synthfoley-test" if scale == "default" else f"synthfoley-{scale}-test"
        for name in models or REGISTRY.names("generator"):
            log.info("evaluating %s on %s", name, split)
            try:
                path, result = evaluate_model(name, split, seed=seed)
            except FileNotFoundError as err:  # a trainable backend without a checkpoint yet
                log.warning("skipping %s: %s", name, err)
                continue
            print_result(result)
            log.info("result: %s", path)
        if scale == "default":
            print_board(open_board("synthfoley"))
