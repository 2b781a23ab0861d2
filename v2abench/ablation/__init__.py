"""Ablation plans and paper claims (PROTOCOL.md, "Claims"): plan files, the verdict rule, the runner, the claim table."""

from v2abench.ablation.plan import Claim, Plan, PlanError, known_plans, load_plan
from v2abench.ablation.runner import PlanRun, collect_results, output_dir, run_plan
from v2abench.ablation.verdict import Verdict, claim_verdict, pair_verdict

__all__ = ["Claim", "Plan", "PlanError", "PlanRun", "Verdict", "claim_verdict", "collect_results", "known_plans", "load_plan",
           "output_dir", "pair_verdict", "run_plan"]
