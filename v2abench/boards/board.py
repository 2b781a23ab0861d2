"""A board version on disk and the rules that keep it trustworthy.

``leaderboards/<board>-v<N>/``::

    board.json          state: status ("draft" | "published"); once published also the frozen
                        protocol and the sha256 of every published row
    results/<table>/<model>@<ckpt-sha8>.json      the inputs (result files)
    leaderboard.md, leaderboard.csv, leaderboard.html, manifest.json   derived: `leaderboard build`

Rules:

- A draft may be rebuilt freely; its protocol is derived from ``configs/benchmarks/<board>.yaml``
  (metric definitions) and its rows (the split's ground-truth hash).
- ``publish`` freezes the protocol (data, metric definitions, backbones and weights) and the rows.
  Afterwards a published row is never changed (a changed or deleted file is refused on build and
  on add), rows added later must match the frozen protocol, and a config whose protocol differs
  from the frozen one is refused: bumping ``version`` in the config opens ``v<N+1>``.
- Ranking uses each metric's declared direction; raw metrics of different scales are never averaged.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from v2abench import paths, provenance
from v2abench.atomic import canonical_json, write_json
from v2abench.config import benchmark_config
from v2abench.metrics.catalog import metric_specs
from v2abench.results import Result, load_result, sidecar_path, write_result

log = logging.getLogger(__name__)


class BoardError(ValueError):
    pass


class BoardImmutableError(BoardError):
    """Something tried to change a published row."""


class DirtyResultError(BoardError):
    """A result from an uncommitted working tree was added without ``allow_dirty``."""


class ProtocolMismatchError(BoardError):
    """A result or config does not match the board version's (frozen) protocol."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _parse_name(name: str) -> tuple[str, int | None]:
    base, sep, ver = name.rpartition("-v")
    if sep and ver.isdigit():
        return base, int(ver)
    return name, None


@dataclass
class Board:
    name: str
    version: int
    root: Path  # the folder holding this version

    @property
    def dir_name(self) -> str:
        return f"{self.name}-v{self.version}"

    @property
    def config(self) -> dict[str, Any]:
        return benchmark_config(self.name)

    @property
    def is_current(self) -> bool:
        return int(self.config["version"]) == self.version

    # ----- state
    @property
    def state_path(self) -> Path:
        return self.root / "board.json"

    def state(self) -> dict[str, Any]:
        if self.state_path.is_file():
            return json.loads(self.state_path.read_text(encoding="utf-8"))
        return {"board": self.name, "version": self.version, "status": "draft"}

    @property
    def published(self) -> bool:
        return self.state().get("status") == "published"

    # ----- rows
    def result_files(self) -> list[Path]:
        return sorted((self.root / "results").glob("*/*.json"))

    def rows(self) -> list[tuple[Path, Result]]:
        return [(p, load_result(p)) for p in self.result_files()]

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def input_files(self, rows: list[tuple[Path, Result]]) -> list[Path]:
        """The files a build reads: each row's result JSON and the pooled-data sidecar it names."""
        return [f for path, result in rows for f in ([path, sidecar_path(path)] if result.pooled_file else [path])]

    # ----- protocol
    def config_protocol(self, ground_truth: dict[str, str]) -> dict[str, Any]:
        """The protocol the config defines, with the data hash of each table."""
        cfg, specs = self.config, metric_specs()
        tables = {}
        for table, tcfg in sorted((cfg.get("tables") or {}).items()):
            tables[table] = {
                "split": tcfg["split"],
                "ground_truth_sha256": ground_truth.get(table),
                "duration": cfg.get("duration"),
                "metrics": {m: specs[m].protocol() for m in tcfg["metrics"]},
            }
        return {"board": self.name, "version": self.version, "tables": tables}

    def protocol(self) -> dict[str, Any]:
        """The frozen protocol when published, else the one derived from config and rows."""
        state = self.state()
        if state.get("status") == "published":
            return state["protocol"]
        ground_truth: dict[str, str] = {}
        for path, result in self.rows():
            table, gt = result.table, result.split["ground_truth_sha256"]
            if ground_truth.setdefault(table, gt) != gt:
                raise ProtocolMismatchError(f"{self.dir_name}: rows of table {table} come from different data ({gt[:8]} vs {ground_truth[table][:8]}): {path}")
        return self.config_protocol(ground_truth)

    def check_result(self, result: Result, protocol: dict[str, Any] | None = None) -> None:
        """Refuse a result that does not belong to this board version's protocol."""
        protocol = protocol or self.protocol()
        where = f"{result.model['name']} -> {self.dir_name}"
        if result.board.get("name") != self.name:
            raise ProtocolMismatchError(f"{where}: the result is for board {result.board.get('name')!r}")
        table = protocol["tables"].get(result.table)
        if table is None:
            raise ProtocolMismatchError(f"{where}: the board has no table {result.table!r}")
        if result.split["name"] != table["split"]:
            raise ProtocolMismatchError(f"{where}: split {result.split['name']} is not the table's split {table['split']}")
        if result.split.get("n_clips") != result.split.get("n_clips_total"):
            raise ProtocolMismatchError(f"{where}: the result covers {result.split.get('n_clips')} of {result.split.get('n_clips_total')} clips (--limit); boards take whole splits")
        gt = table.get("ground_truth_sha256")
        if gt is not None and result.split["ground_truth_sha256"] != gt:
            raise ProtocolMismatchError(f"{where}: data {result.split['ground_truth_sha256'][:8]} differs from the board's {gt[:8]}")
        for mid, spec in table["metrics"].items():
            got = result.metrics.get(mid)
            if got is not None and (got.backbone, got.weights_sha256, got.direction.value, got.version) != (spec["backbone"], spec["weights_sha256"], spec["direction"], spec["version"]):
                raise ProtocolMismatchError(f"{where}: metric {mid} was computed with a different definition")

    def check_frozen(self) -> None:
        """Published rows must be byte-identical; the config must not change a published protocol."""
        state = self.state()
        if state.get("status") != "published":
            return
        for rel, sha in sorted(state["rows"].items()):
            path = self.root / rel
            if not path.is_file():
                raise BoardImmutableError(f"{self.dir_name}: published row {rel} was deleted")
            if sha256_bytes(path.read_bytes()) != sha:
                raise BoardImmutableError(f"{self.dir_name}: published row {rel} was changed; a published row never changes")
        if self.is_current:
            gts = {t: v["ground_truth_sha256"] for t, v in state["protocol"]["tables"].items()}
            if self.config_protocol(gts) != state["protocol"]:
                raise ProtocolMismatchError(
                    f"the protocol of published {self.dir_name} differs from configs/benchmarks/{self.name}.yaml; "
                    f"a protocol change needs a new version: set version: {self.version + 1} there"
                )

    # ----- operations
    def add(self, result_paths: list[Path], *, allow_dirty: bool = False) -> list[Path]:
        """Copy results of one's own runs into this board version (validated), then rebuild.

        A result made from a working tree with uncommitted changes (``git.dirty``) cannot be
        reproduced from any commit: it is refused unless ``allow_dirty``, and the board marks it.
        """
        self.check_frozen()
        protocol = self.protocol()
        state = self.state()
        results = [(src, load_result(src)) for src in result_paths]
        dirty = [str(src) for src, result in results if result.dirty]
        if dirty and not allow_dirty:
            raise DirtyResultError(f"{', '.join(dirty)}: produced from a working tree with uncommitted changes; "
                                   "re-run from a clean commit, or pass --allow-dirty (the board marks such rows)")
        written = []
        for src, result in results:
            self.check_result(result, protocol)
            dest = self.root / "results" / result.table / result.file_name
            rel = self.relative(dest)
            text = canonical_json(result.to_json())
            if state.get("status") == "published" and rel in state.get("rows", {}):
                if sha256_bytes(text.encode()) != state["rows"][rel]:
                    raise BoardImmutableError(f"{self.dir_name}: {rel} is a published row; it cannot be replaced")
                continue
            write_result(result, dest)  # the JSON and its pooled-data sidecar
            written.append(dest)
            if state.get("status") != "published":
                protocol = self.protocol()  # the first row fixes the data hash of a draft
        self.build()
        return written

    def publish(self) -> None:
        """Freeze this version's protocol and rows."""
        if self.published:
            raise BoardImmutableError(f"{self.dir_name} is already published")
        rows = self.rows()
        if not rows:
            raise BoardError(f"{self.dir_name} has no rows to publish")
        protocol = self.protocol()
        for _, result in rows:
            self.check_result(result, protocol)
        state = {
            "board": self.name,
            "version": self.version,
            "status": "published",
            "published_utc": provenance.utc_now(),
            "protocol": protocol,
            "rows": {self.relative(p): sha256_bytes(p.read_bytes()) for p, _ in rows},
        }
        write_json(self.state_path, state)
        self.build()

    def build(self, out: Path | None = None) -> dict[str, str]:
        """Write the derived files (into ``out`` when given, e.g. for a check). Returns name -> text."""
        from v2abench.boards.render import render_board

        self.check_frozen()
        protocol = self.protocol()
        rows = self.rows()
        for path, result in rows:
            try:
                self.check_result(result, protocol)
            except ProtocolMismatchError as err:
                raise ProtocolMismatchError(f"{path}: {err}") from err
        files = render_board(self, protocol, rows)
        target = out or self.root
        from v2abench.atomic import write_text

        for name, text in files.items():
            write_text(target / name, text)
        return files


def open_board(name: str, root: Path | None = None) -> Board:
    """``synthfoley`` (the config's current version) or ``synthfoley-v1``."""
    base, version = _parse_name(name)
    cfg = benchmark_config(base)
    version = int(cfg["version"]) if version is None else version
    board_root = (root or paths.boards_dir()) / f"{base}-v{version}"
    return Board(base, version, board_root)


def committed_boards(root: Path | None = None) -> list[Board]:
    """Every board version folder under the committed leaderboards."""
    root = root or paths.boards_dir()
    boards = []
    for folder in sorted(root.glob("*-v*")):
        base, version = _parse_name(folder.name)
        if version is not None and folder.is_dir():
            boards.append(Board(base, version, folder))
    return boards
