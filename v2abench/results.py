"""Result files: one JSON per (board table, model, checkpoint), with full provenance.

Layout: ``<board>-v<N>/<table>/<model>@<ckpt-sha8>.json``, both under a committed board's
``results/`` folder and under ``$V2ABENCH_HOME/results/`` for a user's own runs. Results of splits
that feed no board (e.g. the tiny SynthFoley world) go to ``$V2ABENCH_HOME/results/unboarded/``.

Schema (``SCHEMA_VERSION``): ``schema_version``, ``v2abench_version``, ``git`` {sha, dirty},
``created_utc``, ``board`` {name, version, table}, ``split`` {name, ground_truth_sha256, n_clips,
duration}, ``model`` {name, version, paradigm, checkpoint_sha256, networks (role -> sha256 of every
network the generation ran with, :func:`v2abench.provenance.generator_networks`), params, config, config_hash},
``source`` ("generator" or "audio-dir"), ``seeds``, ``training`` (budget or null), ``metrics``
{id: {value, direction, backbone, weights_sha256, n, dropped, interval, extra, per_clip?}}, ``not_computed``
{id: reason}, ``failed`` {clip id: reason}, ``environment`` (python, platform, device, threads and the versions of
torch, numpy, scipy, librosa, torchaudio, ...), ``timing`` (seconds per stage), and
``clips`` (optional): the clip ids that per-clip metrics' ``per_clip`` lists are aligned with.
Per-clip terms (:attr:`~v2abench.metrics.base.MetricResult.per_clip`, for paired comparisons on boards)
are stored as ``{"value": [...]}`` or ``{"numerator": [...], "denominator": [...]}``, one entry per id of
``clips`` (null where the metric has no value for that clip), rounded to :data:`PER_CLIP_DIGITS`
significant digits to keep files small; results without them load unchanged.
``pooled`` (optional) {file, sha256, metrics {id: group}}: the sidecar beside the JSON
(``<model>@<sha8>.pooled.npz``, :mod:`v2abench.sidecar`) holding the per-clip data of pooled metrics
(:attr:`~v2abench.metrics.base.MetricResult.pooled`: embeddings, logits, onset detections). It is read
lazily (:meth:`Result.load_pooled`) and checked against its sha256; results without it load unchanged
and simply get no paired significance on pooled metrics. Write results with :func:`write_result`,
which writes the sidecar with the JSON.
Loading an older schema upgrades it through :data:`UPGRADES`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from v2abench import paths, sidecar
from v2abench.atomic import atomic_path, canonical_json, write_text
from v2abench.metrics.base import MetricResult

SCHEMA_VERSION = 1
PER_CLIP_DIGITS = 6
SIDECAR_SUFFIX = ".pooled.npz"


class ResultSchemaError(ValueError):
    pass


class SidecarError(ResultSchemaError):
    """A result's pooled-data sidecar is missing or does not match the hash its JSON records."""


# schema version -> function upgrading a document of that version to the next one
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def upgrade(doc: dict[str, Any]) -> dict[str, Any]:
    version = int(doc.get("schema_version", 0))
    if version > SCHEMA_VERSION:
        raise ResultSchemaError(f"result schema {version} is newer than this v2abench understands ({SCHEMA_VERSION})")
    while version < SCHEMA_VERSION:
        if version not in UPGRADES:
            raise ResultSchemaError(f"no upgrade from result schema {version}")
        doc = UPGRADES[version](doc)
        version = int(doc["schema_version"])
    return doc


@dataclass
class Result:
    board: dict[str, Any]
    split: dict[str, Any]
    model: dict[str, Any]
    metrics: dict[str, MetricResult]
    source: str = "generator"
    seeds: dict[str, int] = field(default_factory=dict)
    training: dict[str, Any] | None = None
    not_computed: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    git: dict[str, Any] = field(default_factory=dict)
    created_utc: str = ""
    v2abench_version: str = ""
    schema_version: int = SCHEMA_VERSION
    pooled_file: dict[str, Any] | None = None  # the JSON's "pooled" reference to the sidecar
    location: Path | None = field(default=None, compare=False, repr=False)  # the JSON file it was read from
    _encoded: tuple[tuple[str, ...], list[Any], bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def board_dir_name(self) -> str | None:
        name = self.board.get("name")
        return f"{name}-v{self.board['version']}" if name else None

    @property
    def table(self) -> str:
        return str(self.board["table"])

    @property
    def dirty(self) -> bool:
        """Produced from a working tree with uncommitted changes (``git.dirty``): not reproducible from a commit."""
        return bool((self.git or {}).get("dirty"))

    @property
    def row_name(self) -> str:
        """``<model>[-<variant>]@<ckpt-sha8>``: an ablation variant (``model.variant``) gets its own row."""
        sha = self.model.get("checkpoint_sha256") or "none"
        variant = self.model.get("variant")
        return f"{self.model['name']}{'-' + variant if variant else ''}@{sha[:8]}"

    @property
    def file_name(self) -> str:
        return f"{self.row_name}.json"

    @property
    def sidecar_name(self) -> str:
        return self.file_name.removesuffix(".json") + SIDECAR_SUFFIX

    @property
    def relative_path(self) -> Path:
        """Where this result goes below a results root."""
        if self.board_dir_name is None:
            return Path("unboarded") / self.split["name"] / self.table / self.file_name
        return Path(self.board_dir_name) / self.table / self.file_name

    def to_json(self) -> dict[str, Any]:
        metrics, clips = _pack_per_clip(self.metrics)
        doc = {
            "schema_version": self.schema_version,
            "v2abench_version": self.v2abench_version,
            "git": self.git,
            "created_utc": self.created_utc,
            "board": self.board,
            "split": self.split,
            "model": self.model,
            "source": self.source,
            "seeds": self.seeds,
            "training": self.training,
            "metrics": metrics,
            "not_computed": self.not_computed,
            "failed": self.failed,
            "environment": self.environment,
            "timing": self.timing,
        }
        if clips:
            doc["clips"] = clips
        pooled = self._pooled_doc()[0]
        if pooled is not None:
            doc["pooled"] = pooled
        return doc

    # ------------------------------------------------------------------ pooled-data sidecar
    def _pooled_doc(self) -> tuple[dict[str, Any] | None, bytes | None]:
        """The JSON's ``pooled`` entry and, when the data are in memory, the sidecar bytes."""
        held = [(mid, m.pooled) for mid, m in sorted(self.metrics.items()) if m.pooled is not None]
        if not held:
            return (dict(self.pooled_file) if self.pooled_file else None), None
        mids, objs = tuple(mid for mid, _ in held), [terms for _, terms in held]
        memo = self._encoded  # encoding is memoised on the data objects (not on their contents)
        if memo is None or memo[0] != mids or any(a is not b for a, b in zip(memo[1], objs)):
            self._encoded = memo = (mids, objs, sidecar.encode(objs))
        data = memo[2]
        doc = {"file": self.sidecar_name, "sha256": hashlib.sha256(data).hexdigest(),
               "metrics": {mid: terms.group for mid, terms in held}}
        return doc, data

    def _sidecar_on_disk(self) -> bytes:
        ref = self.pooled_file or {}
        if self.location is None:
            raise SidecarError(f"{self.model.get('name')}: the result names the sidecar {ref.get('file')} but was not read from a file")
        name = str(ref.get("file"))
        if Path(name).name != name or not name.endswith(SIDECAR_SUFFIX):
            raise SidecarError(f"{self.location}: the sidecar name {name!r} is not a file name beside it")
        path = self.location.with_name(name)
        if not path.is_file():
            raise SidecarError(f"{path}: missing (the pooled-data sidecar of {self.location.name}; copy it with the JSON)")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != ref.get("sha256"):
            raise SidecarError(f"{path}: sha256 differs from the one {self.location.name} records; the sidecar was changed or replaced")
        return data

    def sidecar_bytes(self) -> bytes | None:
        """The sidecar's bytes (encoded from memory, else read from beside :attr:`location`), or None."""
        doc, data = self._pooled_doc()
        if doc is None:
            return None
        return data if data is not None else self._sidecar_on_disk()

    def load_pooled(self) -> None:
        """Read the sidecar (once) and set each pooled metric's :attr:`~MetricResult.pooled`.

        Raises :class:`SidecarError` when the file is missing or its hash differs from the JSON's."""
        ref = self.pooled_file
        if not ref or any(m.pooled is not None for m in self.metrics.values()):
            return
        groups = sidecar.decode(self._sidecar_on_disk())
        for mid, group in ref.get("metrics", {}).items():
            if mid in self.metrics and group in groups:
                self.metrics[mid].pooled = groups[group]

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Result":
        doc = upgrade(dict(doc))
        try:
            return cls(
                board=doc["board"],
                split=doc["split"],
                model=doc["model"],
                metrics={k: MetricResult.from_json(k, _unpack_per_clip(v, doc.get("clips") or [])) for k, v in doc["metrics"].items()},
                source=doc.get("source", "generator"),
                seeds=doc.get("seeds", {}),
                training=doc.get("training"),
                not_computed=doc.get("not_computed", {}),
                failed=doc.get("failed", {}),
                environment=doc.get("environment", {}),
                timing=doc.get("timing", {}),
                git=doc.get("git", {}),
                created_utc=doc.get("created_utc", ""),
                v2abench_version=doc.get("v2abench_version", ""),
                schema_version=int(doc["schema_version"]),
                pooled_file=doc.get("pooled"),
            )
        except KeyError as err:
            raise ResultSchemaError(f"result is missing the field {err}") from err

    def save(self, root: Path | None = None) -> Path:
        path = (root or paths.results_dir()) / self.relative_path
        write_result(self, path)
        return path

    def value(self, metric_id: str) -> float | None:
        m = self.metrics.get(metric_id)
        return None if m is None else m.value


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.{PER_CLIP_DIGITS}g}")


def _pack_per_clip(metrics: dict[str, MetricResult]) -> tuple[dict[str, Any], list[str]]:
    """Metric documents with per-clip terms as lists aligned with one shared, sorted list of clip ids."""
    clips = sorted({c for m in metrics.values() if m.per_clip for terms in m.per_clip.values() for c in terms})
    docs = {}
    for mid, metric in sorted(metrics.items()):
        doc = metric.to_json()
        if metric.per_clip is not None:
            doc["per_clip"] = {name: [_round(terms.get(c)) for c in clips] for name, terms in sorted(metric.per_clip.items())}
        docs[mid] = doc
    return docs, clips


def _unpack_per_clip(doc: dict[str, Any], clips: list[str]) -> dict[str, Any]:
    if not doc.get("per_clip"):
        return doc
    per_clip = {name: {c: v for c, v in zip(clips, values, strict=True) if v is not None} for name, values in doc["per_clip"].items()}
    return {**doc, "per_clip": per_clip}


def sidecar_path(json_path: Path) -> Path:
    """Where the pooled-data sidecar of the result file ``json_path`` lies."""
    return json_path.with_name(json_path.name.removesuffix(".json") + SIDECAR_SUFFIX)


def write_result(result: Result, path: Path) -> str:
    """Write ``result`` to ``path`` and its sidecar beside it (a stale sidecar there is removed).

    Returns the JSON text written. Afterwards ``result`` reads from ``path``."""
    data = result.sidecar_bytes()
    if data is not None:
        if path.name != result.file_name:
            raise ValueError(f"{path}: a result with a sidecar must be written as {result.file_name} (its JSON names the sidecar)")
        with atomic_path(sidecar_path(path)) as tmp:
            tmp.write_bytes(data)
    elif sidecar_path(path).exists():
        sidecar_path(path).unlink()
    doc = result.to_json()
    text = canonical_json(doc)
    write_text(path, text)
    result.location, result.pooled_file = path, doc.get("pooled")
    return text


def load_result(path: str | Path) -> Result:
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ResultSchemaError(f"{path}: not a readable result file ({err})") from err
    try:
        result = Result.from_json(doc)
    except ResultSchemaError as err:
        raise ResultSchemaError(f"{path}: {err}") from err
    result.location = path
    return result


def user_results(board_dir_name: str, table: str | None = None) -> list[tuple[Path, Result]]:
    """A user's own results for a board version (all tables unless ``table``)."""
    root = paths.results_dir() / board_dir_name
    pattern = f"{table}/*.json" if table else "*/*.json"
    return [(p, load_result(p)) for p in sorted(root.glob(pattern))]
