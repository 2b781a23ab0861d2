"""``v2abench run``: the main job of ``make run``.

Generate (or reuse) the default SynthFoley world; evaluate every registered generator on every table of
the synthfoley board whose task it declares (baselines: all five; foleygen: vta; dreamfoley: vta and
tc_vta) and show the board: the committed rows beside this run's rows. It never trains: a trained
backend is evaluated from its shipped checkpoint (:mod:`v2abench.training.shipped`), and one that ships
none yet is skipped with a line naming its training command. It writes only to ``$V2ABENCH_HOME``
(never into the committed boards). At a non-default scale only the ``vta`` table's split of that scale
is evaluated.
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
    """Generate SynthFoley, evaluate every registered generator (trained ones from their shipped checkpoints), show the board."""
    from v2abench import paths
    from v2abench.boards.board import open_board
    from v2abench.cli.show import print_board, print_result
    from v2abench.data.synthfoley import generate_world
    from v2abench.evaluation import evaluate_model
    from v2abench.interface import Task
    from v2abench.registry import REGISTRY
    from v2abench.training.shipped import shipped_checkpoint, train_command

    with clear_errors():
        generate_world(paths.data_dir() / f"synthfoley-{scale}", scale=scale, seed=seed)
        if scale == "default":
            tables = {Task(t): spec["split"] for t, spec in open_board("synthfoley").config["tables"].items()}
        else:
            tables = {Task.VTA: f"synthfoley-{scale}-test"}
        for name in models or REGISTRY.names("generator"):
            entry = REGISTRY.get(name, "generator")
            if entry.trainable and shipped_checkpoint(name) is None:
                log.warning("skipping %s: it ships no checkpoint; train one with `%s`, then `v2abench eval --model %s --ckpt RUN_DIR`", name, train_command(name), name)
                continue
            generator = REGISTRY.build(name, "generator")
            for task, split in tables.items():
                if not generator.meta.supports(task):
                    continue
                log.info("evaluating %s on %s (%s)", name, split, task.value)
                path, result = evaluate_model(name, split, task=task, seed=seed, generator=generator)
                print_result(result)
                log.info("result: %s", path)
        if scale == "default":
            print_board(open_board("synthfoley"))
