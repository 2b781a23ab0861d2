"""Results round-trip; boards are pure functions of their results; published versions are frozen."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from v2abench.boards.board import BoardImmutableError, ProtocolMismatchError, open_board
from v2abench.boards.display import number
from v2abench.metrics.base import Direction, MetricResult
from v2abench.metrics.catalog import metric_specs
from v2abench.results import Result, ResultSchemaError, load_result

GT = "a" * 64


def make_result(name: str, acc: float, *, gt: str = GT, n: int = 300, total: int = 300, ckpt: str | None = None,
                table: str = "vta", paradigm: str = "baseline", dirty: bool = False, values: dict[str, float] | None = None) -> Result:
    """A result with ``onset_acc`` = acc (``onset_ap`` = acc / 2, ``sec_per_clip`` = 0.01 unless ``values``
    say otherwise) and any other board metric in ``values``, each with an interval of +-10%."""
    specs = metric_specs()
    metrics = {}
    for mid, value in {"onset_acc": acc, "onset_ap": acc / 2, "sec_per_clip": 0.01, **(values or {})}.items():
        spec = specs[mid]
        metrics[mid] = MetricResult(mid, value, spec.direction, n, spec.backbone, spec.weights_sha256, spec.version,
                                    interval=(value - abs(value) * 0.1, value + abs(value) * 0.1))
    split = {"vta": "synthfoley-test", "tta": "synthfoley-test", "tc_vta": "synthfoley-test-tc"}[table]
    return Result(
        board={"name": "synthfoley", "version": 1, "table": table},
        split={"name": split, "ground_truth_sha256": gt, "n_clips": n, "n_clips_total": total, "duration": 4.0},
        model={"name": name, "version": "1", "paradigm": paradigm, "checkpoint_sha256": ckpt, "params": 0, "config": {}, "config_hash": "x"},
        metrics=metrics,
        seeds={"generation": 0},
        failed={"synthfoley-test-00007": "corrupt"},
        git={"sha": "0" * 40, "dirty": dirty},
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
    assert list(_rows(_section(md, "vta"))) == ["noise", "silence", "ground-truth"]  # reference rows last
    assert "**30.0**" in md and "**95.0**" not in md  # best model onset_acc in bold, shown x100; ground truth never bold
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


# ----- paper-shaped tables (PROTOCOL.md "Board display")

# stored values of a typical vta row; tiny and huge ones must still print without an exponent
VTA_VALUES = {"fd@synthprobe": 7.546, "kad@synthprobe": 2.1e-7, "fad_inf@synthprobe": 4.3e7, "kl@synthprobe": 1.233e-08,
              "is@synthprobe": 5.403, "ib@synthprobe": 0.3166, "clap@synthprobe": 0.8363, "desync@synthprobe": 0.5077,
              "align_acc@synthprobe": 0.9867, "sec_per_clip": 6.293e-06, "nfe": 203.0, "rtf": 1.5e-6}


def _section(md: str, table: str) -> str:
    """The markdown of one table (up to the next heading)."""
    return md.split(f"\n## {table}: ")[1].split("\n## ")[0]


def _rows(section: str) -> dict[str, list[str]]:
    """Display name -> [rank, name, checkpoint, cells...] of each data row of a markdown table."""
    out = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[1] not in ("model", "*reference rows (not ranked)*"):
            out[cells[1].removesuffix(" †")] = cells
    return out


def _header(section: str) -> list[str]:
    line = next(l for l in section.splitlines() if l.startswith("| rank |"))
    return [c.strip() for c in line.strip().strip("|").split("|")][3:]


def _vta_board(tmp_path: Path, *extra: Result):
    board = open_board("synthfoley", root=tmp_path / "boards")
    board.add(_own(tmp_path, make_result("foleygen", 0.321, values=VTA_VALUES, paradigm="autoregressive", ckpt="f" * 64), *extra))
    return board


def test_each_table_shows_its_columns_and_the_csv_keeps_every_metric(tmp_path: Path) -> None:
    board = _vta_board(tmp_path, make_result("noise", 0.014, table="tta", values={"clap@synthprobe": 0.004, "desync@synthprobe": 0.63}))
    md = (board.root / "leaderboard.md").read_text()
    assert _header(_section(md, "vta")) == ["FD ↓", "KL ↓", "IS ↑", "IB ↑", "DeSync ↓", "Align Acc ↑", "Onset Acc ↑", "s/clip ↓"]
    assert _header(_section(md, "tta")) == ["FD ↓", "KL ↓", "IS ↑", "CLAP ↑"]  # no alignment columns for text only
    assert _header(_section(md, "tc_vta")) == ["DeSync ↓", "CLAP ↑", "Onset Acc ↑"]
    assert _header(_section(md, "ac_vta")) == ["Onset AP ↑", "FD ↓", "Resemblyzer ↑", "CLAP-A ↑"]
    assert _header(_section(md, "fe")) == ["CLAP-A ↑", "DeSync ↓", "Onset Acc ↑"]
    cfg = board.config["tables"]
    for table in cfg:
        assert len(_header(_section(md, table))) == len(cfg[table]["columns"])
        assert cfg[table]["primary"] in cfg[table]["columns"]
    assert "[" not in _rows(_section(md, "vta"))["foleygen"][3]  # no interval in a markdown cell
    with open(board.root / "leaderboard.csv", newline="") as fh:
        csv_rows = list(csv.DictReader(fh))
    kept = {(r["table"], r["model"], r["metric"]): r for r in csv_rows}
    for mid, value in {**VTA_VALUES, "onset_acc": 0.321, "onset_ap": 0.1605}.items():  # shown or not, every metric
        row = kept[("vta", "foleygen", mid)]
        assert float(row["value"]) == value  # raw, not x100
        assert float(row["ci_low"]) <= value <= float(row["ci_high"])
    assert ("tta", "noise", "desync@synthprobe") in kept


def test_cells_are_scaled_to_three_significant_digits_without_exponents(tmp_path: Path) -> None:
    board = _vta_board(tmp_path)
    md = (board.root / "leaderboard.md").read_text()
    row = dict(zip(_header(_section(md, "vta")), _rows(_section(md, "vta"))["foleygen"][3:]))
    assert row == {"FD ↓": "7.55", "KL ↓": "<0.001", "IS ↑": "5.40", "IB ↑": "31.7", "DeSync ↓": "0.508",
                   "Align Acc ↑": "98.7", "Onset Acc ↑": "32.1", "s/clip ↓": "<0.001"}
    for text in ((board.root / "leaderboard.md").read_text(), (board.root / "leaderboard.html").read_text()):
        assert not re.search(r"\de[-+]\d", text), re.search(r".{40}\de[-+]\d.{10}", text)
    assert [number(v) for v in (0.0012345, 99.96, 269.1, 12345.6, -0.004591, 0.0, -6.3e-6, 1.0)] == \
        ["0.00123", "100", "269", "12346", "-0.00459", "0", ">-0.001", "1.00"]
    html_doc = (board.root / "leaderboard.html").read_text()
    assert "title='95% CI [6.79, 8.30], n=300'" in html_doc  # FD's interval (+-10%) on hover


def test_reference_rows_sit_below_unranked_and_never_bold(tmp_path: Path) -> None:
    perfect = {**VTA_VALUES, "fd@synthprobe": 0.0, "ib@synthprobe": 0.74, "align_acc@synthprobe": 0.99, "sec_per_clip": 1e-6}
    codec = {**perfect, "fd@synthprobe": 3.0, "ib@synthprobe": 0.70}
    board = _vta_board(tmp_path, make_result("ground-truth", 0.85, values=perfect),
                       make_result("ground-truth-synth-rvq", 0.80, values=codec),
                       make_result("retrieval", 0.54, values={**VTA_VALUES, "fd@synthprobe": 9.0, "ib@synthprobe": 0.47}, ckpt="c" * 64))
    section = _section((board.root / "leaderboard.md").read_text(), "vta")
    rows = _rows(section)
    names = list(rows)
    assert names == ["retrieval", "foleygen", "ground-truth", "ground-truth@synth-rvq"]
    assert section.index("*reference rows (not ranked)*") < section.index("| ground-truth ")
    for ref in ("ground-truth", "ground-truth@synth-rvq"):
        assert rows[ref][0] == "–" and not any("**" in c or c.startswith("≈") for c in rows[ref])
    assert [rows[m][0] for m in ("retrieval", "foleygen")] == ["1", "2"]
    head = _header(section)
    fd, ib = head.index("FD ↓") + 3, head.index("IB ↑") + 3
    assert rows["foleygen"][fd] == "**7.55**" and rows["retrieval"][fd] == "9.00"  # best model row, not ground truth
    assert rows["retrieval"][ib] == "**47.0**"


def test_speed_is_bold_only_among_generators(tmp_path: Path) -> None:
    fast = {"sec_per_clip": 0.0005}
    board = _vta_board(tmp_path, make_result("silence", 0.0, values=fast),
                       make_result("dreamfoley", 0.25, values={**VTA_VALUES, "sec_per_clip": 0.172}, paradigm="autoregressive", ckpt="d" * 64))
    section = _section((board.root / "leaderboard.md").read_text(), "vta")
    rows, col = _rows(section), _header(section).index("s/clip ↓") + 3
    assert rows["silence"][col] == "<0.001"  # fastest, but a baseline generates nothing
    assert rows["dreamfoley"][col] == "0.172"
    assert rows["foleygen"][col] == "**<0.001**"


def test_dirty_rows_are_marked_and_explained(tmp_path: Path) -> None:
    board = _vta_board(tmp_path)
    assert "†" not in (board.root / "leaderboard.md").read_text()
    saved = make_result("noise", 0.014, dirty=True).save(tmp_path / "dirty")
    shutil.copy(saved, board.root / "results" / "vta" / saved.name)  # as `leaderboard add --allow-dirty` copies it
    md = board.build()["leaderboard.md"]
    assert "| noise † |" in md and "| foleygen |" in md
    assert any(line.startswith("- †:") and "uncommitted" in line for line in md.splitlines())
    with open(board.root / "leaderboard.csv", newline="") as fh:
        assert {r["model"]: r["git_dirty"] for r in csv.DictReader(fh)} == {"foleygen": "0", "noise": "1"}


def test_a_column_outside_the_table_metrics_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from v2abench import paths
    from v2abench.boards.board import BoardError

    configs = tmp_path / "configs"
    shutil.copytree(paths.configs_dir(), configs)
    cfg = configs / "benchmarks" / "synthfoley.yaml"
    cfg.write_text(cfg.read_text().replace("columns: [fd@synthprobe, kl@synthprobe, is@synthprobe, clap@synthprobe]",
                                           "columns: [fd@synthprobe, kl@synthprobe, is@synthprobe, clap@synthprobe, clap_audio@laion]"))
    monkeypatch.setattr(paths, "configs_dir", lambda: configs)
    with pytest.raises(BoardError, match="clap_audio@laion"):
        _vta_board(tmp_path)
