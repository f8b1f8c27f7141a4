"""Claim judges: thresholds on a t-interval, worst-case bounds, tolerances, paired comparisons with a smallest effect
of interest (four outcomes), non-inferiority and equivalence against statsmodels."""

import math

import numpy as np
import pytest

from kx_tasks.core.claims import CONTRADICTED, INCONCLUSIVE, REPRODUCED, AtLeast, AtMost, Beats, Summary, Within


def test_summary_interval():
    s = Summary.of([1.0, 2.0, 3.0])
    assert s.mean == 2.0 and s.n == 3
    assert s.low < 2.0 < s.high
    one = Summary.of([5.0])
    assert (one.low, one.high, one.std) == (5.0, 5.0, 0.0)


def test_threshold_uses_the_interval_not_the_mean():
    assert AtLeast(0.8).judge([0.90, 0.91, 0.92]).verdict == REPRODUCED
    assert AtLeast(0.8).judge([0.60, 0.61, 0.62]).verdict == CONTRADICTED
    # mean above the line, but the seeds scatter across it
    assert AtLeast(0.8).judge([0.70, 0.95, 0.90]).verdict == INCONCLUSIVE
    assert AtMost(1.0).judge([0.5]).reason.startswith("1 seed")
    assert AtMost(1.0).judge([float("nan")]).verdict == INCONCLUSIVE


def test_every_seed_is_a_worst_case_claim():
    assert AtMost(1.0, every_seed=True).judge([0.2, 0.9]).verdict == REPRODUCED
    v = AtMost(1.0, every_seed=True).judge([0.2, 1.5, 0.1])
    assert v.verdict == CONTRADICTED and "1 of 3" in v.reason


def test_within_tolerance():
    assert Within(50.0, 1.0).judge([49.9, 50.1, 50.0]).verdict == REPRODUCED
    assert Within(50.0, 1.0).judge([45.0, 45.1, 44.9]).verdict == CONTRADICTED


def test_beats_is_a_paired_test():
    ours, base = [0.85, 0.86, 0.84, 0.85], [0.70, 0.72, 0.69, 0.71]
    assert Beats("base").judge(ours, base).verdict == REPRODUCED
    assert Beats("base").judge(base, ours).verdict == CONTRADICTED
    assert Beats("base").judge([0.8, 0.7, 0.9], [0.75, 0.8, 0.8]).verdict == INCONCLUSIVE
    assert Beats("base").judge([0.8], [0.7]).verdict == INCONCLUSIVE
    assert Beats("loss", higher_is_better=False).judge([1.0, 1.1, 0.9], [2.0, 2.1, 1.9]).verdict == REPRODUCED
    assert Beats("base").judge([0.8, 0.8], None).verdict == INCONCLUSIVE


def test_best_among_a_sweep():
    from kx_tasks.core.claims import BestAmong

    judge = BestAmong(pool=("r0", "r10", "r15", "r50"), winners=("r10", "r15"), reference="r0")
    base = {0: 0.80, 1: 0.81, 2: 0.79, 3: 0.80}

    def shift(d):
        return {k: v + d + 0.001 * k for k, v in base.items()}

    ok = judge.judge_pool({"r0": base, "r10": shift(0.02), "r15": shift(0.01), "r50": shift(-0.05)})
    assert ok.verdict == "reproduced" and "best r10" in ok.reason
    elsewhere = judge.judge_pool({"r0": base, "r10": shift(0.01), "r15": shift(0.0), "r50": shift(0.03)})
    assert elsewhere.verdict == "inconclusive" and "best r50" in elsewhere.reason
    # Its columns still show the best winner (r10) against the reference; that p is not this claim's test.
    assert elsewhere.stats.effect == pytest.approx(0.0115) and math.isnan(elsewhere.p)
    zero_wins = judge.judge_pool({"r0": shift(0.05), "r10": base, "r15": shift(-0.01), "r50": shift(-0.02)})
    assert zero_wins.verdict == "contradicted"
    assert judge.judge_pool({"r0": base}).verdict == "inconclusive"


def test_four_outcomes_of_a_better_claim():
    from kx_tasks.core.claims import NO_EFFECT

    judge = Beats("base")
    assert judge.judge([0.85, 0.86, 0.84, 0.85], [0.70, 0.72, 0.69, 0.71], 0.01).verdict == REPRODUCED
    assert judge.judge([0.70, 0.72, 0.69, 0.71], [0.85, 0.86, 0.84, 0.85], 0.01).verdict == CONTRADICTED
    tiny = judge.judge([0.801, 0.799, 0.800, 0.802], [0.800, 0.800, 0.801, 0.800], 0.01)  # |d| ≤ 0.002, δ = 0.01
    assert tiny.verdict == NO_EFFECT and "inside ±δ" in tiny.reason
    assert judge.judge([0.801, 0.799, 0.800, 0.802], [0.800, 0.800, 0.801, 0.800], 0.0001).verdict == INCONCLUSIVE


def test_no_worse_is_a_non_inferiority_test_with_its_margin():
    """Not 'not significantly worse': the one-sided test of H0: difference ≤ −δ (scipy's one-sample t-test)."""
    from scipy import stats

    from kx_tasks.core.claims import NoWorse

    x, y = [0.801, 0.797, 0.803, 0.799, 0.800], [0.800, 0.800, 0.801, 0.800, 0.802]
    v = NoWorse("erm", "acc").judge(x, y, 0.01)
    d = [a - b for a, b in zip(x, y, strict=True)]
    assert v.verdict == REPRODUCED
    assert v.p == pytest.approx(stats.ttest_1samp(d, -0.01, alternative="greater").pvalue, rel=1e-9)
    noisy = NoWorse("erm", "acc").judge([0.80, 0.77, 0.83], [0.80, 0.80, 0.80], 0.01)
    assert noisy.verdict == INCONCLUSIVE, "no significant difference is not evidence of no worse"
    assert NoWorse("erm", "acc").judge([0.70, 0.71, 0.69], [0.80, 0.80, 0.81], 0.01).verdict == CONTRADICTED
    assert (
        NoWorse("erm", "acc").judge(x, y).verdict == INCONCLUSIVE
        and "needs its margin" in NoWorse("erm", "acc").judge(x, y).reason
    )


def test_same_as_is_statsmodels_tost():
    from statsmodels.stats.weightstats import ttost_paired

    from kx_tasks.core.claims import SameAs

    x = [0.801, 0.797, 0.803, 0.799, 0.800, 0.802]
    y = [0.800, 0.800, 0.801, 0.800, 0.802, 0.799]
    v = SameAs("b", "acc", 0.005).judge(x, y)
    assert v.verdict == REPRODUCED and v.delta == 0.005
    assert v.p == pytest.approx(ttost_paired(np.array(x), np.array(y), -0.005, 0.005)[0])
    assert SameAs("b", "acc", 0.005).judge([0.80, 0.81, 0.79], [0.80, 0.80, 0.80]).verdict == INCONCLUSIVE


def test_a_relative_delta_is_a_fraction_of_the_baseline():
    from kx_tasks.core.claims import Delta

    assert Delta(0.1, "a tenth", relative=True).resolve([20.0, 22.0, -21.0]) == pytest.approx(0.7)
    assert Delta(0.02, "bits").resolve([3.0]) == 0.02


def test_every_comparative_claim_declares_its_smallest_effect_of_interest():
    from kx_tasks.core.claims import BestAmong, NoWorse, SameAs
    from kx_tasks.core.registry import discover

    missing = [
        c.id
        for t in discover().values()
        for c in t.claims
        if isinstance(c.judge, (Beats, NoWorse, SameAs, BestAmong)) and (c.delta is None or not c.delta.reason)
    ]
    assert not missing, f"comparative claims without δ and its reason: {missing}"
