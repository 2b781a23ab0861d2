"""Finding a backend's newest finished quick run (the default checkpoint of trained generators)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from v2abench import paths
from v2abench.training.runs import latest_run, resolve_checkpoint


def _run(name: str, run_id: str, preset: str, steps: int, max_steps: int, exported: bool = True) -> Path:
    run = paths.runs_dir() / name / run_id
    run.mkdir(parents=True)
    if exported:
        (run / "model.safetensors").write_bytes(b"x")
        (run / "meta.json").write_text(json.dumps({"config": {"preset": preset, "trainer": {"max_steps": max_steps}}, "steps": steps}))
    return run


def test_latest_finished_quick_run_is_chosen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    assert latest_run("lm") is None
    old = _run("lm", "20260101-000000-aaaa", "quick", 100, 100)
    _run("lm", "20260102-000000-bbbb", "quick", 40, 100)  # interrupted: not finished
    _run("lm", "20260103-000000-cccc", "tiny", 5, 5)  # another preset
    _run("lm", "20260104-000000-dddd", "quick", 0, 100, exported=False)  # still training
    assert latest_run("lm") == old
    new = _run("lm", "20260105-000000-eeee", "quick", 100, 100)
    assert latest_run("lm") == new and resolve_checkpoint("lm", None, "train it") == new
    assert resolve_checkpoint("lm", str(old / "model.safetensors"), "train it") == old


def test_missing_runs_name_the_training_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="v2abench train --model lm --config quick"):
        resolve_checkpoint("lm", None, "v2abench train --model lm --config quick")
    with pytest.raises(FileNotFoundError, match="holds no exported"):
        resolve_checkpoint("lm", str(tmp_path), "v2abench train --model lm --config quick")


def test_runs_of_another_budget_or_preset_version_are_not_the_quick_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    preset = {"preset": "quick", "trainer": {"max_steps": 100}, "model": {"dim": 8}}
    good = _run("lm", "20260101-000000-aaaa", "quick", 100, 100)
    meta = json.loads((good / "meta.json").read_text())
    meta["config"] |= {"model": {"dim": 8}, "seed": 3}  # the seed does not matter
    (good / "meta.json").write_text(json.dumps(meta))
    _run("lm", "20260102-000000-bbbb", "quick", 20, 20)  # `--config quick --max-steps 20`: another budget
    assert latest_run("lm", config=preset) == good
    assert latest_run("lm", config=preset | {"model": {"dim": 16}}) is None  # the preset file changed since


def test_registered_backends_match_their_preset_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from v2abench.training.run import load_train_config
    from v2abench.training.runs import current_preset

    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path))
    cfg = load_train_config("foleygen", "quick") | {"seed": 0, "preset": "quick"}
    run = _run("foleygen", "20260101-000000-aaaa", "quick", cfg["trainer"]["max_steps"], cfg["trainer"]["max_steps"])
    (run / "meta.json").write_text(json.dumps({"config": cfg, "steps": cfg["trainer"]["max_steps"]}))
    assert current_preset("foleygen", "quick") is not None and current_preset("no-such-model", "quick") is None
    assert latest_run("foleygen") == run
    cfg["trainer"]["max_steps"] = 5
    (run / "meta.json").write_text(json.dumps({"config": cfg, "steps": 5}))
    assert latest_run("foleygen") is None
