"""The verdict rule of PROTOCOL.md "Claims" (v2abench.ablation.verdict) on hand-made intervals."""

from __future__ import annotations

import pytest

from v2abench.ablation.plan import parse_claim
from v2abench.ablation.verdict import Verdict, all_of, claim_verdict, gain_interval, pair_verdict

HELD, NOT_HELD, INCONCLUSIVE = Verdict.HELD, Verdict.NOT_HELD, Verdict.INCONCLUSIVE
VARIANTS = ["a", "b", "c"]


def test_beats_is_held_only_when_every_seed_excludes_zero_in_the_claimed_direction() -> None:
    # intervals of M(A) - M(B); higher is better: A beats B when they lie above 0
    assert pair_verdict([(0.1, 0.3), (0.05, 0.2)], "higher") is HELD
    assert pair_verdict([(0.1, 0.3), (-0.01, 0.2)], "higher") is INCONCLUSIVE  # one seed straddles 0
    assert pair_verdict([(0.1, 0.3), (-0.3, -0.1)], "higher") is INCONCLUSIVE  # the seeds disagree
    assert pair_verdict([(0.0, 0.3), (0.05, 0.2)], "higher") is INCONCLUSIVE  # touching 0 does not exclude it


def test_not_held_needs_every_seed_the_other_way() -> None:
    assert pair_verdict([(-0.3, -0.1), (-0.2, -0.05)], "higher") is NOT_HELD
    assert pair_verdict([(-0.3, -0.1), (-0.2, 0.05)], "higher") is INCONCLUSIVE


def test_direction_turns_a_difference_into_a_gain() -> None:
    # lower is better (FD, KL, DeSync): A beats B when M(A) - M(B) < 0
    assert gain_interval((-0.3, -0.1), "lower") == (0.1, 0.3)
    assert pair_verdict([(-0.3, -0.1), (-0.2, -0.05)], "lower") is HELD
    assert pair_verdict([(0.1, 0.3), (0.05, 0.2)], "lower") is NOT_HELD
    with pytest.raises(ValueError):
        gain_interval((0.0, 1.0), "sideways")


def test_missing_seeds_or_intervals_are_inconclusive() -> None:
    assert pair_verdict([], "higher") is INCONCLUSIVE
    assert pair_verdict([(0.1, 0.3), None], "higher") is INCONCLUSIVE
    assert pair_verdict([None, None], "lower") is INCONCLUSIVE


def test_keeps_within_margin_is_a_non_inferiority_test() -> None:
    # DeSync (lower is better), margin 0.05 s: A keeps B when A is not more than 0.05 s worse
    assert pair_verdict([(-0.02, 0.04), (-0.03, 0.01)], "lower", margin=0.05) is HELD
    assert pair_verdict([(-0.30, -0.20), (-0.25, -0.10)], "lower", margin=0.05) is HELD  # A clearly better also keeps
    assert pair_verdict([(0.01, 0.08), (-0.03, 0.01)], "lower", margin=0.05) is INCONCLUSIVE  # may be 0.08 s worse
    assert pair_verdict([(0.06, 0.10), (0.07, 0.12)], "lower", margin=0.05) is NOT_HELD  # surely more than the margin worse
    assert pair_verdict([(-0.02, 0.04), (-0.03, 0.01)], "lower") is INCONCLUSIVE  # the same numbers do not *beat*


def test_conjunctions() -> None:
    assert all_of([HELD, HELD]) is HELD
    assert all_of([HELD, INCONCLUSIVE]) is INCONCLUSIVE
    assert all_of([HELD, NOT_HELD, INCONCLUSIVE]) is NOT_HELD
    assert all_of([]) is INCONCLUSIVE


def _intervals(**pairs: list[tuple[float, float]]) -> dict[tuple[str, str], list[tuple[float, float]]]:
    return {tuple(name.split("_")): value for name, value in pairs.items()}  # type: ignore[misc]


UP, DOWN, ZERO = (0.1, 0.2), (-0.2, -0.1), (-0.1, 0.1)


def test_best_of_three_needs_every_pairwise_win_on_both_seeds() -> None:
    claim = parse_claim("a is best on m", VARIANTS, ["m"])[0]
    pairs = claim.pairs(VARIANTS)
    assert pairs == [("a", "b"), ("a", "c")]
    assert claim_verdict(pairs, _intervals(a_b=[UP, UP], a_c=[UP, UP]), "higher")[0] is HELD
    verdict, each = claim_verdict(pairs, _intervals(a_b=[UP, UP], a_c=[UP, ZERO]), "higher")
    assert verdict is INCONCLUSIVE and each == {("a", "b"): HELD, ("a", "c"): INCONCLUSIVE}
    assert claim_verdict(pairs, _intervals(a_b=[UP, UP], a_c=[DOWN, DOWN]), "higher")[0] is NOT_HELD
    # lower is better: the same intervals mean a is worst of a and c
    assert claim_verdict(pairs, _intervals(a_b=[DOWN, DOWN], a_c=[DOWN, DOWN]), "lower")[0] is HELD


def test_worst_compares_every_other_variant_against_it() -> None:
    claim = parse_claim("c is worst on m", VARIANTS, ["m"])[0]
    pairs = claim.pairs(VARIANTS)
    assert pairs == [("a", "c"), ("b", "c")]
    assert claim_verdict(pairs, _intervals(a_c=[UP, UP], b_c=[UP, UP]), "higher")[0] is HELD
    assert claim_verdict(pairs, _intervals(a_c=[UP, UP], b_c=[DOWN, DOWN]), "higher")[0] is NOT_HELD


def test_a_chain_holds_when_each_adjacent_pair_holds() -> None:
    claim = parse_claim("a > b > c on m", VARIANTS, ["m"])[0]
    pairs = claim.pairs(VARIANTS)
    assert pairs == [("a", "b"), ("b", "c")]  # a vs c is implied, not tested
    assert claim_verdict(pairs, _intervals(a_b=[UP, UP], b_c=[UP, UP]), "higher")[0] is HELD
    assert claim_verdict(pairs, _intervals(a_b=[UP, UP], b_c=[UP, ZERO]), "higher")[0] is INCONCLUSIVE
    assert claim_verdict(pairs, _intervals(a_b=[DOWN, DOWN], b_c=[UP, UP]), "higher")[0] is NOT_HELD
    assert claim_verdict(pairs, _intervals(a_b=[UP, UP]), "higher")[0] is INCONCLUSIVE  # b vs c never measured


def test_keeps_claims_carry_their_margin_into_the_verdict() -> None:
    claim = parse_claim("b keeps a on m within 0.05", VARIANTS, ["m"])[0]
    assert (claim.kind, claim.margin, claim.pairs(VARIANTS)) == ("keeps", 0.05, [("b", "a")])
    intervals = {("b", "a"): [(0.01, 0.04), (0.0, 0.03)]}  # b up to 0.04 worse on a lower-is-better metric
    assert claim_verdict(claim.pairs(VARIANTS), intervals, "lower", claim.margin)[0] is HELD
    assert claim_verdict(claim.pairs(VARIANTS), intervals, "lower", 0.02)[0] is INCONCLUSIVE
