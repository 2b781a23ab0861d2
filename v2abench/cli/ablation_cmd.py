"""``v2abench ablation list | check | run | table``: paper claims re-run as ablation plans (configs/ablations/)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from v2abench.cli.errors import clear_errors

console = Console()
app = typer.Typer(no_args_is_help=True, help="Ablation plans: variants, budget, seeds, the paper's numbers and claims -> a claim table.")


@app.command("list")
def list_plans() -> None:
    """The plans in configs/ablations/."""
    from v2abench.ablation import known_plans, load_plan

    table = Table("plan", "model", "variants", "seeds", "claims", "title")
    with clear_errors():
        for name in known_plans():
            plan = load_plan(name)
            table.add_row(name, plan.model, ", ".join(plan.variant_names), ", ".join(map(str, plan.seeds)), str(len(plan.claims)), plan.title)
    console.print(table)


@app.command("check")
def check(name: str = typer.Argument(..., help="a plan name (configs/ablations/NAME.yaml) or a plan file")) -> None:
    """Read a plan and build every variant's config from its preset (unknown keys fail here); trains nothing."""
    from v2abench.ablation import load_plan, output_dir
    from v2abench.ablation.runner import training_key
    from v2abench.training import load_train_config

    with clear_errors():
        plan = load_plan(name)
        preset = load_train_config(plan.model, plan.preset)
        table = Table("variant", "overrides", "training config", "kind")
        for variant in plan.variants:
            cfg = plan.training_config(preset, variant)
            kind = "generation only" if plan.inference_only else "trained"
            table.add_row(variant.name, ", ".join(f"{k}={v}" for k, v in variant.own.items()) or "(preset)", training_key(cfg)[:8], kind)
        console.print(table)
        console.print(f"{len(plan.claims)} claims (one per metric); results would go to {output_dir(plan)}")


@app.command("run")
def run(
    name: str = typer.Argument(..., help="a plan name (configs/ablations/NAME.yaml) or a plan file"),
    limit: Optional[int] = typer.Option(None, "--limit", help="score only the first N clips (a trial: needs --out or goes to $V2ABENCH_HOME)"),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", help="override the plan's step budget (a trial, as --limit)"),
    out: Optional[Path] = typer.Option(None, "--out", help="write results and the claim table here instead of the board"),
    batch_size: int = typer.Option(8, "--batch-size"),
) -> None:
    """Train (or reuse) every variant x seed, score them, and write the claim table with its verdicts."""
    from v2abench.ablation import load_plan, run_plan
    from v2abench.ablation.runner import state_dir

    with clear_errors():
        plan = load_plan(name)
        trial = {k: v for k, v in {"limit": limit, "max_steps": max_steps}.items() if v is not None}
        if trial:
            plan = dataclasses.replace(plan, **trial)
            out = out or state_dir(plan) / "trial"  # never mixed into the plan's committed results
        state = run_plan(plan, out=out, batch_size=batch_size)
    _print_verdicts(state.outcomes)
    console.print(f"trained {state.trained} checkpoints (resumed {state.resumed}), scored {state.evaluated}, reused {state.reused}")
    console.print(f"claim table: {state.out / 'claims.md'}")


@app.command("table")
def table(
    name: str = typer.Argument(..., help="a plan name or a plan file"),
    out: Optional[Path] = typer.Option(None, "--out", help="the folder `ablation run --out` wrote"),
) -> None:
    """Rewrite the claim table from the results present (trains and scores nothing)."""
    from v2abench.ablation import collect_results, load_plan, output_dir
    from v2abench.ablation.table import write_claim_table

    with clear_errors():
        plan = load_plan(name)
        folder = out or output_dir(plan)
        found = collect_results(plan, folder)
        outcomes = write_claim_table(plan, {k: r for k, (_, r) in found.items()}, folder,
                                     paths={k: p.relative_to(folder).as_posix() for k, (p, _) in found.items()})
    _print_verdicts(outcomes)
    console.print(f"{len(found)} of {len(plan.variants) * len(plan.seeds)} results present; claim table: {folder / 'claims.md'}")


def _print_verdicts(outcomes: list) -> None:
    table = Table("claim", "metric", "verdict")
    for o in outcomes:
        table.add_row(o.claim.text, o.claim.metric, o.verdict.value)
    console.print(table)
