"""Shipped main-row checkpoints of trained generators: resolution order, integrity, `v2abench run` never
training, and regenerating the committed board row from the shipped file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from v2abench import paths
from v2abench.cli import app
from v2abench.interface import Task
from v2abench.training.shipped import load_trained_checkpoint, shipped_checkpoint
from v2abench.weights import SHIPPED_ASSETS, WeightsHashError, shipped_asset_path

BOARD = Path(__file__).resolve().parent.parent / "leaderboards" / "synthfoley-v1"
REPRO_CLIPS = 3
"""First clips of synthfoley-test regenerated (the tiny world's test split is a prefix of the default one)."""
PER_CLIP_METRICS = ("onset_acc", "kl@synthprobe", "ib@synthprobe", "desync@synthprobe", "clap@synthprobe")


def _fake_run(name: str, run_id: str, steps: int = 5) -> Path:
    run = paths.runs_dir() / name / run_id
    run.mkdir(parents=True)
    (run / "model.safetensors").write_bytes(b"x")
    (run / "meta.json").write_text(json.dumps({"name": name, "config": {"preset": "quick", "trainer": {"max_steps": steps}}, "steps": steps}))
    return run


def test_foleygen_ships_a_registered_checkpoint_with_its_card() -> None:
    asset = shipped_checkpoint("foleygen")
    assert asset is not None and asset.startswith("foleygen-quick-v")
    weights = shipped_asset_path(asset)
    record = json.loads(weights.with_suffix(".json").read_text())
    card = weights.with_suffix(".md").read_text()
    assert 1_500_000 <= record["params"] <= 2_500_000  # DESIGN.md: compute-matched main rows
    assert record["meta"]["steps"] == record["meta"]["config"]["trainer"]["max_steps"]
    for needle in ("v2abench train --model foleygen --config quick", f"Steps: {record['meta']['steps']}", "| step | loss |"):
        assert needle in card
    assert shipped_checkpoint("dreamfoley") is None or shipped_checkpoint("dreamfoley").startswith("dreamfoley-quick-v")


def test_shipped_checkpoint_wins_over_local_runs_and_ckpt_wins_over_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    asset = shipped_checkpoint("foleygen")
    run = _fake_run("foleygen", "20990101-000000-aaaa")  # newer than anything shipped, yet not the default
    found = load_trained_checkpoint("foleygen")
    assert found.asset == asset and found.sha256 == SHIPPED_ASSETS[asset]
    assert load_trained_checkpoint("foleygen", str(run)).weights == run / "model.safetensors"
    assert load_trained_checkpoint("foleygen", str(shipped_asset_path(asset))).asset == asset


def test_a_backend_shipping_nothing_falls_back_to_its_run_or_names_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    monkeypatch.setattr("v2abench.training.runs.current_preset", lambda name, preset: None)
    with pytest.raises(FileNotFoundError, match="v2abench train --model nothing-shipped --config quick"):
        load_trained_checkpoint("nothing-shipped")
    run = _fake_run("nothing-shipped", "20260101-000000-aaaa")
    assert load_trained_checkpoint("nothing-shipped").weights == run / "model.safetensors"


def test_a_shipped_file_that_is_not_the_registered_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    asset = shipped_checkpoint("foleygen")
    monkeypatch.setitem(SHIPPED_ASSETS, asset, "0" * 64)
    with pytest.raises(WeightsHashError, match=asset):
        load_trained_checkpoint("foleygen")


def test_run_never_trains_and_names_the_training_command(tiny_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import v2abench.training.shipped as shipped

    monkeypatch.setattr(shipped, "SHIPPED_ASSETS", {k: v for k, v in SHIPPED_ASSETS.items() if not k.startswith("foleygen-")})
    runs = paths.runs_dir() / "foleygen"  # other tests of the session may have trained tiny runs here
    before = set(runs.iterdir()) if runs.is_dir() else set()
    result = CliRunner().invoke(app, ["run", "--scale", "tiny", "--model", "foleygen"])
    assert result.exit_code == 0, result.output
    assert "v2abench train --model foleygen --config quick" in " ".join(result.output.split())
    assert (set(runs.iterdir()) if runs.is_dir() else set()) == before, "v2abench run trained a run"


def _committed_row() -> dict:
    sha = SHIPPED_ASSETS[shipped_checkpoint("foleygen")]
    path = BOARD / "results" / "vta" / f"foleygen@{sha[:8]}.json"
    assert path.is_file(), f"the board has no row from the shipped checkpoint ({path.name})"
    return json.loads(path.read_text())


def test_the_board_shows_the_shipped_rows_budget() -> None:
    row = _committed_row()
    record = json.loads(shipped_asset_path(shipped_checkpoint("foleygen")).with_suffix(".json").read_text())
    minutes = record["timing"]["fit_seconds"] / 60
    budget = f"`foleygen` {record['params'] / 1e6:.2f} M parameters, {record['meta']['steps']} steps, {minutes:.1f} min"
    assert row["training"]["asset"] == shipped_checkpoint("foleygen")
    assert budget in (BOARD / "leaderboard.md").read_text()


def _per_clip(result: dict, metric: str, clip_ids: list[str]) -> dict[str, list[float]]:
    index = [result["clips"].index(c) for c in clip_ids]
    return {term: [values[i] for i in index] for term, values in result["metrics"][metric]["per_clip"].items()}


def _regenerate(seed: int, perturb: float = 0.0) -> dict:
    from v2abench.evaluation import evaluate_model
    from v2abench.models.foleygen import FoleyGen

    generator = FoleyGen()
    if perturb:
        with torch.no_grad():
            generator.module.visual_proj.weight.mul_(1.0 + perturb)
    path, _ = evaluate_model("foleygen", "synthfoley-tiny-test", task=Task.VTA, seed=seed, limit=REPRO_CLIPS,
                             metrics=list(PER_CLIP_METRICS), generator=generator, out_dir=paths.home() / f"repro-{seed}-{perturb}")
    return json.loads(path.read_text())


def _matches(new: dict, committed: dict) -> bool:
    from conftest import close_nested

    clips = new["clips"]
    assert len(clips) == REPRO_CLIPS
    return all(close_nested(_per_clip(new, m, clips), _per_clip(committed, m, clips), tol=1e-4) for m in PER_CLIP_METRICS)


def test_shipped_foleygen_regenerates_the_committed_rows_per_clip_terms(tiny_world: Path, one_thread: object) -> None:
    """Same checkpoint, clips and generation seed as the committed row: identical tokens, so the same
    per-clip onset counts (exactly) and probe scores (to the JSON's 6 significant digits)."""
    committed = _committed_row()
    seed = int(committed["seeds"]["generation"])
    assert _matches(_regenerate(seed), committed)
    assert not _matches(_regenerate(seed + 1), committed)  # the comparison sees other tokens
