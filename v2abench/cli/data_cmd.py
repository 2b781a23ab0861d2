"""``v2abench data synth|prepare|list``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from v2abench import paths
from v2abench.cli.errors import clear_errors
from v2abench.data.splits import known_splits, resolve_split

app = typer.Typer(no_args_is_help=True, help="Datasets: generate SynthFoley, prepare VGGSound, list splits.")
console = Console()


@app.command("synth")
def synth(
    scale: str = typer.Option("default", help="tiny | small | default"),
    seed: int = typer.Option(0, help="world seed"),
    workers: int = typer.Option(0, help="processes (0: one per CPU core)"),
) -> None:
    """Write the SynthFoley world (all splits) to $V2ABENCH_HOME/data/synthfoley-<scale>/."""
    from v2abench.data.synthfoley import generate_world

    with clear_errors():
        if scale not in ("tiny", "small", "default"):
            raise ValueError(f"unknown scale {scale!r}; use tiny, small or default")
        manifest = generate_world(paths.data_dir() / f"synthfoley-{scale}", scale=scale, seed=seed, workers=workers or None)
    console.print(f"SynthFoley ({scale}, seed {seed}): {manifest}")


@app.command("prepare")
def prepare(
    dataset: str = typer.Argument(..., help="vggsound"),
    videos: Path = typer.Option(..., "--videos", help="folder of <youtube_id>_<start:06d>.mp4 clips"),
    csv_path: Path = typer.Option(..., "--csv", help="the official vggsound.csv"),
) -> None:
    """Build a dataset manifest from local files (VGGSound)."""
    from v2abench.data.vggsound import prepare_vggsound

    with clear_errors():
        if dataset != "vggsound":
            raise ValueError(f"unknown dataset {dataset!r}; supported: vggsound")
        if not csv_path.is_file():
            raise FileNotFoundError(f"CSV {csv_path} does not exist")
        if not videos.is_dir():
            raise FileNotFoundError(f"video folder {videos} does not exist")
        out = paths.data_dir() / "vggsound"
        kept, problems = prepare_vggsound(videos, csv_path, out)
    console.print(f"VGGSound: {kept} clips in {out / 'manifest.jsonl'}; {len(problems)} problems listed in {out / 'report.csv'}")
    for p in problems[:20]:
        console.print(f"  {p['id']}: {p['reason']}", highlight=False)


@app.command("list")
def list_splits() -> None:
    """Each known split and whether it is present on this machine."""
    from v2abench.data.splits import read_manifest

    table = Table("split", "present", "clips", "prepare with")
    counts: dict[Path, dict[str, int]] = {}
    for name in known_splits():
        spec = resolve_split(name)
        if spec.is_prepared and spec.manifest not in counts:
            tally: dict[str, int] = {}
            for row in read_manifest(spec.manifest):
                tally[row["split"]] = tally.get(row["split"], 0) + 1
            counts[spec.manifest] = tally
        n = counts.get(spec.manifest, {}).get(spec.split, 0)
        table.add_row(name, "yes" if n else "no", str(n) if n else "–", "" if n else spec.prepare_command)
    console.print(table)
