"""Ablation plan files: the grammar of claims, strict overrides, and the three shipped paper plans."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from v2abench.ablation import PlanError, known_plans, load_plan
from v2abench.ablation.plan import apply_overrides, parse_claim
from v2abench.results import Result

METRICS = ["onset_acc", "desync@synthprobe"]


def test_claim_forms_expand_to_one_claim_per_metric() -> None:
    claims = parse_claim("a beats b on onset_acc, desync@synthprobe", ["a", "b"], METRICS)
    assert [(c.kind, c.variants, c.metric) for c in claims] == [("beats", ("a", "b"), "onset_acc"), ("beats", ("a", "b"), "desync@synthprobe")]
    assert [c.metric for c in parse_claim("a is worst on every metric", ["a", "b"], METRICS)] == METRICS
    assert parse_claim("c > a > b on onset_acc", ["a", "b", "c"], METRICS)[0].variants == ("c", "a", "b")


@pytest.mark.parametrize("text, match", [
    ("a beats z on onset_acc", "no variant 'z'"),
    ("a beats b on fd@synthprobe", "not one of the plan's metrics"),
    ("a is better than b on onset_acc", "none of the forms"),
    ("a > a on onset_acc", "twice"),
])
def test_bad_claims_are_refused(text: str, match: str) -> None:
    with pytest.raises(PlanError, match=match):
        parse_claim(text, ["a", "b"], METRICS)


def test_overrides_replace_existing_keys_only() -> None:
    preset = {"model": {"dim": 8, "visual_mask": "causal"}, "visual": {"name": "dual", "sync": {"fps": 25}}}
    out = apply_overrides(preset, {"model.visual_mask": "all_frame", "visual": {"name": "synthav-sync"}})
    assert out == {"model": {"dim": 8, "visual_mask": "all_frame"}, "visual": {"name": "synthav-sync"}}
    assert preset["model"]["visual_mask"] == "causal"  # the preset itself is untouched
    with pytest.raises(PlanError, match="model.encoder does not exist"):
        apply_overrides(preset, {"model.encoder": "audio"})
    with pytest.raises(PlanError, match="model.dim.x does not exist"):
        apply_overrides(preset, {"model.dim.x": 1})


def _plan(tmp_path: Path, **changes: object) -> Path:
    doc = {"model": "foleygen", "preset": "tiny", "split": "synthfoley-tiny-test", "table": "vta",
           "budget": {"max_steps": 2}, "seeds": [0, 1],
           "variants": {"a": {"model.visual_mask": "all_frame"}, "b": {"model.visual_mask": "causal"}},
           "metrics": {"onset_acc": "ALI"},
           "paper": {"columns": ["ALI", "OVR"], "values": {"a": {"ALI": 55.6, "OVR": "illegible"}}},
           "claims": ["a beats b on onset_acc"]}
    doc.update(changes)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_plan_file_is_read_and_checked(tmp_path: Path) -> None:
    plan = load_plan(str(_plan(tmp_path)))
    assert plan.variant_names == ["a", "b"] and not plan.inference_only and plan.seeds == (0, 1)
    assert plan.paper["a"]["ALI"].value == 55.6 and plan.paper["a"]["OVR"].value is None and plan.paper["a"]["OVR"].text == "illegible"
    cfg = plan.training_config({"model": {"visual_mask": "causal"}, "trainer": {"max_steps": 5}}, plan.variant("a"))
    assert cfg == {"model": {"visual_mask": "all_frame"}, "trainer": {"max_steps": 2}}
    sampling = load_plan(str(_plan(tmp_path, variants={"x": {"sampling.cfg_scale": 1.0}, "y": {"sampling.cfg_scale": 3.0}},
                                   claims=["x beats y on onset_acc"], paper={})))
    assert sampling.inference_only and sampling.sampling_overrides(sampling.variant("x")) == {"sampling.cfg_scale": 1.0}
    base = sampling.training_config({"sampling": {"cfg_scale": 3.0}, "trainer": {}}, sampling.variant("x"))
    assert base["sampling"]["cfg_scale"] == 3.0  # one checkpoint: the variant's sampling is not trained in


@pytest.mark.parametrize("changes, match", [
    ({"variants": {"a": {"model.visual_mask": "causal"}, "b": {"sampling.cfg_scale": 1.0}}}, "change only sampling"),
    ({"metrics": {"no_such_metric": None}}, "unknown metric ids"),
    ({"paper": {"columns": ["ALI"], "values": {"a": {"ALI": "1,65"}}}}, "expected a number or 'illegible'"),
    ({"paper": {"columns": ["ALI"], "values": {"z": {"ALI": 1.0}}}}, "not a variant"),
    ({"seeds": [0, 0]}, "distinct"),
    ({"table": "sideways"}, "not a task"),
    ({"variants": {"a b": {}, "c": {}}}, "variant name"),
])
def test_bad_plans_are_refused(tmp_path: Path, changes: dict, match: str) -> None:
    with pytest.raises(PlanError, match=match):
        load_plan(str(_plan(tmp_path, **changes)))


def test_shipped_plans_build_every_variant_from_their_preset() -> None:
    """`v2abench ablation check` for each paper plan: every override names a key of the current preset."""
    from v2abench.ablation.runner import training_key
    from v2abench.training import load_train_config

    assert {"foleygen-masks", "dreamfoley-encoder", "dreamfoley-cfg"} <= set(known_plans())
    for name in ("foleygen-masks", "dreamfoley-encoder", "dreamfoley-cfg"):
        plan = load_plan(name)
        preset = load_train_config(plan.model, plan.preset)
        keys = {training_key(plan.training_config(preset, v)) for v in plan.variants}
        assert len(keys) == (1 if plan.inference_only else len(plan.variants)), name  # variants differ in training iff they should
        assert set(plan.paper) == set(plan.variant_names) and len(plan.seeds) == 2 and plan.split == "synthfoley-test"
    cfg = load_plan("dreamfoley-cfg")
    assert cfg.inference_only and cfg.paper["cfg2"]["KL"].value == 1.34 and cfg.paper["cfg1"]["KL"].value is None
    assert {c.metric for c in cfg.claims if c.kind == "worst"} == set(cfg.metrics)  # "cfg1 is worst on every metric"
    masks = load_plan("foleygen-masks")
    assert {c.variants for c in masks.claims} == {("all-frame",), ("frame-specific", "causal")}


def test_a_variant_gets_its_own_row_name() -> None:
    model = {"name": "foleygen", "checkpoint_sha256": "ab" * 32}
    result = Result(board={"name": None, "version": None, "table": "vta"}, split={"name": "s"}, model=model, metrics={})
    assert result.file_name == "foleygen@abababab.json"
    result.model = dict(model, variant="cfg-1")
    assert (result.row_name, result.file_name) == ("foleygen-cfg-1@abababab", "foleygen-cfg-1@abababab.json")
