"""``v2abench ablation run``: train (or reuse) each variant's checkpoints, score them, judge the claims.

Where things go::

    <board>-v<N>/results/ablations/<plan>/       a committed board's folder (a split of no board:
                                                 $V2ABENCH_HOME/results/unboarded/<split>/ablations/<plan>/)
        seed-<s>/<model>-<variant>@<sha8>.json   one result per variant and seed (+ its .pooled.npz sidecar)
        claims.md, claims.json                   the claim table (:mod:`v2abench.ablation.table`)
    $V2ABENCH_HOME/ablations/<plan>/             working state, never committed
        configs/<plan>.<variant>.yaml            the training config of a variant (preset + overrides + budget)
        sampling/<variant>/<run-id>/             an inference-only variant: the base run's weights and its
                                                 exported config with the variant's sampling settings

One folder per seed because an inference-only plan scores one checkpoint with several generation seeds:
those rows share ``<model>-<variant>@<sha8>`` and would otherwise overwrite each other.

Resuming: a variant and seed whose result file is present (its recorded variant settings, split, clip
count and metrics match the plan) is neither trained nor scored again; a checkpoint whose training
config (seed included, preset label aside) matches a finished run in ``$V2ABENCH_HOME/runs/<model>/`` is
not retrained, and an interrupted run of that config resumes from its last checkpoint.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from v2abench import paths
from v2abench.ablation.plan import Plan, Variant, apply_overrides
from v2abench.atomic import write_text
from v2abench.config import benchmark_config, config_hash, load_yaml
from v2abench.results import Result, load_result, sidecar_path

log = logging.getLogger(__name__)


def output_dir(plan: Plan) -> Path:
    """Where a plan's results and claim table go (see the module docstring)."""
    from v2abench.data.splits import resolve_split

    board = resolve_split(plan.split).board
    if board is None:
        return paths.results_dir() / "unboarded" / plan.split / "ablations" / plan.name
    return paths.boards_dir() / f"{board}-v{int(benchmark_config(board)['version'])}" / "results" / "ablations" / plan.name


def state_dir(plan: Plan) -> Path:
    return paths.home() / "ablations" / plan.name


def training_key(config: dict[str, Any]) -> str:
    """What identifies a checkpoint's training: its whole config, seed included, the preset label aside."""
    return config_hash({k: v for k, v in config.items() if k != "preset"})


# ---------------------------------------------------------------------------------- checkpoints
def find_run(model: str, config: dict[str, Any]) -> tuple[Path | None, Path | None]:
    """(a finished run of exactly ``config``, else an interrupted one to resume) in ``runs/<model>/``."""
    from v2abench.training.runs import is_finished, run_meta

    root, key = paths.runs_dir() / model, training_key(config)
    partial = None
    if not root.is_dir():
        return None, None
    for run_dir in sorted((p for p in root.iterdir() if p.is_dir()), reverse=True):  # newest first
        meta = run_meta(run_dir)
        if meta is not None and is_finished(meta) and training_key(meta["config"]) == key:
            return run_dir, None
        if partial is None and (run_dir / "checkpoints" / "last.ckpt").is_file() and (run_dir / "config.yaml").is_file():
            if training_key(load_yaml(run_dir / "config.yaml")) == key:
                partial = run_dir
    return None, partial


def _write_config(plan: Plan, label: str, config: dict[str, Any]) -> Path:
    """The training config as a YAML file named ``<plan>.<label>.yaml`` (its stem labels the run's preset)."""
    path = state_dir(plan) / "configs" / f"{plan.name}.{label}.yaml"
    text = yaml.safe_dump(config, sort_keys=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        write_text(path, text)
    return path


@dataclass
class PlanRun:
    """What one invocation did: results by (variant, seed), and how many checkpoints it trained / cells it scored."""

    plan: Plan
    out: Path
    results: dict[tuple[str, int], Result] = field(default_factory=dict)
    paths: dict[tuple[str, int], Path] = field(default_factory=dict)
    trained: int = 0
    resumed: int = 0
    evaluated: int = 0
    reused: int = 0
    outcomes: list = field(default_factory=list)  # the claims' verdicts (:class:`~v2abench.ablation.table.Outcome`)


def training_setting(plan: Plan, preset: dict[str, Any], variant: Variant | None, seed: int) -> tuple[str, dict[str, Any]]:
    """(label, the config ``v2abench train`` runs for this variant and seed: preset, overrides, budget, seed).

    An inference-only plan's variants share one checkpoint, labelled ``base``."""
    label = variant.name if variant is not None and not plan.inference_only else "base"
    config = plan.training_config(preset, variant)
    config["seed"] = seed
    return label, config


def ensure_checkpoint(plan: Plan, label: str, config: dict[str, Any], state: PlanRun) -> Path:
    """The folder of a finished run of ``config``: found, resumed, or trained now."""
    from v2abench.training import train

    seed = int(config["seed"])
    finished, partial = find_run(plan.model, config)
    if finished is None and partial is not None:
        log.info("%s: resuming the interrupted run %s", plan.name, partial)
        finished = train(plan.model, resume=partial, progress=False)
        state.resumed += 1
    elif finished is None:
        path = _write_config(plan, label, {k: v for k, v in config.items() if k != "seed"})
        if training_key(load_yaml(path) | {"seed": seed}) != training_key(config):
            raise ValueError(f"{path}: the config does not survive a YAML round trip; its run could never be found again")
        log.info("%s: training %s (seed %d, %d steps)", plan.name, label, seed, plan.max_steps)
        finished = train(plan.model, str(path), seed=seed, progress=False)
        state.trained += 1
    return finished


def sampling_run(base: Path, folder: Path, overrides: dict[str, Any]) -> Path:
    """A run folder holding ``base``'s weights and its exported config with ``overrides`` (``sampling.*``)
    applied: what an inference-only variant loads (same weights, so the same checkpoint sha256)."""
    meta = json.loads((base / "meta.json").read_text(encoding="utf-8"))
    meta["config"] = apply_overrides(meta["config"], overrides, where=f"{base}/meta.json")
    target = folder / base.name
    target.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "timing.json"):
        if (base / name).is_file():
            shutil.copyfile(base / name, target / name)
    write_text(target / "meta.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return target


# ---------------------------------------------------------------------------------- results
def variant_settings(plan: Plan, variant: Variant, checkpoint_key: str, train_seed: int) -> dict[str, Any]:
    """What a result records as its variant (``model.config.variant``, part of its config hash)."""
    return {"name": variant.name, "plan": plan.name, "overrides": variant.overrides,
            "training": {"config": checkpoint_key, "seed": train_seed, "max_steps": plan.max_steps}}


def _row_glob(plan: Plan, variant: Variant) -> str:
    return f"{plan.model}-{variant.name}@*.json"


def _matches(plan: Plan, result: Result, settings: dict[str, Any]) -> bool:
    split = result.split
    wanted_n = split.get("n_clips_total") if plan.limit is None else min(plan.limit, int(split.get("n_clips_total") or 0))
    computed = set(result.metrics) | set(result.not_computed)
    return (result.model.get("config", {}).get("variant") == settings and split.get("name") == plan.split
            and split.get("n_clips") == wanted_n and set(plan.metrics) <= computed)


def find_result(plan: Plan, folder: Path, variant: Variant, settings: dict[str, Any]) -> tuple[Path, Result] | None:
    """A result already written for this variant, seed and settings (see :func:`_matches`)."""
    for path in sorted(folder.glob(_row_glob(plan, variant))):
        result = load_result(path)
        if _matches(plan, result, settings):
            return path, result
    return None


def _remove_stale(plan: Plan, folder: Path, variant: Variant, keep: Path) -> None:
    """Results of this variant and seed from other settings or checkpoints (a plan changed since)."""
    for path in folder.glob(_row_glob(plan, variant)):
        if path != keep:
            log.info("removing the stale result %s", path)
            path.unlink()
            sidecar_path(path).unlink(missing_ok=True)


def run_plan(plan: Plan, *, out: Path | None = None, batch_size: int = 8) -> PlanRun:
    """Train, score and judge every variant x seed of ``plan``; writes the results and the claim table."""
    from v2abench.ablation.table import write_claim_table
    from v2abench.evaluation import evaluate_model
    from v2abench.interface import Task
    from v2abench.training import load_train_config

    state = PlanRun(plan, Path(out) if out is not None else output_dir(plan))
    preset = load_train_config(plan.model, plan.preset)
    checkpoints: dict[str, Path] = {}  # training key -> run folder
    for variant in plan.variants:
        for seed in plan.seeds:
            train_seed = plan.seeds[0] if plan.inference_only else seed
            label, config = training_setting(plan, preset, variant, train_seed)
            key = training_key(config)
            settings = variant_settings(plan, variant, key, train_seed)
            folder = state.out / f"seed-{seed}"
            found = find_result(plan, folder, variant, settings)
            if found is not None:
                state.paths[(variant.name, seed)], state.results[(variant.name, seed)] = found
                state.reused += 1
                continue
            if key not in checkpoints:
                checkpoints[key] = ensure_checkpoint(plan, label, config, state)
            ckpt = checkpoints[key]
            overrides = plan.sampling_overrides(variant)
            if overrides:
                ckpt = sampling_run(ckpt, state_dir(plan) / "sampling" / variant.name, overrides)
            log.info("%s: scoring %s, seed %d on %s", plan.name, variant.name, seed, plan.split)
            path, result = evaluate_model(plan.model, plan.split, ckpt=str(ckpt), limit=plan.limit, metrics=list(plan.metrics),
                                          task=Task(plan.table), seed=seed, batch_size=batch_size, variant=settings, out_dir=folder)
            _remove_stale(plan, folder, variant, path)
            state.paths[(variant.name, seed)], state.results[(variant.name, seed)] = path, result
            state.evaluated += 1
    state.outcomes = write_claim_table(plan, state.results, state.out, paths={k: p.relative_to(state.out).as_posix() for k, p in state.paths.items()})
    log.info("%s: trained %d, resumed %d, scored %d, reused %d results; claim table in %s",
             plan.name, state.trained, state.resumed, state.evaluated, state.reused, state.out)
    return state


def collect_results(plan: Plan, out: Path | None = None) -> dict[tuple[str, int], tuple[Path, Result]]:
    """The results present for the plan as it is now, without training or scoring anything."""
    from v2abench.training import load_train_config

    out = Path(out) if out is not None else output_dir(plan)
    preset = load_train_config(plan.model, plan.preset)
    found = {}
    for variant in plan.variants:
        for seed in plan.seeds:
            train_seed = plan.seeds[0] if plan.inference_only else seed
            _, config = training_setting(plan, preset, variant, train_seed)
            hit = find_result(plan, out / f"seed-{seed}", variant, variant_settings(plan, variant, training_key(config), train_seed))
            if hit is not None:
                found[(variant.name, seed)] = hit
    return found
