"""The statistics of a comparison (kx_tasks.core.stats) against scipy, statsmodels, hand computation and simulation,
and the report's multiplicity adjustment (Holm) re-reading the verdicts it changes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats as sps

from kx_tasks.core import report, stats
from kx_tasks.core.claims import INCONCLUSIVE, REPRODUCED, Beats
from kx_tasks.core.registry import discover

X = np.array([0.81, 0.84, 0.79, 0.86, 0.83])
Y = np.array([0.78, 0.80, 0.80, 0.81, 0.79])


def test_effect_interval_and_p_are_scipys_paired_t():
    st = stats.paired(X, Y)
    d = X - Y
    low, high = sps.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=sps.sem(d))
    assert st.n == 5 and st.effect == pytest.approx(d.mean())
    assert (st.effect_low, st.effect_high) == pytest.approx((low, high))
    assert st.p == pytest.approx(sps.ttest_rel(X, Y).pvalue)
    flipped = stats.paired(X, Y, higher_is_better=False)  # the claimed direction: lower is better
    assert flipped.effect == pytest.approx(-st.effect) and flipped.p == pytest.approx(st.p)


def test_probability_of_improvement_and_its_wilson_interval():
    st = stats.paired(X, Y)  # differences +.03 +.04 −.01 +.05 +.04: 4 of 5 better
    assert st.p_improve == pytest.approx(0.8)
    z = sps.norm.ppf(0.975)
    n, p = 5, 0.8  # Wilson's score interval by hand
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert (st.p_improve_low, st.p_improve_high) == pytest.approx((centre - half, centre + half))
    assert stats.paired([1.0, 2.0], [1.0, 1.0]).p_improve == pytest.approx(0.75), "a tie counts one half"


def test_power_matches_simulation():
    """The paired test's power at a known effect, against 4,000 simulated experiments (Monte-Carlo error)."""
    rng = np.random.default_rng(0)
    n, effect, sd, reps = 6, 0.8, 1.0, 4000
    d = rng.normal(effect, sd, size=(reps, n))
    hits = (sps.ttest_1samp(d, 0.0, axis=1).pvalue < 0.05).mean()
    expected = stats.power_at(effect, sd, n)
    assert abs(hits - expected) < 3 * math.sqrt(expected * (1 - expected) / reps), (hits, expected)


def test_mde_is_the_effect_with_power_080_and_seeds_needed_the_smallest_n():
    sd, n = 0.02, 3
    mde = stats.mde(sd, n)
    assert stats.power_at(mde, sd, n) == pytest.approx(0.8, abs=1e-6)
    needed = int(stats.seeds_needed(0.01, sd))
    assert stats.power_at(0.01, sd, needed) >= 0.8 > stats.power_at(0.01, sd, needed - 1)
    from statsmodels.stats.power import TTestPower

    assert needed == math.ceil(TTestPower().solve_power(effect_size=0.5, alpha=0.05, power=0.8))
    assert math.isinf(stats.seeds_needed(1e-4, 1.0)), "beyond the cap"
    assert math.isinf(stats.mde(1.0, 1)) and stats.seeds_needed(0.0, 1.0) == math.inf


def test_three_seeds_need_a_difference_of_248_sd_two_sided():
    """The issue's fact: with 3 paired seeds the two-sided test at 0.05 needs mean/sd above t(0.975, 2)/√3 = 2.48."""
    threshold = sps.t.ppf(0.975, 2) / math.sqrt(3)
    assert threshold == pytest.approx(2.48, abs=0.005)
    just_above = stats.paired([threshold * 1.01 + e for e in (-1, 0, 1)], [0, 0, 0])
    assert just_above.p < 0.05 < stats.paired([threshold * 0.99 + e for e in (-1, 0, 1)], [0, 0, 0]).p


def test_holm_on_a_known_p_vector():
    """Holm 1979 by hand: sorted p × (m − rank), made monotone; nan (no test) stays out of the family."""
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005, math.nan])
    assert adjusted[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02]) and math.isnan(adjusted[4])


def _run(root, variant, seed, metrics):
    run = root / "det" / variant / f"seed{seed}"
    for stage in ("train", "eval"):
        (run / stage).mkdir(parents=True)
        record = {"task": "det", "variant": variant, "seed": seed, "wall_time_s": 1.0, "device": "cpu"}
        (run / stage / "run.json").write_text(
            json.dumps(record | {"config_hash": "h", "run_hash": "h", "git_commit": None})
        )
    (run / "eval" / "metrics.json").write_text(json.dumps(metrics))
    return run


def test_the_report_adjusts_every_test_and_rereads_the_verdicts(tmp_path, monkeypatch):
    """Two comparisons each significant alone (p ≈ 0.03 and 0.02) but not both under Holm: the counts use the
    adjusted verdicts; claims.csv keeps the raw ones and every comparison column."""
    import dataclasses

    from kx_tasks.core.claims import Claim, Delta

    tasks = discover()
    claims = (
        Claim("det.a", "a beats b", "a", Beats("b"), delta=Delta(0.01, "a test")),
        Claim("det.c", "c beats d", "c", Beats("d"), delta=Delta(0.01, "a test")),
    )
    tasks = {**tasks, "det": dataclasses.replace(tasks["det"], claims=claims)}
    a, c = [1.07, 1.10, 1.13], [1.06, 1.10, 1.14]  # against 1.0: p = 0.029 and 0.049 alone, 0.058 both under Holm
    runs = [_run(tmp_path, "float64", s, {"a": a[s], "b": 1.0, "c": c[s], "d": 1.0}) for s in range(3)]
    table = report.build(tasks, runs, tmp_path / "report").set_index("claim")
    p_a, p_c = table.loc["det.a", "p"], table.loc["det.c", "p"]
    assert 0.025 < p_a < p_c < 0.05
    assert table.loc["det.a", "p_adjusted"] == pytest.approx(2 * p_a)  # Holm by hand: 2·p₁, then max(2·p₁, p₂)
    assert table.loc["det.c", "p_adjusted"] == pytest.approx(max(2 * p_a, p_c))
    for claim in ("det.a", "det.c"):
        row = table.loc[claim]
        assert row.effect_low <= row.effect <= row.effect_high and row.look == 1 and row.mde > 0
        assert (row.verdict, row.verdict_unadjusted) == (INCONCLUSIVE, REPRODUCED)
        assert "Holm-adjusted p=" in row.reason and row.delta > 0
    index = (tmp_path / "report" / "index.html").read_text()
    assert "0 reproduced" in index and "effect +0.1 [" in index
    import pandas as pd

    written = pd.read_csv(tmp_path / "report" / "claims.csv")
    assert {
        "effect",
        "effect_low",
        "effect_high",
        "p_improve",
        "delta",
        "mde",
        "seeds_needed",
        "n",
        "p",
        "p_adjusted",
        "look",
    } <= set(written.columns)


def test_holm_undoes_a_verdict_that_only_a_raw_p_supported():
    verdict = Beats("b").judge([1.10, 1.21, 1.15, 1.32], [1.0, 1.1, 1.05, 1.2])
    assert verdict.verdict == REPRODUCED and verdict.p == verdict.stats.p < 0.05
    undone = Beats("b").adjusted(verdict, 0.2)
    assert undone.verdict == INCONCLUSIVE and "Holm-adjusted p=0.2" in undone.reason
    assert Beats("b").adjusted(verdict, 0.01).verdict == REPRODUCED


def test_interleaved_timing_is_a_ratio_that_load_on_both_sides_cancels():
    """kx_tasks.core.timing: a step of 40 ms against one of 20 ms reads 2, and stays 2 when both are slowed alike (the
    load a busy machine puts on both of two steps timed alternately)."""
    import time

    from kx_tasks.core.timing import interleaved_ratio

    def slow(seconds):
        def run():
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:  # busy wait: sleep's granularity would blur 2 ms
                pass

        return run

    quiet = interleaved_ratio(slow(0.04), slow(0.02), steps=9)
    loaded = interleaved_ratio(slow(0.08), slow(0.04), steps=9)  # everything twice as slow
    assert quiet == pytest.approx(2.0, rel=0.15) and loaded == pytest.approx(2.0, rel=0.15)
