"""VGGSound preparation from a folder of real mp4 clips in the public layout, broken files included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import clicks
from v2abench import media
from v2abench.cli import app

runner = CliRunner()


def _clip(path: Path, seconds: float, audio: bool = True) -> None:
    t = int(seconds * 25)
    frames = np.zeros((t, 64, 64, 3), np.uint8)
    frames[:, :, :, 1] = np.linspace(0, 255, t, dtype=np.uint8)[:, None, None]
    wav = clicks([1.0, 3.0, 5.5], duration=seconds).numpy() if audio else None
    media.write_clip(path, frames, 25.0, wav, 16000 if audio else None)


@pytest.fixture()
def vgg_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path / "home"))
    videos = tmp_path / "videos"
    videos.mkdir()
    _clip(videos / "goodAAAAAAA_000010.mp4", 9.0)
    _clip(videos / "goodBBBBBBB_000030.mp4", 8.5)
    _clip(videos / "shortCCCCCC_000000.mp4", 3.0)
    _clip(videos / "muteDDDDDDD_000005.mp4", 9.0, audio=False)
    (videos / "emptyEEEEEE_000001.mp4").write_bytes(b"")
    _clip(videos / "truncFFFFFF_000002.mp4", 9.0)
    data = (videos / "truncFFFFFF_000002.mp4").read_bytes()
    (videos / "truncFFFFFF_000002.mp4").write_bytes(data[: len(data) // 5])
    (videos / "junkGGGGGGG_000003.mp4").write_bytes(b"not a video at all" * 100)
    csv = tmp_path / "vggsound.csv"
    csv.write_text(
        "goodAAAAAAA,10,dog barking,test\n"
        "goodBBBBBBB,30,hammering,train\n"
        "shortCCCCCC,0,dog barking,test\n"
        "muteDDDDDDD,5,cat purring,test\n"
        "emptyEEEEEE,1,cat purring,test\n"
        "truncFFFFFF,2,car horn,test\n"
        "junkGGGGGGG,3,car horn,test\n"
        "missingHHHH,40,car horn,test\n"
    )
    return videos, csv


def test_unprepared_split_names_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path / "fresh"))
    result = runner.invoke(app, ["eval", "--model", "silence", "--split", "vggsound-test"])
    assert result.exit_code == 2
    assert "v2abench data prepare vggsound" in result.output
    result = runner.invoke(app, ["eval", "--model", "silence", "--split", "synthfoley-test"])
    assert result.exit_code == 2 and "v2abench data synth" in result.output


def test_prepare_reports_broken_clips_and_goes_on(vgg_folder: tuple[Path, Path], tmp_path: Path) -> None:
    videos, csv = vgg_folder
    result = runner.invoke(app, ["data", "prepare", "vggsound", "--videos", str(videos), "--csv", str(csv)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "home" / "data" / "vggsound"
    rows = [json.loads(l) for l in (out / "manifest.jsonl").read_text().splitlines()]
    assert {r["id"]: r["split"] for r in rows} == {"goodAAAAAAA_000010": "test", "goodBBBBBBB_000030": "train"}
    assert rows[0]["labels"] in (["dog barking"], ["hammering"])
    report = {json.loads(l)["id"]: json.loads(l)["reason"] for l in (out / "report.jsonl").read_text().splitlines()}
    assert report["missingHHHH_000040"] == "missing"
    assert report["shortCCCCCC_000000"].startswith("too short")
    assert report["muteDDDDDDD_000005"] == "no audio stream"
    assert report["emptyEEEEEE_000001"].startswith("unreadable")
    assert report["junkGGGGGGG_000003"].startswith("unreadable")
    # a truncated file is either refused or (if its header survived) too short: never accepted whole
    assert "truncFFFFFF_000002" in report
    assert (out / "report.csv").read_text().count("\n") == len(report) + 1

    listing = runner.invoke(app, ["data", "list"])
    assert "vggsound-test" in listing.output

    ev = runner.invoke(app, ["eval", "--model", "ground-truth", "--split", "vggsound-test"])
    assert ev.exit_code == 0, ev.output
    res = next((tmp_path / "home" / "results" / "vggsound-v1" / "vta").glob("ground-truth@*.json"))
    doc = json.loads(res.read_text())
    assert doc["split"]["duration"] == 8.0 and doc["metrics"]["onset_acc"]["value"] == pytest.approx(1.0)


# clips as the real release has them: any frame size (odd ones included), frame rate, sample rate and
# channel layout; (youtube id, start, width, height, fps, sample rate, channels, split)
MIXED = [
    ("qcifAAAAAAA", 10, 176, 144, 30.0, 44_100, 2, "test"),
    ("qvgaBBBBBBB", 20, 320, 240, 25.0, 48_000, 1, "test"),
    ("oddCCCCCCCC", 30, 97, 65, 30_000 / 1001, 16_000, 2, "test"),
    ("brokenDDDDD", 40, 160, 120, 25.0, 44_100, 2, "test"),  # damaged after preparation
    ("trainEEEEEE", 50, 128, 96, 24.0, 22_050, 1, "train"),  # retrieval's index
]


def _mixed_clip(path: Path, width: int, height: int, fps: float, rate: int, channels: int, seconds: float = 8.2) -> None:
    t = int(seconds * fps)
    frames = np.zeros((t, height, width, 3), np.uint8)
    frames[:, :, :, 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, None, :]
    frames[:, :, :, 1] = np.linspace(0, 255, t, dtype=np.uint8)[:, None, None]
    wav = clicks([1.0, 3.0, 5.5], rate=rate, duration=seconds).numpy()
    media.write_clip(path, frames, fps, np.stack([wav, 0.5 * wav]) if channels == 2 else wav, rate)


def test_mixed_real_world_clips_evaluate_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any clip `data prepare` accepts evaluates, whatever its size, frame rate, sample rate or channels.

    Before frames were batched by size, the runner died stacking 176x144 and 320x240 frames.
    """
    from v2abench.evaluation import evaluate_model

    monkeypatch.setenv("V2ABENCH_HOME", str(tmp_path / "home"))
    videos = tmp_path / "videos"
    videos.mkdir()
    for yid, start, w, h, fps, rate, channels, _ in MIXED:
        _mixed_clip(videos / f"{yid}_{start:06d}.mp4", w, h, fps, rate, channels)
    csv = tmp_path / "vggsound.csv"
    csv.write_text("".join(f"{yid},{start},dog barking,{split}\n" for yid, start, *_, split in MIXED))
    prepared = runner.invoke(app, ["data", "prepare", "vggsound", "--videos", str(videos), "--csv", str(csv)])
    assert prepared.exit_code == 0, prepared.output
    assert (tmp_path / "home" / "data" / "vggsound" / "report.jsonl").read_text() == ""  # every clip accepted
    infos = [media.probe(videos / f"{yid}_{start:06d}.mp4") for yid, start, *_ in MIXED]
    assert len({(i.width, i.height) for i in infos}) == len(MIXED)
    assert {i.sample_rate for i in infos} == {44_100, 48_000, 16_000, 22_050} and {i.channels for i in infos} == {1, 2}

    broken = videos / "brokenDDDDD_000040.mp4"
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])
    scored = {"qcifAAAAAAA_000010", "qvgaBBBBBBB_000020", "oddCCCCCCCC_000030"}
    # the probe's video metrics read every clip's frames; retrieval reads the batch's frames itself
    for model, metrics in (("ground-truth", ["onset_acc", "desync@synthprobe", "align_acc@synthprobe"]), ("retrieval", ["onset_acc"])):
        _, result = evaluate_model(model, "vggsound-test", metrics=metrics, batch_size=4)
        assert list(result.failed) == ["brokenDDDDD_000040"] and broken.name in result.failed["brokenDDDDD_000040"]
        for mid in metrics:
            assert result.metrics[mid].n == len(scored), (model, mid)
            assert result.metrics[mid].value is not None and set(result.metrics[mid].dropped) == {"brokenDDDDD_000040"}
        assert result.split["n_clips"] == 4
    assert result.value("onset_acc") == pytest.approx(1.0)  # retrieval's only train clip has the same clicks
