"""End to end on the tiny SynthFoley world: real mp4 files, every baseline, resume, corrupt clips,
folder scoring, single-video generation, and the CLI surface."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from v2abench import media
from v2abench.cli import app
from v2abench.evaluation import evaluate_model
from v2abench.results import load_result

runner = CliRunner()
SPLIT = "synthfoley-tiny-test"


def _values(result) -> dict[str, float | None]:
    return {k: v.value for k, v in result.metrics.items() if k not in ("sec_per_clip", "rtf")}


def test_help_lists_working_commands() -> None:
    out = runner.invoke(app, ["--help"]).output
    for cmd in ("data", "models", "generate", "eval", "leaderboard", "run", "weights", "metrics", "train"):
        assert f" {cmd} " in out


def test_models_lists_baselines() -> None:
    out = runner.invoke(app, ["models"]).output
    for name in ("ground-truth", "silence", "noise", "retrieval"):
        assert name in out


def test_synth_cli_reuses_world(tiny_world: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in tiny_world.rglob("*.mp4")}
    result = runner.invoke(app, ["data", "synth", "--scale", "tiny"])
    assert result.exit_code == 0, result.output
    assert {p: p.stat().st_mtime_ns for p in tiny_world.rglob("*.mp4")} == before
    assert "synthfoley-tiny-test" in runner.invoke(app, ["data", "list"]).output


def test_baselines_rank_as_expected(tiny_world: Path) -> None:
    metrics = ["onset_acc", "onset_ap", "onset_count_acc", "sec_per_clip"]
    results = {name: evaluate_model(name, SPLIT, metrics=metrics)[1] for name in ("ground-truth", "silence", "noise", "retrieval")}
    acc = {k: r.value("onset_acc") for k, r in results.items()}
    assert acc["ground-truth"] > 0.8
    assert acc["ground-truth"] > acc["silence"] and acc["ground-truth"] > acc["noise"]
    assert acc["silence"] == 0.0
    gt = results["ground-truth"]
    assert gt.metrics["onset_acc"].n == 12 and gt.split["n_clips"] == 12
    assert gt.board["name"] is None  # tiny splits never land on a board
    assert results["retrieval"].model["checkpoint_sha256"]  # the index it used


def test_resume_gives_identical_numbers(tiny_world: Path) -> None:
    path, first = evaluate_model("noise", SPLIT, metrics=["onset_acc", "onset_ap", "onset_count_acc"])
    from v2abench import paths

    gen = paths.cache_dir() / "gen" / "noise@none" / first.model["config_hash"]  # this run's own audio
    flacs = sorted(gen.glob("*.flac"))
    for f in flacs[: len(flacs) // 2]:  # an interrupted run: half the clips never generated
        f.unlink()
    _, second = evaluate_model("noise", SPLIT, metrics=["onset_acc", "onset_ap", "onset_count_acc"])
    assert _values(second) == _values(first)
    assert second.metrics["onset_acc"].interval == first.metrics["onset_acc"].interval
    assert len(list(gen.glob("*.flac"))) == len(flacs)


def test_corrupt_clip_is_reported_and_run_goes_on(tiny_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    shutil.copytree(tiny_world, home / "data" / "synthfoley-tiny")
    monkeypatch.setenv("V2ABENCH_HOME", str(home))
    victim = home / "data" / "synthfoley-tiny" / "test" / "00003.mp4"
    victim.write_bytes(victim.read_bytes()[:500])
    _, result = evaluate_model("ground-truth", SPLIT, metrics=["onset_acc"])
    assert list(result.failed) == ["synthfoley-test-00003"]
    assert "00003.mp4" in result.failed["synthfoley-test-00003"]
    assert result.metrics["onset_acc"].n == 11
    assert "synthfoley-test-00003" in result.metrics["onset_acc"].dropped


def test_audio_dir_scores_a_folder(tiny_world: Path, tmp_path: Path) -> None:
    from v2abench import paths

    _, gt = evaluate_model("ground-truth", SPLIT, metrics=["onset_acc", "onset_ap", "onset_count_acc"])
    folder = tmp_path / "outputs"
    folder.mkdir()
    cache = paths.cache_dir() / "gen" / "ground-truth@none" / gt.model["config_hash"]  # this run's own audio
    for i, f in enumerate(sorted(cache.glob("*.flac"))):
        if i == 0:
            continue  # one clip missing from the folder
        shutil.copy(f, folder / f.name)
    result = runner.invoke(app, ["eval", "--audio-dir", str(folder), "--split", SPLIT, "--name", "my-model", "--metrics", "onset_acc"])
    assert result.exit_code == 0, result.output
    path = Path(result.output.strip().split("result: ")[-1].replace("\n", ""))
    doc = load_result(path)
    assert doc.source == "audio-dir" and doc.model["name"] == "my-model"
    assert doc.metrics["onset_acc"].n == 11 and len(doc.failed) == 1
    assert doc.metrics["onset_acc"].value == pytest.approx(gt.metrics["onset_acc"].value, abs=0.1)


def test_generate_writes_playable_mp4_and_wav(tiny_world: Path, tmp_path: Path) -> None:
    video = tiny_world / "test" / "00000.mp4"
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["generate", "--model", "noise", "--video", str(video), "--out", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    clip = media.decode_clip(out, sample_rate=16000)
    src = media.decode_clip(video, audio=False)
    assert clip.frames.shape == src.frames.shape and clip.audio is not None
    assert abs(clip.audio.shape[-1] / 16000 - 4.0) < 0.1
    wav = tmp_path / "out.wav"
    assert runner.invoke(app, ["generate", "--model", "ground-truth", "--video", str(video), "--out", str(wav)]).exit_code == 0
    audio, rate = media.read_audio(wav)
    assert rate == 16000 and audio.shape[-1] == 64000
    bad = runner.invoke(app, ["generate", "--model", "silense", "--video", str(video), "--out", str(wav)])
    assert bad.exit_code == 2 and "Did you mean: silence" in bad.output


def test_run_main_job_on_tiny_world(tiny_world: Path) -> None:
    result = runner.invoke(app, ["run", "--scale", "tiny", "--model", "silence", "--model", "ground-truth"])
    assert result.exit_code == 0, result.output
    assert "ground-truth on synthfoley-tiny-test" in result.output
    assert "silence on synthfoley-tiny-test" in result.output


@pytest.mark.parametrize("split,task", [("synthfoley-tiny-test-fe", "fe"), ("synthfoley-tiny-test-tc", "tc_vta"), ("synthfoley-tiny-test-ac", "ac_vta"), ("synthfoley-tiny-test", "tta")])
def test_task_splits_score_their_own_targets(tiny_world: Path, split: str, task: str) -> None:
    from v2abench.interface import Task

    _, gt = evaluate_model("ground-truth", split, task=Task(task), metrics=["onset_acc"])
    _, silent = evaluate_model("silence", split, task=Task(task), metrics=["onset_acc"])
    assert gt.table == task
    # FE scores only the 2.5 s after the prefix, where a ringing sound from the prefix can mask the
    # first onsets for the detector: the ceiling is lower there than on the plain test split
    assert gt.metrics["onset_acc"].value > 0.6 > silent.metrics["onset_acc"].value
    assert not gt.failed


def test_unimplemented_metric_is_recorded_with_its_reason(tiny_world: Path) -> None:
    _, result = evaluate_model("silence", SPLIT, limit=2, metrics=["onset_acc", "align_acc@difffoley"])
    assert result.metrics["onset_acc"].n == 2
    assert "align_acc@difffoley" not in result.metrics
    assert "align_acc@synthprobe" in result.not_computed["align_acc@difffoley"]
    listing = runner.invoke(app, ["metrics"], env={"COLUMNS": "400"})
    assert listing.exit_code == 0 and "align_acc@difffoley" in listing.output and "not implemented" in listing.output
