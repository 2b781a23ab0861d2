"""``v2abench models``, ``v2abench generate`` and ``v2abench eval``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from v2abench.cli.errors import clear_errors
from v2abench.interface import Task

console = Console()


def register(app: typer.Typer) -> None:
    app.command("models")(models)
    app.command("generate")(generate)
    app.command("eval")(evaluate)


def models(all_kinds: bool = typer.Option(False, "--all", help="also codecs, encoders and probes")) -> None:
    """Registered generator backends: paradigm, version and supported tasks."""
    from v2abench.registry import REGISTRY

    if all_kinds:
        table = Table("name", "kind", "trainable", "description")
        for entry in REGISTRY.entries():
            table.add_row(entry.name, entry.kind, "yes" if entry.trainable else "no", entry.description)
        console.print(table)
        return
    table = Table("name", "paradigm", "version", "tasks", "description")
    for entry in REGISTRY.entries("generator"):
        cls = entry.load()
        desc = getattr(cls, "DESCRIPTION", None)  # backends that need a checkpoint describe themselves
        if desc is None:
            meta = cls().meta
            desc = {"paradigm": meta.paradigm, "version": meta.version, "tasks": meta.tasks}
        table.add_row(entry.name, desc["paradigm"], desc["version"], ", ".join(t.value for t in desc["tasks"]), entry.description)
    console.print(table)


def generate(
    model: str = typer.Option(..., "--model", help="a registered generator"),
    video: Path = typer.Option(..., "--video", help="input video"),
    out: Path = typer.Option(..., "--out", help="OUT.wav, OUT.flac or OUT.mp4 (muxed into the input video)"),
    ckpt: Optional[str] = typer.Option(None, "--ckpt"),
    text: Optional[str] = typer.Option(None, "--text", help="a text prompt (text-controlled generation)"),
    seed: int = typer.Option(0, "--seed"),
    task: Optional[Task] = typer.Option(None, "--task", help="default: tc_vta when --text is given, else vta"),
    duration: Optional[float] = typer.Option(None, "--duration", help="seconds (default: the video's, capped by the model)"),
    split: str = typer.Option("synthfoley-test", "--split", help="dataset context (e.g. retrieval's train split)"),
) -> None:
    """Generate audio for one video."""
    from v2abench.generate import generate_for_video

    with clear_errors():
        if out.suffix.lower() not in (".wav", ".flac", ".mp4"):
            raise ValueError(f"--out must end in .wav, .flac or .mp4, not {out.suffix!r}")
        task = task or (Task.TC_VTA if text else Task.VTA)
        seconds = generate_for_video(model, video, out, ckpt=ckpt, text=text, seed=seed, task=task, duration=duration, split=split)
    console.print(f"{model}: {out} ({seconds:.2f} s of generation)")


def evaluate(
    model: Optional[str] = typer.Option(None, "--model", help="a registered generator"),
    split: str = typer.Option(..., "--split", help="e.g. synthfoley-test, vggsound-test"),
    ckpt: Optional[str] = typer.Option(None, "--ckpt"),
    limit: Optional[int] = typer.Option(None, "--limit", help="first N clips only (never lands on a board)"),
    metrics: Optional[list[str]] = typer.Option(None, "--metrics", help="metric ids (default: the board table's)"),
    audio_dir: Optional[Path] = typer.Option(None, "--audio-dir", help="score a folder of <clip_id>.wav|flac instead"),
    name: Optional[str] = typer.Option(None, "--name", help="row name for --audio-dir"),
    task: Optional[Task] = typer.Option(None, "--task", help="default: the split's task"),
    seed: int = typer.Option(0, "--seed"),
    batch_size: int = typer.Option(8, "--batch-size"),
    shard: Optional[str] = typer.Option(None, "--shard", help="I/N: score only clips whose position mod N is I and save the metric states"),
    reduce: Optional[int] = typer.Option(None, "--reduce", help="N: merge the states of shards 0..N-1 (same other options) into the result"),
) -> None:
    """Evaluate a generator (or a folder of audio) on a split; writes a result JSON.

    In parallel: run --shard I/N for I = 0..N-1 (any order, on machines sharing the cache), then
    --reduce N with the same other options; the result equals an unsharded run's.
    """
    from v2abench.cli.show import print_result
    from v2abench.evaluation import runner

    with clear_errors():
        if (model is None) == (audio_dir is None):
            raise ValueError("give exactly one of --model or --audio-dir")
        if shard is not None and reduce is not None:
            raise ValueError("give at most one of --shard and --reduce")
        if reduce is not None and reduce < 1:
            raise ValueError("--reduce takes the number of shards (>= 1)")
        part = runner.Shard.parse(shard) if shard is not None else None
        options = {"limit": limit, "metrics": metrics, "task": task, "seed": seed}
        if audio_dir is not None:
            if not name:
                raise ValueError("--audio-dir needs --name (the row's name)")
            if part is not None:
                state = runner.evaluate_audio_dir_shard(audio_dir, split, name, part, **options)
            elif reduce is not None:
                path, result = runner.reduce_audio_dir_shards(audio_dir, split, name, reduce, **options)
            else:
                path, result = runner.evaluate_audio_dir(audio_dir, split, name, **options)
        else:
            assert model is not None
            if part is not None:
                state = runner.evaluate_model_shard(model, split, part, ckpt=ckpt, batch_size=batch_size, **options)
            elif reduce is not None:
                path, result = runner.reduce_model_shards(model, split, reduce, ckpt=ckpt, **options)
            else:
                path, result = runner.evaluate_model(model, split, ckpt=ckpt, batch_size=batch_size, **options)
    if part is not None:
        console.print(f"shard {part.index}/{part.count}: metric states in {state}")
        console.print(f"when all {part.count} shards are done, run the same command with --reduce {part.count} instead of --shard")
        return
    print_result(result)
    console.print(f"result: {path}")
