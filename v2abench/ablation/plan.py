"""Ablation plans: ``configs/ablations/<name>.yaml`` read into a :class:`Plan` (PROTOCOL.md, "Claims").

A plan re-runs one table of a paper on SynthFoley::

    title: FoleyGen Table 3: visual attention masks
    model: foleygen                 # a trainable generator of the registry
    preset: quick                   # configs/models/<model>/<preset>.yaml, the config every variant starts from
    board: synthfoley               # with `table`: the board table whose split is scored ...
    table: vta                      # ... the task (a board table name)
    split: synthfoley-tiny-test     # optional: score this split instead of the board table's
    limit: null                     # optional: score only the first N clips
    budget: {max_steps: 1700, minutes: 6}   # training steps (the budget) and the minutes they are stated to take
    seeds: [0, 1]                   # training seeds (inference-only plans: generation seeds of one checkpoint)
    common: {visual: {name: synthav-sync}}  # overrides every variant shares
    variants:                       # name -> overrides; dotted keys, values replace (a mapping replaces the subtree)
      all-frame: {model.visual_mask: all_frame}
      causal: {model.visual_mask: causal}
    metrics: {fd@synthprobe: FAD, onset_acc: ALI (%)}   # our metric -> the paper column it stands for (or null)
    paper:
      source: FoleyGen, Table 3 (VGGSound)
      columns: [FAD, KL, ALI (%)]
      values: {all-frame: {FAD: 1.65, KL: illegible}}   # `illegible`: the cell is garbled in the source text
    claims:
      - all-frame is best on fd@synthprobe
      - {claim: frame-specific beats causal on onset_acc, cite: "the paper's prose the claim rests on"}

Claim forms (metrics comma-separated, or ``every metric`` for all of the plan's): ``A beats B on M``,
``A keeps B on M within X`` (A no worse than B by more than X, in M's stored units), ``A is best on M``,
``A is worst on M``, ``A > B > C on M``. A plan is *inference-only* when every variant overrides only
``sampling.*`` keys: it trains one checkpoint (preset + common, seed ``seeds[0]``) and scores each variant
with each seed as the generation seed. Every overridden key must exist in the preset, so a variant can
never silently set a key its backend ignores.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from v2abench import paths
from v2abench.config import load_yaml

SAMPLING = "sampling"
ILLEGIBLE = "illegible"
EVERY_METRIC = "every metric"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class PlanError(ValueError):
    """A plan file that cannot be run as written."""


# ---------------------------------------------------------------------------------- overrides
def apply_overrides(config: dict[str, Any], overrides: dict[str, Any], *, where: str = "the preset") -> dict[str, Any]:
    """A deep copy of ``config`` with each dotted key of ``overrides`` set to its value.

    Every key on the path must already exist (``model.visual_mask`` needs ``config["model"]["visual_mask"]``);
    a missing one raises :class:`PlanError` naming it, as a backend would silently ignore it."""
    out = copy.deepcopy(config)
    for dotted, value in overrides.items():
        node: Any = out
        parts = str(dotted).split(".")
        for depth, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                known = ", ".join(sorted(node)) if isinstance(node, dict) else "(not a mapping)"
                raise PlanError(f"override {dotted!r}: {'.'.join(parts[:depth + 1])} does not exist in {where} (keys there: {known})")
            if depth == len(parts) - 1:
                node[part] = copy.deepcopy(value)
            else:
                node = node[part]
    return out


def is_sampling_key(dotted: str) -> bool:
    return dotted == SAMPLING or dotted.startswith(SAMPLING + ".")


# ---------------------------------------------------------------------------------- claims
@dataclass(frozen=True)
class Claim:
    """One claimed direction over one metric: ``kind`` is beats | keeps | best | worst | chain.

    ``variants``: (A, B) for beats / keeps, (A,) for best / worst, (A, B, C, ...) for a chain."""

    text: str
    kind: str
    variants: tuple[str, ...]
    metric: str
    margin: float | None = None
    cite: str | None = None

    def pairs(self, all_variants: list[str]) -> list[tuple[str, str]]:
        """The pairwise claims ``(X, Y)``, each "X beats Y" (or "X keeps Y"), whose conjunction is this claim."""
        if self.kind in ("beats", "keeps"):
            return [(self.variants[0], self.variants[1])]
        if self.kind == "best":
            return [(self.variants[0], other) for other in all_variants if other != self.variants[0]]
        if self.kind == "worst":
            return [(other, self.variants[0]) for other in all_variants if other != self.variants[0]]
        return list(zip(self.variants[:-1], self.variants[1:]))


_FORMS = [
    ("keeps", re.compile(r"^(?P<a>\S+) keeps (?P<b>\S+) on (?P<m>.+) within (?P<margin>[0-9.eE+-]+)$")),
    ("beats", re.compile(r"^(?P<a>\S+) beats (?P<b>\S+) on (?P<m>.+)$")),
    ("best", re.compile(r"^(?P<a>\S+) is best on (?P<m>.+)$")),
    ("worst", re.compile(r"^(?P<a>\S+) is worst on (?P<m>.+)$")),
    ("chain", re.compile(r"^(?P<chain>\S+(?: > \S+)+) on (?P<m>.+)$")),
]


def parse_claim(text: str, variants: list[str], metrics: list[str], cite: str | None = None) -> list[Claim]:
    """One :class:`Claim` per metric the sentence names (see the module docstring for the forms)."""
    sentence = " ".join(str(text).split())
    for kind, form in _FORMS:
        match = form.match(sentence)
        if match is None:
            continue
        groups = match.groupdict()
        named = tuple(groups["chain"].split(" > ")) if kind == "chain" else tuple(groups[k] for k in ("a", "b") if groups.get(k))
        for name in named:
            if name not in variants:
                raise PlanError(f"claim {sentence!r}: no variant {name!r} (variants: {', '.join(variants)})")
        if len(set(named)) != len(named):
            raise PlanError(f"claim {sentence!r} names a variant twice")
        ids = metrics if groups["m"] == EVERY_METRIC else [m.strip() for m in groups["m"].split(",")]
        for mid in ids:
            if mid not in metrics:
                raise PlanError(f"claim {sentence!r}: {mid!r} is not one of the plan's metrics ({', '.join(metrics)})")
        margin = float(groups["margin"]) if kind == "keeps" else None
        if margin is not None and margin < 0:
            raise PlanError(f"claim {sentence!r}: the margin must be >= 0")
        return [Claim(sentence, kind, named, mid, margin, cite) for mid in ids]
    raise PlanError(f"claim {sentence!r} has none of the forms: 'A beats B on M', 'A keeps B on M within X', "
                    "'A is best on M', 'A is worst on M', 'A > B > C on M'")


# ---------------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class PaperCell:
    """One number of the paper's table; ``value`` None when the source text is garbled there."""

    value: float | None
    text: str

    @classmethod
    def parse(cls, raw: Any, where: str) -> "PaperCell":
        if isinstance(raw, bool) or raw is None:
            raise PlanError(f"{where}: expected a number or {ILLEGIBLE!r}, got {raw!r}")
        if isinstance(raw, (int, float)):
            return cls(float(raw), str(raw))
        if str(raw).strip().lower().startswith(ILLEGIBLE):
            return cls(None, ILLEGIBLE)
        raise PlanError(f"{where}: expected a number or {ILLEGIBLE!r}, got {raw!r}")


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict[str, Any]  # the plan's common overrides, then the variant's own
    own: dict[str, Any] = field(default_factory=dict)  # the variant's own overrides (without the common ones)

    @property
    def inference_only(self) -> bool:
        """Only ``sampling.*`` keys of its own (vacuously true for a variant that is the preset itself)."""
        return all(is_sampling_key(k) for k in self.own)


@dataclass(frozen=True)
class Plan:
    name: str
    title: str
    model: str
    preset: str
    table: str
    split: str
    board: str | None
    limit: int | None
    max_steps: int
    minutes: float | None
    seeds: tuple[int, ...]
    common: dict[str, Any]
    variants: tuple[Variant, ...]
    metrics: dict[str, str | None]  # our metric id -> the paper column it stands for
    paper_source: str
    paper_columns: tuple[str, ...]
    paper: dict[str, dict[str, PaperCell]]  # variant -> paper column -> cell
    claims: tuple[Claim, ...]
    notes: str = ""
    path: str = ""  # the plan file, as the claim table names it (``configs/ablations/<name>.yaml``)

    @property
    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]

    @property
    def inference_only(self) -> bool:
        return all(v.inference_only for v in self.variants)

    def variant(self, name: str) -> Variant:
        return next(v for v in self.variants if v.name == name)

    def training_config(self, preset_config: dict[str, Any], variant: Variant | None) -> dict[str, Any]:
        """The config a checkpoint is trained from: the preset, the common overrides, the variant's own
        (none for an inference-only plan, whose one checkpoint all variants share), the plan's budget."""
        where = f"configs/models/{self.model}/{self.preset}.yaml"
        cfg = apply_overrides(preset_config, self.common, where=where)
        if variant is not None and not self.inference_only:
            cfg = apply_overrides(cfg, variant.own, where=where)
        cfg.setdefault("trainer", {})["max_steps"] = self.max_steps
        return cfg

    def sampling_overrides(self, variant: Variant) -> dict[str, Any]:
        """What an inference-only variant changes at generation time (empty for a training plan)."""
        return dict(variant.own) if self.inference_only else {}


def plans_dir() -> Path:
    return paths.configs_dir() / "ablations"


def known_plans() -> list[str]:
    return sorted(p.stem for p in plans_dir().glob("*.yaml"))


def plan_path(name: str) -> Path:
    """``configs/ablations/<name>.yaml``, or ``name`` itself when it is a YAML file."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    path = plans_dir() / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no ablation plan {name!r}; known: {', '.join(known_plans()) or 'none'}")
    return path


def _require(doc: dict[str, Any], key: str, where: Path) -> Any:
    if key not in doc:
        raise PlanError(f"{where}: missing {key!r}")
    return doc[key]


def _split_of(doc: dict[str, Any], where: Path) -> tuple[str, str | None]:
    """(split, board) from the plan's ``split`` or its ``board`` + ``table``."""
    from v2abench.config import benchmark_config

    board = doc.get("board")
    if doc.get("split"):
        return str(doc["split"]), (str(board) if board else None)
    if not board:
        raise PlanError(f"{where}: give `split`, or `board` and `table`")
    tables = benchmark_config(str(board)).get("tables") or {}
    if doc["table"] not in tables:
        raise PlanError(f"{where}: board {board} has no table {doc['table']!r} (tables: {', '.join(tables)})")
    return str(tables[doc["table"]]["split"]), str(board)


def load_plan(name: str) -> Plan:
    """Read and check a plan (variant names, claim grammar, metric ids, paper cells; see the module docstring)."""
    from v2abench.interface import Task
    from v2abench.metrics.catalog import metric_specs

    path = plan_path(name)
    doc = load_yaml(path)
    table = str(_require(doc, "table", path))
    try:
        Task(table)
    except ValueError as err:
        raise PlanError(f"{path}: table {table!r} is not a task ({', '.join(t.value for t in Task)})") from err
    split, board = _split_of(doc, path)
    budget = _require(doc, "budget", path)
    if not isinstance(budget, dict) or int(budget.get("max_steps", 0)) < 1:
        raise PlanError(f"{path}: budget needs max_steps >= 1")
    seeds = tuple(int(s) for s in _require(doc, "seeds", path))
    if not seeds or len(set(seeds)) != len(seeds):
        raise PlanError(f"{path}: seeds must be distinct and at least one")
    common = dict(doc.get("common") or {})
    variants = []
    for vname, own in (_require(doc, "variants", path) or {}).items():
        if not _NAME.match(str(vname)):
            raise PlanError(f"{path}: variant name {vname!r} (letters, digits, '.', '_', '-')")
        own = dict(own or {})
        variants.append(Variant(str(vname), {**common, **own}, own))
    if len(variants) < 2:
        raise PlanError(f"{path}: a plan compares at least two variants")
    if not (all(v.inference_only for v in variants) or not any(v.inference_only and v.own for v in variants)):
        mixed = [v.name for v in variants if v.inference_only]
        raise PlanError(f"{path}: variants {', '.join(mixed)} change only sampling while others retrain; split them into two plans")
    metrics = {str(k): (None if v is None else str(v)) for k, v in (_require(doc, "metrics", path) or {}).items()}
    known = metric_specs(with_weights=False)
    unknown = sorted(set(metrics) - set(known))
    if unknown:
        raise PlanError(f"{path}: unknown metric ids {', '.join(unknown)} (see `v2abench metrics`)")
    names = [v.name for v in variants]
    paper_doc = doc.get("paper") or {}
    columns = tuple(str(c) for c in paper_doc.get("columns") or sorted({m for m in metrics.values() if m}))
    paper: dict[str, dict[str, PaperCell]] = {}
    for vname, cells in (paper_doc.get("values") or {}).items():
        if vname not in names:
            raise PlanError(f"{path}: paper values for {vname!r}, which is not a variant")
        paper[str(vname)] = {}
        for col, raw in (cells or {}).items():
            if str(col) not in columns:
                raise PlanError(f"{path}: paper column {col!r} of {vname} is not in paper.columns")
            paper[str(vname)][str(col)] = PaperCell.parse(raw, f"{path}: paper {vname} / {col}")
    missing_cols = sorted({c for c in metrics.values() if c} - set(columns))
    if missing_cols:
        raise PlanError(f"{path}: metrics name paper columns {', '.join(missing_cols)} not in paper.columns")
    claims: list[Claim] = []
    for entry in _require(doc, "claims", path) or []:
        text, cite = (entry.get("claim"), entry.get("cite")) if isinstance(entry, dict) else (entry, None)
        claims.extend(parse_claim(str(text), names, list(metrics), cite))
    limit = doc.get("limit")
    return Plan(
        name=path.stem, title=str(doc.get("title", path.stem)), model=str(_require(doc, "model", path)),
        preset=str(doc.get("preset", "quick")), table=table, split=split, board=board,
        limit=None if limit is None else int(limit), max_steps=int(budget["max_steps"]),
        minutes=None if budget.get("minutes") is None else float(budget["minutes"]), seeds=seeds, common=common,
        variants=tuple(variants), metrics=metrics, paper_source=str(paper_doc.get("source", "")), paper_columns=columns,
        paper=paper, claims=tuple(claims), notes=str(doc.get("notes", "")).strip(), path=_shown_path(path),
    )


def _shown_path(path: Path) -> str:
    try:
        return "configs/" + path.resolve().relative_to(paths.configs_dir()).as_posix()
    except ValueError:
        return str(path)
