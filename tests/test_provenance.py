"""Provenance: every network a generation used is in the result and keys the generated-audio cache;
the environment names the libraries that shape the numbers; dirty-tree results need --allow-dirty."""

from __future__ import annotations

import json
import shutil
from importlib import metadata
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from v2abench import media, paths
from v2abench.cli import app
from v2abench.evaluation import evaluate_model
from v2abench.metrics.base import MetricResult
from v2abench.metrics.catalog import metric_specs
from v2abench.results import Result, load_result

runner = CliRunner()
SPLIT = "synthfoley-tiny-test"


def _tiny_foleygen_run() -> Path:
    result = runner.invoke(app, ["train", "--model", "foleygen", "--config", "tiny", "--max-steps", "2"])
    assert result.exit_code == 0, result.output
    return Path(result.output.strip().split("run: ")[-1].replace("\n", ""))


def test_a_swapped_codec_never_reuses_audio(tiny_world: Path, tmp_path: Path) -> None:
    """Two foleygen runs with the same LM weights but different codec weights: separate audio caches.

    The second run is the first with only its codec swapped (the tiny random codec's seed), as when a
    shipped codec asset is retrained under an unchanged generator checkpoint.
    """
    run = _tiny_foleygen_run()
    swapped = tmp_path / "swapped-codec"
    shutil.copytree(run, swapped)
    meta = json.loads((swapped / "meta.json").read_text())
    assert meta["config"]["codec"] == {"random": "tiny", "seed": 0}
    meta["config"]["codec"]["seed"] = 1
    (swapped / "meta.json").write_text(json.dumps(meta))

    results = [evaluate_model("foleygen", SPLIT, ckpt=str(r), limit=1, metrics=["nfe"])[1] for r in (run, swapped)]
    a, b = (r.model for r in results)
    assert a["checkpoint_sha256"] == b["checkpoint_sha256"]  # the generator's own weights are the same file
    assert a["networks"]["checkpoint"] == a["checkpoint_sha256"] and a["networks"]["codec"] != b["networks"]["codec"]
    assert a["networks"].keys() == b["networks"].keys() >= {"checkpoint", "codec", "visual"}
    assert a["config_hash"] != b["config_hash"]
    folders = [paths.cache_dir() / "gen" / f"foleygen@{m['checkpoint_sha256'][:8]}" / m["config_hash"] for m in (a, b)]
    clip = "synthfoley-test-00000"
    audio = [media.read_audio(f / f"{clip}.flac")[0] for f in folders]
    assert not torch.equal(audio[0], audio[1])  # the swapped codec decoded its own audio


def test_result_records_networks_and_library_versions(tiny_world: Path) -> None:
    path, result = evaluate_model("ground-truth-synth-rvq", SPLIT, limit=2, metrics=["onset_acc"])
    doc = json.loads(path.read_text())
    from v2abench.weights import SHIPPED_ASSETS

    codec_sha = SHIPPED_ASSETS["synth-rvq-v1"]
    assert doc["model"]["networks"] == {"checkpoint": codec_sha, "codec": codec_sha}
    assert doc["model"]["checkpoint_sha256"] == codec_sha and doc["model"]["paradigm"] == "reference"
    for lib in ("numpy", "scipy", "librosa", "torchaudio"):
        assert doc["environment"][lib] == metadata.version(lib), lib


def _board_result(name: str, acc: float, *, dirty: bool) -> Result:
    """A synthfoley vta result with one board metric (onset_acc = ``acc``), made at a clean or dirty tree."""
    spec = metric_specs()["onset_acc"]
    metric = MetricResult("onset_acc", acc, spec.direction, 300, spec.backbone, spec.weights_sha256, spec.version, interval=(acc, acc))
    return Result(
        board={"name": "synthfoley", "version": 1, "table": "vta"},
        split={"name": "synthfoley-test", "ground_truth_sha256": "a" * 64, "n_clips": 300, "n_clips_total": 300, "duration": 4.0},
        model={"name": name, "version": "1", "paradigm": "baseline", "checkpoint_sha256": None, "networks": {}, "params": 0, "config": {}, "config_hash": "x"},
        metrics={"onset_acc": metric},
        git={"sha": "0" * 40, "dirty": dirty},
    )


def test_leaderboard_add_refuses_a_dirty_tree_result_unless_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_BOARDS", str(tmp_path / "boards"))
    clean = _board_result("silence", 0.0, dirty=False).save(tmp_path / "own")
    dirty = _board_result("noise", 0.1, dirty=True).save(tmp_path / "own")
    refused = runner.invoke(app, ["leaderboard", "add", "synthfoley", str(clean), str(dirty)])
    assert refused.exit_code == 2 and "--allow-dirty" in refused.output and "noise@none.json" in refused.output
    assert not (tmp_path / "boards" / "synthfoley-v1" / "results").exists()  # nothing half-added
    added = runner.invoke(app, ["leaderboard", "add", "synthfoley", str(clean), str(dirty), "--allow-dirty"])
    assert added.exit_code == 0, added.output
    rows = {p.name: load_result(p) for p in (tmp_path / "boards" / "synthfoley-v1" / "results" / "vta").glob("*.json")}
    assert {name: r.dirty for name, r in rows.items()} == {"silence@none.json": False, "noise@none.json": True}
