"""Results round-trip; boards are pure functions of their results; published versions are frozen."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from v2abench.boards.board import BoardImmutableError, ProtocolMismatchError, open_board
from v2abench.metrics.base import Direction, MetricResult
from v2abench.metrics.catalog import metric_specs
from v2abench.results import Result, ResultSchemaError, load_result

GT = "a" * 64


def make_result(name: str, acc: float, *, gt: str = GT, n: int = 300, total: int = 300, ckpt: str | None = None) -> Result:
    metrics = {}
    for mid, value in (("onset_acc", acc), ("onset_ap", acc / 2), ("sec_per_clip", 0.01)):
        spec = metric_specs()[mid]
        metrics[mid] = MetricResult(mid, value, spec.direction, n, interval=(value * 0.9, value * 1.1))
    return Result(
        board={"name": "synthfoley", "version": 1, "table": "vta"},
        split={"name": "synthfoley-test", "ground_truth_sha256": gt, "n_clips": n, "n_clips_total": total, "duration": 4.0},
        model={"name": name, "version": "1", "paradigm": "baseline", "checkpoint_sha256": ckpt, "params": 0, "config": {}, "config_hash": "x"},
        metrics=metrics,
        seeds={"generation": 0},
        failed={"synthfoley-test-00007": "corrupt"},
    )


def test_result_round_trip(tmp_path: Path) -> None:
    r = make_result("silence", 0.25)
    path = r.save(tmp_path)
    assert path == tmp_path / "synthfoley-v1" / "vta" / "silence@none.json"
    back = load_result(path)
    assert back.to_json() == r.to_json()
    assert back.metrics["onset_acc"].direction is Direction.HIGHER
    assert back.metrics["onset_acc"].interval == pytest.approx((0.225, 0.275))


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    doc = make_result("x", 0.1).to_json()
    doc["schema_version"] = 99
    (tmp_path / "r.json").write_text(json.dumps(doc))
    with pytest.raises(ResultSchemaError, match="newer"):
        load_result(tmp_path / "r.json")


def _own(tmp_path: Path, *results: Result) -> list[Path]:
    return [r.save(tmp_path / "own") for r in results]


def test_build_is_pure_and_ranks_by_direction(tmp_path: Path) -> None:
    board = open_board("synthfoley", root=tmp_path / "boards")
    board.add(_own(tmp_path, make_result("silence", 0.0), make_result("ground-truth", 0.95), make_result("noise", 0.3)))
    md = (board.root / "leaderboard.md").read_text()
    vta = md.split("## vta")[1]
    lines = [l for l in vta.splitlines() if l.startswith("| ")][1:]
    assert [l.split("|")[2].strip() for l in lines] == ["ground-truth", "noise", "silence"]
    assert "**95.0**" in md  # best onset_acc in bold, shown x100
    first = {p.name: p.read_bytes() for p in board.root.iterdir() if p.is_file()}
    board.build()
    assert {p.name: p.read_bytes() for p in board.root.iterdir() if p.is_file()} == first
    assert "silence@none.json" in (board.root / "manifest.json").read_text()


def test_board_refuses_foreign_or_partial_results(tmp_path: Path) -> None:
    board = open_board("synthfoley", root=tmp_path / "boards")
    board.add(_own(tmp_path, make_result("silence", 0.0)))
    with pytest.raises(ProtocolMismatchError, match="data"):
        board.add(_own(tmp_path, make_result("noise", 0.3, gt="b" * 64)))
    with pytest.raises(ProtocolMismatchError, match="--limit"):
        board.add(_own(tmp_path, make_result("noise", 0.3, n=10)))
    other = make_result("noise", 0.3)
    other.metrics["onset_acc"].weights_sha256 = "c" * 64
    with pytest.raises(ProtocolMismatchError, match="definition"):
        board.add(_own(tmp_path, other))


def test_published_rows_and_protocol_are_frozen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    board = open_board("synthfoley", root=tmp_path / "boards")
    board.add(_own(tmp_path, make_result("silence", 0.0), make_result("ground-truth", 0.95)))
    board.publish()
    assert board.published
    with pytest.raises(BoardImmutableError):
        board.publish()
    # a new row under the same protocol is welcome
    board.add(_own(tmp_path, make_result("noise", 0.3)))
    # replacing a published row is refused
    with pytest.raises(BoardImmutableError, match="published row"):
        board.add(_own(tmp_path, make_result("silence", 0.5)))
    # editing a published row on disk is refused at build
    row = board.root / "results" / "vta" / "silence@none.json"
    original = row.read_text()
    row.write_text(original.replace('"value": 0.0', '"value": 0.9', 1))
    with pytest.raises(BoardImmutableError, match="changed"):
        board.build()
    row.write_text(original)
    board.build()
    # a protocol change in the config (another metric definition) is refused for the published version
    from v2abench import paths

    configs = tmp_path / "configs"
    shutil.copytree(paths.configs_dir(), configs)
    cfg = configs / "benchmarks" / "synthfoley.yaml"
    cfg.write_text(cfg.read_text().replace("metrics: [onset_acc, onset_ap,", "metrics: [onset_acc,"))
    monkeypatch.setattr(paths, "configs_dir", lambda: configs)
    with pytest.raises(ProtocolMismatchError, match="version: 2"):
        board.build()
    # ...and bumping the version opens v2, leaving v1 readable and unchanged
    cfg.write_text(cfg.read_text().replace("version: 1", "version: 2"))
    v2 = open_board("synthfoley", root=tmp_path / "boards")
    assert v2.dir_name == "synthfoley-v2"
    board.build()  # v1 still builds from its frozen protocol
    assert open_board("synthfoley-v1", root=tmp_path / "boards").published


def test_speed_table_renders_from_speed_files(tmp_path: Path) -> None:
    from v2abench.boards.speed import SPEED_DIR

    board = open_board("synthfoley", root=tmp_path / "boards")
    board.add(_own(tmp_path, make_result("silence", 0.0)))
    assert "## speed" not in (board.root / "leaderboard.md").read_text()
    doc = {"model": "foleygen", "checkpoint_sha256": "b" * 64, "machine": "x86_64 CPU", "threads": 2, "duration": 4.0,
           "batch": 8, "clips": 16, "variants": {"kv_cache+batched_cfg": {"sec_per_clip": 0.5, "nfe": 203},
                                                "no_cache+batched_cfg": {"sec_per_clip": 2.0, "nfe": 203}}}
    (board.root / SPEED_DIR).mkdir()
    (board.root / SPEED_DIR / "foleygen.json").write_text(json.dumps(doc))
    files = board.build()
    section = files["leaderboard.md"].split("## speed")[1]
    assert "| foleygen | `bbbbbbbb` | kv_cache+batched_cfg | 0.500 | 203 | 1.00 |" in section
    assert "| no_cache+batched_cfg | 2.000 | 203 | 4.00 |" in section
    assert "speed/foleygen.json" in json.loads(files["manifest.json"])["speed"]
    assert board.build() == files  # still a pure function of the files
    del doc["variants"]
    (board.root / SPEED_DIR / "foleygen.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="lacks variants"):
        board.build()
