"""`v2abench train` runs real Lightning steps from the CLI, writes a run folder and resumes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import torch
from typer.testing import CliRunner

from v2abench.cli import app

runner = CliRunner()


def test_train_codec_from_cli_and_resume(tiny_world: Path, session_home: Path) -> None:
    result = runner.invoke(app, ["train", "--model", "synth-rvq", "--config", "tiny", "--max-steps", "3"])
    assert result.exit_code == 0, result.output
    run_dir = Path(result.output.strip().split("run: ")[-1].replace("\n", ""))
    assert run_dir.parent == session_home / "runs" / "synth-rvq"
    for name in ("config.yaml", "metrics.csv", "checkpoints/last.ckpt", "model.safetensors", "meta.json"):
        assert (run_dir / name).is_file(), name
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 3
    again = runner.invoke(app, ["train", "--model", "synth-rvq", "--resume", str(run_dir), "--max-steps", "5"])
    assert again.exit_code == 0, again.output
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)["global_step"] == 5
    timing = json.loads((run_dir / "timing.json").read_text())
    assert timing["fit_steps"] == 5 and timing["parts"] == 2 and timing["fit_seconds"] > 0  # both parts, counted once
    rows = list(csv.DictReader(open(run_dir / "metrics.csv")))
    assert rows and any(r.get("train/loss") for r in rows)
    from v2abench.codecs.synth import load_synth_rvq

    codec = load_synth_rvq(run_dir)
    assert codec.encode(torch.zeros(1, 1, 16000)).shape[1] == codec.num_codebooks


def test_unknown_or_untrainable_entries_are_refused() -> None:
    bad = runner.invoke(app, ["train", "--model", "synth-rvk", "--config", "tiny"])
    assert bad.exit_code == 2 and "Did you mean: synth-rvq" in bad.output
    untrainable = runner.invoke(app, ["train", "--model", "silence", "--config", "tiny"])
    assert untrainable.exit_code == 2 and "not trainable" in untrainable.output
    listing = runner.invoke(app, ["models", "--all"])
    assert "synth-latent" in listing.output and "codec" in listing.output
