"""SynthFoley world: determinism, prefix property, audible and visible onsets, separable classes,
task splits, reuse, ids. Uses the ``tiny`` scale (86 clips) written once per module."""

from __future__ import annotations

import json
import os
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from v2abench.data.synthfoley import (
    CLASS_NAMES,
    FPS,
    SAMPLE_RATE,
    SPLITS,
    SynthFoleyWorld,
    clip_id,
    generate_world,
    ground_truth_sha256,
    load_manifest,
    split_id,
)
from v2abench.data.synthfoley.captions import MATERIAL_WORDS
from v2abench.data.synthfoley.sound import onset_rise
from v2abench.data.synthfoley.spec import CLASS_BY_NAME, SCALES
from v2abench.media import decode_clip, sha256_file

ROW_KEYS = {
    "id", "split", "index", "video", "duration", "fps", "sample_rate", "labels", "events", "caption", "adverbs",
    "reference_audio", "text", "style_audio", "prefix_seconds", "sha256",
}
MIN_DECODED_RISE = 2.0
"""An onset is audible if :func:`onset_rise` of the AAC-decoded track is at least this (+6 dB)."""
CLASSIFIER_MIN_ACCURACY = 0.85


@pytest.fixture(scope="module")
def world_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synthfoley") / "tiny"
    generate_world(root, scale="tiny", seed=0, workers=2, progress=False)
    return root


@pytest.fixture(scope="module")
def rows(world_root: Path) -> list[dict]:
    return load_manifest(world_root)


@pytest.fixture(scope="module")
def world() -> SynthFoleyWorld:
    return SynthFoleyWorld(seed=0, scale="tiny")


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_schema(world_root: Path, rows: list[dict]) -> None:
    meta = json.loads((world_root / "world.json").read_text())
    assert meta["world"] == "synthfoley" and meta["version"] == "v1" and meta["seed"] == 0
    assert meta["scale"] == "tiny" and meta["splits"] == SCALES["tiny"]
    assert meta["ground_truth_sha256"] == ground_truth_sha256(rows)
    try:  # the project's split loader hashes rows the same way
        from v2abench.data.splits import ground_truth_sha256 as project_hash
    except ImportError:  # pragma: no cover - lead's module not there yet
        project_hash = ground_truth_sha256
    assert project_hash(rows) == meta["ground_truth_sha256"]
    assert len(rows) == sum(SCALES["tiny"].values())
    assert [(r["split"], r["index"]) for r in rows] == [(s, i) for s in SPLITS for i in range(SCALES["tiny"][s])]
    lines = (world_root / "manifest.jsonl").read_text().splitlines()
    assert all(line == json.dumps(json.loads(line), sort_keys=True) for line in lines)
    for row in rows:
        assert set(row) == ROW_KEYS
        assert row["video"] == f"{row['split']}/{row['index']:05d}.mp4" and (world_root / row["video"]).is_file()
        assert (row["duration"], row["fps"], row["sample_rate"]) == (4.0, 25, 16000)
        assert row["labels"] == sorted(row["labels"]) and row["events"]
        assert row["events"] == sorted(row["events"], key=lambda e: (e["onset"], e["object"]))
        assert {e["class"] for e in row["events"]} <= set(row["labels"])
        assert all(set(e) == {"object", "class", "onset", "peak"} and e["onset"] == round(e["onset"], 4)
                   for e in row["events"])
        assert len(row["adverbs"]) == 3 and row["caption"]
    clip = decode_clip(world_root / rows[0]["video"], sample_rate=SAMPLE_RATE)
    assert tuple(clip.frames.shape) == (100, 3, 112, 112) and clip.fps == FPS
    assert tuple(clip.audio.shape) == (1, 64000) and clip.sample_rate == SAMPLE_RATE


def test_determinism(world_root: Path, rows: list[dict], tmp_path: Path) -> None:
    """Regenerating (here with another number of workers) reproduces every byte."""
    again = tmp_path / "again"
    generate_world(again, scale="tiny", seed=0, workers=1, progress=False)
    assert (again / "manifest.jsonl").read_bytes() == (world_root / "manifest.jsonl").read_bytes()
    assert (again / "world.json").read_bytes() == (world_root / "world.json").read_bytes()
    for row in load_manifest(again):
        for key, digest in row["sha256"].items():
            assert sha256_file(again / row[key]) == digest


def test_prefix_property(world: SynthFoleyWorld, rows: list[dict]) -> None:
    """A clip depends on (version, seed, split, index) only: the same at every scale."""
    small, default = SynthFoleyWorld(0, "small"), SynthFoleyWorld(0, "default")
    for split, index in [("train", 0), ("test", 11), ("test-tc", 5), ("test-ac", 2), ("test-fe", 3)]:
        a, b, c = (w.render_clip(split, index) for w in (world, small, default))
        for x in (b, c):
            assert np.array_equal(a.frames, x.frames) and np.array_equal(a.audio, x.audio)
            assert a.row == x.row and a.extra_audio.keys() == x.extra_audio.keys()
            assert all(np.array_equal(a.extra_audio[k], x.extra_audio[k]) for k in a.extra_audio)
    by_id = {r["id"]: r for r in rows}
    for split, index in [("val", 7), ("probe", 3)]:  # the written rows are render_clip's rows
        row = dict(by_id[clip_id(split, index)])
        del row["sha256"]
        assert row == world.render_clip(split, index, video=False).row
    other = SynthFoleyWorld(seed=1, scale="tiny").render_clip("train", 0)
    assert not np.array_equal(other.audio, world.render_clip("train", 0).audio)
    with pytest.raises(IndexError):
        world.render_clip("test", 12)


def test_onset_rise_definition() -> None:
    rng = np.random.default_rng(0)
    click = np.zeros(SAMPLE_RATE)
    click[8000:8100] = rng.standard_normal(100)
    steady = rng.standard_normal(SAMPLE_RATE) * 0.1
    assert onset_rise(click, 0.5) > 100 and 0.7 < onset_rise(steady, 0.5) < 1.5


def test_every_onset_is_audible(world_root: Path, rows: list[dict]) -> None:
    """In the AAC-decoded track, within 10 ms after every onset the energy of some octave band
    holding >= 5 % of the post-onset energy is >= 4x (+6 dB) the energy in the 10 ms before."""
    failures = []
    for row in rows:
        audio = decode_clip(world_root / row["video"], sample_rate=SAMPLE_RATE, video=False).audio[0].numpy()
        for event in row["events"]:
            rise = onset_rise(audio, event["onset"])
            if rise < MIN_DECODED_RISE:
                failures.append((row["id"], event, round(rise, 2)))
    assert not failures, failures[:10]


def _changed_pixels(frames: np.ndarray, a: int, b: int, box: tuple[int, int, int, int]) -> int:
    x0, y0, x1, y1 = box
    diff = np.abs(frames[b, :, y0:y1 + 1, x0:x1 + 1] - frames[a, :, y0:y1 + 1, x0:x1 + 1]).max(axis=0)
    return int((diff > 32).sum())


def test_every_onset_is_visible(world_root: Path, rows: list[dict], world: SynthFoleyWorld) -> None:
    """The event frame k = onset * fps is where the event shows, in the decoded video and in the
    world's state: bounces and drips touch the ground in frame k (and did not in k - 1); a lamp,
    a fan's power light or a mouth turns on in frame k (off in k - 1); a slide starts moving after
    frame k (still from k - 1 to k). In the object's box, >= 3 pixels change by > 32 levels across
    the event (k - 1 -> k; slides k -> k + 1)."""
    failures = []
    for row in rows:
        frames = decode_clip(world_root / row["video"], audio=False).frames.numpy().astype(np.int16)
        scene = world.scene(row["split"], row["index"])
        tracks = world.render_clip(row["split"], row["index"]).tracks
        for event in row["events"]:
            k = round(event["onset"] * FPS)
            assert abs(k / FPS - event["onset"]) < 1e-6, "events lie on the frame grid"
            obj = scene.objects[event["object"]]
            m, action = obj.motion, obj.action
            if action == "bounce":
                ok = m.bottom[k] == obj.ground and m.bottom[k - 1] < obj.ground - 0.5
            elif action == "drip":
                ok = bool(np.any(m.state["drops"][k] == obj.ground)) and m.state["splash"][k] == 0
            elif action == "slide":
                ok = m.x[k - 1] == m.x[k] != m.x[k + 1]
            else:
                key = {"blink": "lit", "spin": "on", "chirp": "open", "croak": "open"}[action]
                ok = m.state[key][k] == 1.0 and m.state[key][k - 1] == 0.0
            a, b = (k, k + 1) if action == "slide" else (k - 1, k)
            boxes = tracks[event["object"]].boxes
            box = (min(boxes[a][0], boxes[b][0]), min(boxes[a][1], boxes[b][1]),
                   max(boxes[a][2], boxes[b][2]), max(boxes[a][3], boxes[b][3]))
            changed = _changed_pixels(frames, a, b, box)
            if not ok or changed < 3:
                failures.append((row["id"], event, ok, changed))
    assert not failures, failures[:10]


def _logmel_features(audio: np.ndarray) -> np.ndarray:
    x = audio / (np.abs(audio).max() + 1e-9)
    mel = librosa.feature.melspectrogram(y=x, sr=SAMPLE_RATE, n_fft=1024, hop_length=256, n_mels=48, fmin=30,
                                         fmax=8000)
    logmel = np.log(mel + 1e-4)
    flux = np.maximum(np.diff(logmel, axis=1), 0.0)
    return np.concatenate([logmel.mean(1), logmel.std(1), logmel.max(1), flux.mean(1)])


def test_classes_are_distinguishable() -> None:
    """Logistic regression on log-mel statistics of probe clips (10 single-source clips per class,
    ambience allowed, rendered in memory): trained on 5 per class, >= 0.85 accuracy on the rest."""
    probe = SynthFoleyWorld(seed=0, scale="default")
    per_class: dict[int, list[np.ndarray]] = {k: [] for k in range(len(CLASS_NAMES))}
    for index in range(probe.splits["probe"]):
        clip = probe.render_clip("probe", index, video=False)
        if len({e["object"] for e in clip.row["events"]}) != 1:
            continue
        label = CLASS_NAMES.index(clip.row["events"][0]["class"])
        if len(per_class[label]) < 10:
            per_class[label].append(_logmel_features(clip.audio))
        if all(len(v) == 10 for v in per_class.values()):
            break
    x_train = np.stack([f for k in per_class for f in per_class[k][:5]])
    y_train = np.repeat(np.arange(len(per_class)), 5)
    x_test = np.stack([f for k in per_class for f in per_class[k][5:]])
    y_test = np.repeat(np.arange(len(per_class)), 5)
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    z_train, z_test = (x_train - mu) / sd, (x_test - mu) / sd
    weights, bias = np.zeros((z_train.shape[1], len(per_class))), np.zeros(len(per_class))
    for _ in range(500):
        logits = z_train @ weights + bias
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(len(y_train)), y_train] -= 1.0
        weights -= 0.1 * (z_train.T @ p / len(y_train) + 1e-2 * weights)
        bias -= 0.1 * p.mean(0)
    accuracy = float(np.mean(np.argmax(z_test @ weights + bias, 1) == y_test))
    assert accuracy >= CLASSIFIER_MIN_ACCURACY, accuracy


def test_task_splits(world_root: Path, rows: list[dict], world: SynthFoleyWorld) -> None:
    for row in rows:
        split = row["split"]
        if split not in ("test-tc", "test-ac", "test-fe"):
            assert row["reference_audio"] is row["text"] is row["style_audio"] is row["prefix_seconds"] is None
            assert set(row["sha256"]) == {"video"}
            continue
        ref, rate = sf.read(world_root / row["reference_audio"], dtype="float32")
        assert rate == SAMPLE_RATE and row["reference_audio"].endswith(".flac")
        assert sha256_file(world_root / row["reference_audio"]) == row["sha256"]["reference_audio"]
        true_audio = world.render_clip(split, row["index"], video=False).audio
        if split == "test-fe":
            assert row["prefix_seconds"] == 1.5 and row["text"] is row["style_audio"] is None
            start = int(1.5 * SAMPLE_RATE)
            assert len(ref) == len(true_audio) - start
            np.testing.assert_allclose(ref, true_audio[start:], atol=1e-4)  # 16-bit lossless
            continue
        # tc / ac: the target follows the seen events (timing from the video) in another material
        assert len(ref) == len(true_audio) and np.abs(ref - true_audio).max() > 0.05
        assert all(onset_rise(ref, e["onset"]) >= MIN_DECODED_RISE for e in row["events"])
        seen = CLASS_BY_NAME[next(e["class"] for e in row["events"] if e["object"] == 0)].material
        assert MATERIAL_WORDS[seen] in row["caption"].split(",")[0]
        scene = world.scene(split, row["index"])
        if split == "test-tc":
            assert row["style_audio"] is row["prefix_seconds"] is None
            named = [m for m, word in MATERIAL_WORDS.items() if f" {word} " in row["text"].split(",")[0]]
            assert named == [scene.alt_material] and scene.alt_material != seen
        else:
            assert row["text"] is row["prefix_seconds"] is None
            style, rate = sf.read(world_root / row["style_audio"], dtype="float32")
            assert rate == SAMPLE_RATE and len(style) == 2 * SAMPLE_RATE and np.abs(style).max() > 0.01
            assert sha256_file(world_root / row["style_audio"]) == row["sha256"]["style_audio"]
            assert scene.style is not None and scene.style.material == scene.alt_material != seen


def test_reuse(world_root: Path, rows: list[dict]) -> None:
    before = _files(world_root)
    generate_world(world_root, scale="tiny", seed=0, workers=1, progress=False)
    assert _files(world_root) == before, "an intact world is left untouched"
    victim = world_root / "test" / "00003.mp4"
    victim.unlink()
    generate_world(world_root, scale="tiny", seed=0, workers=1, progress=False)
    after = _files(world_root)
    assert after.keys() == before.keys()
    changed = {name for name in before if after[name] != before[name]}
    assert changed == {"test/00003.mp4"}
    assert sha256_file(victim) == next(r for r in rows if r["id"] == "synthfoley-test-00003")["sha256"]["video"]


def test_ids_are_stable_and_unique(rows: list[dict]) -> None:
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids)
    assert all(r["id"] == f"synthfoley-{r['split']}-{r['index']:05d}" == clip_id(r["split"], r["index"])
               for r in rows)
    small = SynthFoleyWorld(0, "small")
    assert small.render_clip("test", 4, video=False).row["id"] == "synthfoley-test-00004"
    assert split_id("test") == "synthfoley-test" and split_id("test", "tiny") == "synthfoley-tiny-test"
    assert os.path.basename(rows[0]["video"]) == "00000.mp4"
