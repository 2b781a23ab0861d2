"""``v2abench run``: the main job of ``make run``.

Generate (or reuse) the default SynthFoley world; for every registered generator, train its ``quick``
preset first when it is trainable and has no finished quick run yet (``foleygen``, ``dreamfoley``:
a fixed step budget of a few minutes each on 2 CPU cores), then evaluate it on every table of the
synthfoley board whose task it declares (baselines: all five; foleygen: vta; dreamfoley: vta and
tc_vta) and show the board: the committed rows beside this run's rows. It writes only to
``$V2ABENCH_HOME`` (never into the committed boards). At a non-default scale only the ``vta`` table's
split of that scale is evaluated and nothing is trained.
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
    train: bool = typer.Option(True, help="train the quick preset of trainable generators that have no finished run"),
) -> None:
    """Generate SynthFoley, train what needs training, evaluate every registered generator, show the board."""
    from v2abench import paths
    from v2abench.boards.board import open_board
    from v2abench.cli.show import print_board, print_result
    from v2abench.data.synthfoley import generate_world
    from v2abench.evaluation import evaluate_model
    from v2abench.interface import Task
    from v2abench.registry import REGISTRY
    from v2abench.training.runs import latest_run

    with clear_errors():
        generate_world(paths.data_dir() / f"synthfoley-{scale}", scale=scale, seed=seed)
        if scale == "default":
            tables = {Task(t): spec["split"] for t, spec in open_board("synthfoley").config["tables"].items()}
        else:
            tables = {Task.VTA: f"synthfoley-{scale}-test"}
        for name in models or REGISTRY.names("generator"):
            entry = REGISTRY.get(name, "generator")
            if train and scale == "default" and entry.trainable and latest_run(name) is None:
                from v2abench.training.run import train as train_run

                log.info("training %s (quick preset): no finished quick run yet", name)
                train_run(name, "quick", seed=seed)
            try:
                generator = REGISTRY.build(name, "generator")
            except FileNotFoundError as err:  # a trainable backend without a checkpoint yet
                log.warning("skipping %s: %s", name, err)
                continue
            for task, split in tables.items():
                if not generator.meta.supports(task):
                    continue
                log.info("evaluating %s on %s (%s)", name, split, task.value)
                path, result = evaluate_model(name, split, task=task, seed=seed, generator=generator)
                print_result(result)
                log.info("result: %s", path)
        if scale == "default":
            print_board(open_board("synthfoley"))
