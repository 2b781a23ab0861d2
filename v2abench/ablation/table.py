"""The claim table of a plan: our numbers with intervals beside the paper's, and a verdict per claim and metric.

For each claim, metric and pair "X beats Y" it stands for (:meth:`~v2abench.ablation.plan.Claim.pairs`),
and for each seed s, the interval is the paired-bootstrap 95% interval of ``M(X) - M(Y)`` over the clips
both rows of seed s scored (:func:`v2abench.boards.significance.paired_difference_interval`: per-clip
terms, or for pooled metrics the stored embeddings / logits / onsets). The verdict follows
:mod:`v2abench.ablation.verdict`. Written as ``claims.md`` (for people) and ``claims.json`` (the same
numbers, raw, for notes and tests).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import mean

from v2abench.ablation.plan import Claim, Plan
from v2abench.ablation.verdict import Interval, Verdict, claim_verdict
from v2abench.atomic import canonical_json, write_text
from v2abench.boards.display import ARROW, MISSING, fmt, label, scale
from v2abench.boards.significance import paired_difference_interval
from v2abench.results import Result, SidecarError

log = logging.getLogger(__name__)

Results = dict[tuple[str, int], Result]


@dataclass(frozen=True)
class SeedDifference:
    seed: int
    difference: float | None  # M(X) - M(Y) of the two rows' values
    interval: Interval | None  # paired-bootstrap 95% interval of it


@dataclass(frozen=True)
class PairOutcome:
    better: str  # X in "X beats Y"
    worse: str
    verdict: Verdict
    seeds: tuple[SeedDifference, ...]


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    direction: str | None
    verdict: Verdict
    pairs: tuple[PairOutcome, ...]


def direction_of(metric_id: str, results: Results) -> str | None:
    for result in results.values():
        if metric_id in result.metrics:
            return result.metrics[metric_id].direction.value
    from v2abench.metrics.catalog import metric_specs

    spec = metric_specs(with_weights=False).get(metric_id)
    return None if spec is None else spec.direction.value


def _load_pooled(results: Results) -> None:
    for (variant, seed), result in sorted(results.items()):
        try:
            result.load_pooled()
        except SidecarError as err:  # pooled metrics of this row get no paired interval: inconclusive
            log.warning("%s seed %d: %s", variant, seed, err)


def _difference(results: Results, x: str, y: str, seed: int, metric_id: str) -> SeedDifference:
    rx, ry = results.get((x, seed)), results.get((y, seed))
    mx = rx.metrics.get(metric_id) if rx is not None else None
    my = ry.metrics.get(metric_id) if ry is not None else None
    if mx is None or my is None or mx.value is None or my.value is None:
        return SeedDifference(seed, None, None)
    return SeedDifference(seed, mx.value - my.value, paired_difference_interval(mx, my))


def judge(plan: Plan, results: Results) -> list[Outcome]:
    """Every claim's verdict from the results present (a missing row makes its pairs inconclusive)."""
    _load_pooled(results)
    memo: dict[tuple[str, str, int, str], SeedDifference] = {}
    outcomes = []
    for claim in plan.claims:
        direction = direction_of(claim.metric, results)
        pairs = claim.pairs(plan.variant_names)
        diffs = {}
        for x, y in pairs:
            for seed in plan.seeds:
                if (x, y, seed, claim.metric) not in memo:
                    memo[(x, y, seed, claim.metric)] = _difference(results, x, y, seed, claim.metric)
            diffs[(x, y)] = tuple(memo[(x, y, s, claim.metric)] for s in plan.seeds)
        if direction is None:
            verdict, each = Verdict.INCONCLUSIVE, {p: Verdict.INCONCLUSIVE for p in pairs}
        else:
            verdict, each = claim_verdict(pairs, {p: [d.interval for d in ds] for p, ds in diffs.items()}, direction, claim.margin)
        outcomes.append(Outcome(claim, direction, verdict, tuple(PairOutcome(x, y, each[(x, y)], diffs[(x, y)]) for x, y in pairs)))
    return outcomes


# ---------------------------------------------------------------------------------- rendering
def _signed(metric_id: str, value: float) -> str:
    """A difference as the board scales its metric, signed, three significant digits in plain decimals
    (no floor: differences are often far smaller than the values, e.g. ``+0.0000120``)."""
    shown = float(f"{value * scale(metric_id):.3g}")
    if shown == 0 or not math.isfinite(shown):
        return f"{shown:g}"
    decimals = max(0, 2 - math.floor(math.log10(abs(shown))))
    return f"{shown:+.{decimals}f}"


def _value_cell(result: Result | None, metric_id: str) -> str:
    metric = result.metrics.get(metric_id) if result is not None else None
    if metric is None or metric.value is None:
        return MISSING
    if metric.interval is None:
        return fmt(metric_id, metric.value)
    lo, hi = metric.interval
    return f"{fmt(metric_id, metric.value)} [{fmt(metric_id, lo)}, {fmt(metric_id, hi)}]"


def _difference_text(metric_id: str, d: SeedDifference) -> str:
    if d.difference is None:
        return f"seed {d.seed}: {MISSING}"
    interval = MISSING if d.interval is None else f"[{_signed(metric_id, d.interval[0])}, {_signed(metric_id, d.interval[1])}]"
    return f"seed {d.seed}: {_signed(metric_id, d.difference)} {interval}"


def _budget_line(plan: Plan, results: Results) -> str:
    runs = {r.training["run"]: r.training for r in results.values() if r.training and r.training.get("run")}
    fits = [float(t["fit_seconds"]) for t in runs.values() if t.get("fit_seconds") is not None]
    stated = f"stated {plan.minutes:g} min" if plan.minutes is not None else "no stated time"
    measured = f"measured {mean(fits) / 60:.1f} min of steps per run over {len(fits)} runs" if fits else "no run timing recorded"
    return f"{plan.max_steps} training steps per checkpoint ({stated}; {measured})"


def _seeds_line(plan: Plan) -> str:
    seeds = ", ".join(str(s) for s in plan.seeds)
    if plan.inference_only:
        return f"one checkpoint (training seed {plan.seeds[0]}), generation seeds {seeds}"
    return f"training seeds {seeds} (each checkpoint generates with its own seed)"


def _overrides_text(overrides: dict) -> str:
    return ", ".join(f"`{k}: {v}`" for k, v in overrides.items()) or "the preset as it is"


def render_markdown(plan: Plan, results: Results, outcomes: list[Outcome], paths: dict[tuple[str, int], str]) -> str:
    any_result = next(iter(results.values()), None)
    clips = MISSING if any_result is None else f"{any_result.split.get('n_clips')} of {any_result.split.get('n_clips_total')} clips"
    lines = [f"# {plan.title}", ""]
    lines.append(f"Plan `{plan.path}`: `{plan.model}` from its `{plan.preset}` preset; "
                 f"table `{plan.table}` on `{plan.split}` ({clips}); {_budget_line(plan, results)}; {_seeds_line(plan)}. "
                 f"Common overrides: {_overrides_text(plan.common)}.")
    if plan.paper_source:
        lines += ["", f"Paper: {plan.paper_source}."]
    if plan.notes:
        lines += ["", plan.notes]
    lines += ["", "## Variants", "", "| variant | overrides | " + " | ".join(f"row, seed {s}" for s in plan.seeds) + " |",
              "|---|---|" + "---|" * len(plan.seeds)]
    for v in plan.variants:
        rows = [f"`{paths[(v.name, s)]}`" if (v.name, s) in paths else MISSING for s in plan.seeds]
        lines.append(f"| {v.name} | {_overrides_text(v.own)} | " + " | ".join(rows) + " |")
    lines += ["", "## Numbers", "", "Ours: value [bootstrap 95% interval] per seed, shown as the board shows them "
              "(IB-, CLAP-style scores and shares x100). Paper: as printed for the column our metric stands for "
              f"(`illegible`: garbled in the source text; {MISSING}: no counterpart)."]
    for mid, column in plan.metrics.items():
        arrow = ARROW.get(direction_of(mid, results) or "", "")
        lines += ["", f"### {label(mid)} {arrow} (`{mid}`); paper column: {column or MISSING}", "",
                  "| variant | paper | " + " | ".join(f"seed {s}" for s in plan.seeds) + " |", "|---|---|" + "---|" * len(plan.seeds)]
        for v in plan.variants:
            cell = plan.paper.get(v.name, {}).get(column) if column else None
            paper = MISSING if cell is None else cell.text
            lines.append(f"| {v.name} | {paper} | " + " | ".join(_value_cell(results.get((v.name, s)), mid) for s in plan.seeds) + " |")
    if plan.paper:
        lines += ["", "## The paper's table, as printed", "", "| variant | " + " | ".join(plan.paper_columns) + " |",
                  "|---|" + "---|" * len(plan.paper_columns)]
        for v in plan.variants:
            cells = plan.paper.get(v.name, {})
            lines.append(f"| {v.name} | " + " | ".join(cells[c].text if c in cells else MISSING for c in plan.paper_columns) + " |")
    lines += ["", "## Claims", "", "Per claim and metric (PROTOCOL.md, Claims): **held** when for every seed the paired-bootstrap "
              "95% interval of the difference over the same clips excludes 0 in the claimed direction, **not held** when it "
              "excludes 0 the other way for every seed, **inconclusive** otherwise; best / worst / chains hold when every "
              "pair they stand for holds; \"keeps within m\" holds when A's loss against B stays within m for every seed.", "",
              "| claim | metric | verdict | differences X − Y per seed [95% interval] |", "|---|---|---|---|"]
    for o in outcomes:
        diffs = "<br>".join(f"{p.better} − {p.worse} ({p.verdict.value}): " + "; ".join(_difference_text(o.claim.metric, d) for d in p.seeds)
                            for p in o.pairs)
        lines.append(f"| {o.claim.text} | `{o.claim.metric}` | **{o.verdict.value}** | {diffs} |")
    cites = list(dict.fromkeys(o.claim.cite for o in outcomes if o.claim.cite))
    if cites:
        lines += ["", "The paper's words the claims rest on:", ""] + [f"> {c}" for c in cites]
    return "\n".join(lines) + "\n"


def to_json(plan: Plan, results: Results, outcomes: list[Outcome], paths: dict[tuple[str, int], str]) -> dict:
    return {
        "plan": plan.name, "model": plan.model, "preset": plan.preset, "split": plan.split, "table": plan.table,
        "budget": {"max_steps": plan.max_steps, "minutes": plan.minutes}, "seeds": list(plan.seeds), "inference_only": plan.inference_only,
        "rows": {f"{v}/seed-{s}": {"file": paths.get((v, s)), "metrics": {m: {"value": r.value(m), "interval": r.metrics[m].interval if m in r.metrics else None}
                                                                     for m in plan.metrics}}
                 for (v, s), r in sorted(results.items())},
        "claims": [{"claim": o.claim.text, "metric": o.claim.metric, "direction": o.direction, "verdict": o.verdict.value,
                    "pairs": [{"better": p.better, "worse": p.worse, "verdict": p.verdict.value,
                               "seeds": [{"seed": d.seed, "difference": d.difference, "interval": d.interval} for d in p.seeds]}
                              for p in o.pairs]} for o in outcomes],
    }


def write_claim_table(plan: Plan, results: Results, out: Path, paths: dict[tuple[str, int], str]) -> list[Outcome]:
    """Judge the claims and write ``claims.md`` and ``claims.json`` into ``out``."""
    outcomes = judge(plan, results)
    write_text(out / "claims.md", render_markdown(plan, results, outcomes, paths))
    write_text(out / "claims.json", canonical_json(to_json(plan, results, outcomes, paths)))
    return outcomes
