"""`v2abench ablation run` end to end on the tiny world: train, score, claim table, resume, unique rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from v2abench import paths
from v2abench.ablation import load_plan, run_plan
from v2abench.ablation.verdict import pair_verdict
from v2abench.cli import app
from v2abench.results import load_result

runner = CliRunner()


@pytest.fixture
def home(tiny_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_thread: object) -> Path:
    """A fresh V2ABENCH_HOME that sees the session's tiny world (so no other test's run can be reused)."""
    root = tmp_path / "home"
    (root / "data").mkdir(parents=True)
    (root / "data" / tiny_world.name).symlink_to(tiny_world)
    monkeypatch.setenv("V2ABENCH_HOME", str(root))
    return root


def _write_plan(folder: Path, name: str, variants: dict, seeds: list[int], claims: list[str]) -> Path:
    doc = {"title": f"tiny {name}", "model": "foleygen", "preset": "tiny", "split": "synthfoley-tiny-test", "table": "vta",
           "limit": 2, "budget": {"max_steps": 2, "minutes": 0.1}, "seeds": seeds, "variants": variants,
           "metrics": {"onset_acc": "ALI (%)"},
           "paper": {"columns": ["ALI (%)"], "values": {v: {"ALI (%)": 10.0 * (i + 1)} for i, v in enumerate(variants)}},
           "claims": claims}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _runs() -> list[Path]:
    return sorted(p for p in (paths.runs_dir() / "foleygen").iterdir() if p.is_dir())


def test_training_plan_end_to_end_then_resumes_without_training(home: Path, tmp_path: Path) -> None:
    masks = {"all-frame": {"model.visual_mask": "all_frame"}, "causal": {"model.visual_mask": "causal"}}
    path = _write_plan(tmp_path, "tiny-masks", masks, [0, 1], ["all-frame beats causal on onset_acc",
                                                               "causal keeps all-frame on onset_acc within 0.5"])
    plan = load_plan(str(path))
    first = run_plan(plan)
    assert (first.trained, first.evaluated, first.reused) == (4, 4, 0)
    out = paths.results_dir() / "unboarded" / "synthfoley-tiny-test" / "ablations" / "tiny-masks"
    assert first.out == out
    files = sorted(p.relative_to(out).as_posix() for p in out.glob("seed-*/*.json"))
    assert len(files) == 4 and {f.split("/")[1].split("@")[0] for f in files} == {"foleygen-all-frame", "foleygen-causal"}
    assert len(_runs()) == 4  # one checkpoint per variant and training seed
    for (variant, seed), result in first.results.items():
        assert result.model["variant"] == variant and result.seeds["generation"] == seed
        assert result.model["config"]["variant"]["training"]["seed"] == seed and result.training["steps"] == 2
        assert result.split["n_clips"] == 2 and result.metrics["onset_acc"].per_clip
    shas = {(v, s): r.model["checkpoint_sha256"] for (v, s), r in first.results.items()}
    assert len(set(shas.values())) == 4

    table = json.loads((out / "claims.json").read_text())
    assert [c["claim"] for c in table["claims"]] == ["all-frame beats causal on onset_acc", "causal keeps all-frame on onset_acc within 0.5"]
    for claim, margin in zip(table["claims"], (None, 0.5)):  # the verdict written is the rule applied to the intervals written
        pair = claim["pairs"][0]
        intervals = [tuple(d["interval"]) if d["interval"] else None for d in pair["seeds"]]
        assert len(intervals) == 2 and claim["verdict"] == pair_verdict(intervals, "higher", margin).value
    md = (out / "claims.md").read_text()
    assert "| all-frame | 10.0 |" in md and "| causal | 20.0 |" in md  # the paper's numbers beside ours
    assert "all-frame beats causal on onset_acc" in md and table["claims"][0]["verdict"] in md

    mtimes = {f: (out / f).stat().st_mtime_ns for f in files}
    result = runner.invoke(app, ["ablation", "run", str(path)])  # the same plan again, through the CLI
    assert result.exit_code == 0, result.output
    assert "trained 0 checkpoints (resumed 0), scored 0, reused 4" in " ".join(result.output.split())
    assert {f: (out / f).stat().st_mtime_ns for f in files} == mtimes and len(_runs()) == 4

    (out / files[0]).unlink()  # a lost result: scored again from its existing checkpoint, nothing retrained
    third = run_plan(plan)
    assert (third.trained, third.evaluated, third.reused) == (0, 1, 3)
    assert (out / files[0]).is_file() and len(_runs()) == 4


def test_inference_variants_share_one_checkpoint_and_keep_their_own_rows(home: Path, tmp_path: Path) -> None:
    cfg = {"cfg1": {"sampling.cfg_scale": 1.0}, "cfg3": {"sampling.cfg_scale": 3.0}}
    plan = load_plan(str(_write_plan(tmp_path, "tiny-cfg", cfg, [0, 1], ["cfg3 beats cfg1 on onset_acc"])))
    state = run_plan(plan)
    assert plan.inference_only and (state.trained, state.evaluated) == (1, 4) and len(_runs()) == 1
    for seed in (0, 1):
        one, three = state.results[("cfg1", seed)], state.results[("cfg3", seed)]
        assert one.model["checkpoint_sha256"] == three.model["checkpoint_sha256"]  # one checkpoint ...
        assert one.file_name != three.file_name and one.model["config_hash"] != three.model["config_hash"]  # ... two rows
        assert (one.model["config"]["sampling"]["cfg_scale"], three.model["config"]["sampling"]["cfg_scale"]) == (1.0, 3.0)
        assert one.seeds["generation"] == three.seeds["generation"] == seed
    for key, path in state.paths.items():  # every row's file still holds that row (nothing overwritten)
        on_disk = load_result(path)
        assert on_disk.model["variant"] == key[0] and on_disk.seeds["generation"] == key[1]
    assert len({p for p in state.paths.values()}) == 4
