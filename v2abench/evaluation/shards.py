"""Sharded evaluation: ``v2abench eval ... --shard I/N`` on each of N processes, then ``--reduce N``.

Shard ``I`` of ``N`` scores the clips whose position in the split is ``I`` mod ``N`` and pickles its
metric-family states (:meth:`~v2abench.metrics.base.MetricFamily.state_dict`) to
``<run cache>/shards/<plan hash>/<I>-of-<N>.pkl``, the run cache being the generation cache folder
(``cache/gen/<model>@<ckpt-sha8>/<config-hash>``; ``cache/eval/audio-dir/<hash>`` for a folder). The
reduce step merges the ``N`` states (:meth:`~v2abench.metrics.base.MetricFamily.merge_state`) and writes
the result JSON, with the numbers of an unsharded run. Shard files are this run's own cache, never
shared inputs; they are read with :mod:`pickle`.
"""

from __future__ import annotations

import logging
import pickle
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from v2abench.atomic import atomic_path

log = logging.getLogger(__name__)
SHARD_STATE_VERSION = 1


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: the clips whose position in the split is ``index`` mod ``count``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need 0 <= I < N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"I/N"``, e.g. ``"0/2"``."""
        index, sep, count = text.partition("/")
        if not sep or not index.strip().isdigit() or not count.strip().isdigit():
            raise ValueError(f"--shard takes I/N (e.g. 0/2), not {text!r}")
        return cls(int(index), int(count))

    def takes(self, position: int) -> bool:
        return position % self.count == self.index


def save_state(run: Any) -> Path:
    """Pickle a finished shard run's metric states, failures, files and timing; returns the file."""
    plan, shard = run.plan, run.plan.shard
    assert shard is not None
    plan.timing["total"] = plan.timing.get("total", 0.0) + time.perf_counter() - plan.started
    doc = {
        "version": SHARD_STATE_VERSION,
        "shard": (shard.index, shard.count),
        "clips": [c.id for c in plan.clips],
        "failed": run.failed,
        "files": run.files,
        "timing": plan.timing,
        "families": [(type(f).__name__, f.ids, f.state_dict()) for f in run.families],
    }
    path = run.shard_path(shard.index, shard.count)
    with atomic_path(path) as tmp:
        tmp.write_bytes(pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL))
    log.info("shard %d/%d of %s: %d clips, state in %s", shard.index, shard.count, run.model["name"], len(doc["clips"]), path)
    return path


def merge_states(run: Any, count: int) -> None:
    """Merge the saved states of shards 0..count-1 into ``run`` (which must have scored nothing)."""
    paths_ = [run.shard_path(i, count) for i in range(count)]
    missing = [str(i) for i, p in enumerate(paths_) if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no state for shard(s) {', '.join(missing)} of {count} under {paths_[0].parent}; "
                                f"run `v2abench eval ... --shard I/{count}` for each first")
    covered: list[str] = []
    for path in paths_:
        doc = pickle.loads(path.read_bytes())
        if doc.get("version") != SHARD_STATE_VERSION or doc["shard"][1] != count:
            raise ValueError(f"{path}: not a shard state of this v2abench for {count} shards")
        if [(type(f).__name__, f.ids) for f in run.families] != [(name, ids) for name, ids, _ in doc["families"]]:
            raise ValueError(f"{path}: its metric families differ from this run's")
        for family, (_, _, state) in zip(run.families, doc["families"]):
            family.merge_state(state)
        run.failed.update(doc["failed"])
        run.files.update(doc["files"])
        for stage, seconds in doc["timing"].items():
            run.plan.timing[stage] = run.plan.timing.get(stage, 0.0) + seconds
        covered += doc["clips"]
    expected = [c.id for c in run.plan.data.clips]
    if sorted(covered) != sorted(expected):
        raise ValueError(f"the {count} shard states under {paths_[0].parent} cover {len(covered)} clips, the split has {len(expected)}")
