"""Pre-planned looks (kx_tasks.core.looks): the spending function and its nominal levels, the type-I error over the
looks by simulation, the plan's seeds, a comparison judged look by look, the judging job's decision, the config
checks, one-run published figures against a prediction interval, and the multiplicity adjustment of a look's p."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kx_tasks.core import looks
from kx_tasks.core.claims import (
    MEAN,
    ONE_RUN,
    AtLeast,
    Beats,
    Claim,
    Delta,
    Figure,
    SameAs,
    Within,
    chance_of_one_run,
    predict,
)
from kx_tasks.core.looks import Plan, boundaries, spent
from kx_tasks.core.params import ConfigError
from kx_tasks.core.registry import Task
from kx_tasks.core.report import adjust_for_multiplicity, judge_claims, open_variants


def test_spending_is_obrien_fleming_type():
    z = stats.norm.ppf(0.975)
    for t in (0.2, 0.5, 0.6, 1.0):
        assert spent(t) == pytest.approx(2 - 2 * stats.norm.cdf(z / math.sqrt(t)))
    assert spent(1.0) == pytest.approx(0.05) and spent(0.0) == 0.0
    assert boundaries((3,)) == (0.05,), "one look: α itself"
    a = boundaries((3, 5))
    assert a[0] < a[1] < 0.05, a  # O'Brien–Fleming: strict early, close to α at the end
    assert a == boundaries((3, 5)), "deterministic"


@pytest.mark.parametrize("ns", [(2, 3), (3, 5), (3, 6, 10)])
def test_the_looks_keep_the_type_one_error_at_alpha(ns):
    """Under the null (normal differences with any spread), rejecting at any look at its nominal level happens with
    probability ≤ α + Monte-Carlo error: 100,000 experiments from a seed the levels were not read from."""
    levels = boundaries(ns)
    rng = np.random.default_rng(12345)
    reps = 100_000
    x = rng.standard_normal((reps, ns[-1])) * 7.0 + 0.0
    hit = np.zeros(reps, bool)
    for n, level in zip(ns, levels, strict=True):
        hit |= stats.ttest_1samp(x[:, :n], 0.0, axis=1).pvalue < level
    se = math.sqrt(0.05 * 0.95 / reps)
    assert hit.mean() <= 0.05 + 3 * se + 0.0015, (hit.mean(), levels)  # + the levels' own Monte-Carlo error
    assert hit.mean() >= 0.05 - 3 * se - 0.0015, "the levels spend the whole α, not less"


def test_the_looks_gain_power_over_the_first_look_alone():
    """A true effect of one standard deviation is found more often with the second look than at 3 seeds alone."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((20_000, 5)) + 1.0
    a = boundaries((3, 5))
    at3 = stats.ttest_1samp(x[:, :3], 0.0, axis=1).pvalue < 0.05
    either = (stats.ttest_1samp(x[:, :3], 0.0, axis=1).pvalue < a[0]) | (
        stats.ttest_1samp(x, 0.0, axis=1).pvalue < a[1]
    )
    assert either.mean() > at3.mean() + 0.1, (either.mean(), at3.mean())


def test_plan_seeds_and_levels():
    plan = Plan({"a": (0, 1, 2), "b": (0, 1, 2), "grid": tuple(range(10))}, (3, 5))
    assert plan.seeds_at("a", 1) == (0, 1, 2) and plan.seeds_at("a", 2) == (0, 1, 2, 3, 4)
    assert plan.seeds_at("grid", 2) == tuple(range(10)), "a variant with more seeds than the look adds none"
    assert plan.paired_n(("a", "b"), 2) == 5 and plan.paired_n(("a", "grid"), 1) == 3
    assert plan.levels(("a", "b")) == dict(zip((1, 2), boundaries((3, 5)), strict=True))
    assert plan.levels(("grid",)) == {1: 0.05}, "paired seeds that never grow: one look at α"
    assert Plan.from_dict(plan.to_dict()) == plan
    assert Plan({"a": (4, 9)}, (2, 4)).seeds_at("a", 2) == (4, 9, 10, 11)


def toy_task(claims) -> Task:
    return Task("toy", "a toy", "", ("a", "b"), None, {}, claims=tuple(claims))


def metrics_of(values: dict[str, list[float]], metric="m") -> pd.DataFrame:
    rows = [
        {"task": "toy", "variant": v, "seed": s, "metric": metric, "value": x}
        for v, xs in values.items()
        for s, x in enumerate(xs)
    ]
    return pd.DataFrame(rows)


BEATS = Claim("toy.beats", "b beats a", "m", Beats("m", variant="a"), variants=("b",), delta=Delta(0.5, "test"))


def test_a_comparison_is_judged_look_by_look_and_says_where_it_stopped():
    plan = {"toy": Plan({"a": (0, 1, 2), "b": (0, 1, 2)}, (3, 5))}
    base = [0.0, 0.1, -0.1, 0.05, -0.05]
    # A clear effect: decided at look 1 (its level 0.0116), the later seeds unused.
    clear = judge_claims(
        {"toy": toy_task([BEATS])}, metrics_of({"a": base, "b": [5.0, 5.1, 4.9, 5.2, 4.8]}), None, plan
    )
    row = clear.iloc[0]
    assert row.verdict == "reproduced" and row.look == 1 and row.n == 3
    assert row.alpha_look == pytest.approx(boundaries((3, 5))[0])
    # A moderate effect: open at look 1 (p ≈ 0.02 > 0.0116), decided at look 2 on 5 seeds.
    moderate = {"a": base, "b": [1.0, 1.5, 0.6, 1.2, 0.8]}
    p3 = stats.ttest_rel(moderate["b"][:3], base[:3]).pvalue
    assert boundaries((3, 5))[0] < p3 < 0.05
    row = judge_claims({"toy": toy_task([BEATS])}, metrics_of(moderate), None, plan).iloc[0]
    assert row.verdict == "reproduced" and row.look == 2 and row.n == 5
    # The judging job after look 1 keeps both variants for it; after a decision, none.
    decision = open_variants({"toy": toy_task([BEATS])}, metrics_of(moderate), plan, 1)
    assert decision["continue"] == ["a", "b"] and decision["open"][0]["claim"] == "toy.beats"
    clear_metrics = metrics_of({"a": base[:3], "b": [5.0, 5.1, 4.9]})
    assert open_variants({"toy": toy_task([BEATS])}, clear_metrics, plan, 1)["continue"] == []
    # Look 2's seeds did not run (the judging job stopped the variants): the verdict of look 1 stands.
    row = judge_claims({"toy": toy_task([BEATS])}, metrics_of({"a": base[:3], "b": [1.0, 1.5, 0.6]}), None, plan)
    assert row.iloc[0].look == 1 and row.iloc[0].verdict == "inconclusive"


def test_no_effect_at_a_look_uses_that_looks_interval():
    claim = Claim("toy.same", "b equals a", "m", SameAs("a", "m", tolerance=1.0), variants=("b",))
    plan = {"toy": Plan({"a": (0, 1, 2), "b": (0, 1, 2)}, (3, 5))}
    base = [0.0, 0.2, -0.2, 0.1, -0.1]
    near = [0.01, 0.22, -0.19, 0.1, -0.09]
    row = judge_claims({"toy": toy_task([claim])}, metrics_of({"a": base, "b": near}), None, plan).iloc[0]
    assert row.verdict == "reproduced" and row.look == 1, "equivalence shown at look 1's level"
    wide = [0.5, -0.3, 0.4, 0.2, -0.1]
    row = judge_claims({"toy": toy_task([claim])}, metrics_of({"a": base, "b": wide}), None, plan).iloc[0]
    assert row.look == 2 and row.effect_high - row.effect_low > 0


def test_a_looks_p_enters_holm_on_the_scale_of_alpha():
    plan = {"toy": Plan({"a": (0, 1, 2), "b": (0, 1, 2)}, (3, 5))}
    base = [0.0, 0.1, -0.1, 0.05, -0.05]
    claims = judge_claims(
        {"toy": toy_task([BEATS])}, metrics_of({"a": base, "b": [5.0, 5.1, 4.9, 5.2, 4.8]}), None, plan
    )
    out = adjust_for_multiplicity({"toy": toy_task([BEATS])}, claims)
    row, level = out.iloc[0], boundaries((3, 5))[0]
    assert row.p_adjusted == pytest.approx(min(1.0, row.p * 0.05 / level))
    assert row.verdict == "reproduced"


def test_the_config_refuses_looks_it_cannot_plan():
    from kx_tasks.core.settings import check_looks

    check_looks("t", {"looks": [3, 5]}, {"seeds": [0, 1, 2]})
    with pytest.raises(ConfigError, match=r"tasks.t.looks: .* increasing"):
        check_looks("t", {"looks": [5, 3]}, {"seeds": [0, 1, 2]})
    with pytest.raises(ConfigError, match=r"first look \(4\) must be the number of the task's seeds \(3\)"):
        check_looks("t", {"looks": [4, 6]}, {"seeds": [0, 1, 2]})
    with pytest.raises(ConfigError, match="beyond tasks.t.max_seeds"):
        check_looks("t", {"looks": [3, 50], "max_seeds": 20}, {"seeds": [0, 1, 2]})


def test_kx_check_refuses_a_claim_one_seed_cannot_decide_unless_a_pilot():
    from kx_tasks.core.config_file import check, resolve

    config = resolve(["config/smoke.yaml"])
    config["seeds"] = [0]
    config["tasks"]["rsgan"]["variant_seeds"] = {"grid": [0]}
    config["tasks"]["mixup"].pop("looks")
    with pytest.raises(ConfigError, match=r"claim .* cannot be decided at the configured seeds \(1 paired seed"):
        check(config, ["config/smoke.yaml"])
    config["pilot"] = True
    check(config, ["config/smoke.yaml"])


def test_a_one_run_figure_is_judged_on_the_prediction_interval():
    values = [0.850, 0.858, 0.862, 0.855, 0.860]
    # The mean's interval lies above 0.845; one run's prediction interval does not.
    assert AtLeast(0.845).judge(values).verdict == "reproduced"
    one = AtLeast(0.845, figure=Figure(ONE_RUN, "the post reports one run"))
    verdict = one.judge(values)
    low, high = predict(values)
    assert low < 0.845 < high and verdict.verdict == "inconclusive"
    assert "prediction" in one.describe() and "PI" in verdict.reason and "P(one run" in verdict.reason
    n, s = len(values), np.std(values, ddof=1)
    half = stats.t.ppf(0.975, n - 1) * s * math.sqrt(1 + 1 / n)
    assert (low, high) == pytest.approx((np.mean(values) - half, np.mean(values) + half))
    assert 0.5 < chance_of_one_run(values, 0.845, above=True) < 1
    # Far above every run: contradicted; a mean of runs keeps the mean's interval.
    assert one.judge([0.70, 0.71, 0.69]).verdict == "contradicted"
    assert Within(0.86, 0.01, Figure(MEAN, "mean of 10")).judge(values).verdict == "reproduced"
    assert Within(0.86, 0.01, Figure(ONE_RUN, "one")).judge(values).verdict == "inconclusive"


def test_one_seed_never_decides_a_threshold():
    assert AtLeast(0.5).judge([0.9]).verdict == "inconclusive"
    assert Within(1.0, 0.1).judge([1.0]).verdict == "inconclusive"
    assert AtLeast(0.5, every_seed=True).judge([0.9]).verdict == "reproduced", "a worst-case claim is per seed"


def test_published_figures_say_what_they_are():
    from kx_tasks.core.registry import discover

    kinds = {}
    for task in discover().values():
        for claim in task.claims:
            figure = getattr(claim.judge, "figure", None)
            if figure is not None:
                kinds[claim.id] = figure.kind
    assert kinds["vae_cluster.purity_mnist_dec2018"] == ONE_RUN
    assert kinds["pacgan.sgan_anchor"] == MEAN
    assert kinds["gillespie.protein_mean"] == "theory"
    assert kinds["mixup.cifar10_published.mixup"] == ONE_RUN
    assert looks.needs_interval(Claim("x", "", "m", AtLeast(1.0)))


def test_kx_check_states_the_mde_at_the_configured_seeds_from_the_last_report(tmp_path):
    from kx_tasks.core.config_file import resolve
    from kx_tasks.core.registry import discover
    from kx_tasks.core.stats import mde

    config = resolve(["config/config.yaml"])
    rows = pd.DataFrame(
        [
            {"task": "rsgan", "claim": "rsgan.quality", "variant": "mnist.rsgan_sn", "sd": 20.0, "delta": 10.0},
            {"task": "rsgan", "claim": "rsgan.r1_sgan_optimum", "variant": "theory", "sd": np.nan, "delta": np.nan},
        ]
    )
    rows.to_csv(tmp_path / "claims.csv", index=False)
    notes = looks.power_notes(config, {"rsgan": discover()["rsgan"]}, tmp_path / "claims.csv")
    assert notes == [
        f"  rsgan.quality (mnist.rsgan_sn): mde {mde(20.0, 3):.3g} at n=3, {mde(20.0, 5):.3g} at n=5 (last look); δ 10"
    ]


def test_a_comparison_whose_baseline_did_not_run_keeps_no_variant_going():
    plan = {"toy": Plan({"a": (0, 1, 2), "b": (0, 1, 2)}, (3, 5))}
    only_b = metrics_of({"b": [1.0, 1.5, 0.6]})
    assert open_variants({"toy": toy_task([BEATS])}, only_b, plan, 1) == {"look": 1, "open": [], "continue": []}


def test_the_report_opens_with_the_counts_of_adjusted_verdicts():
    from kx_tasks.core.report import outcomes, outcomes_markdown

    claims = pd.DataFrame(
        {
            "source": ["post", "post", "kx"],
            "verdict": ["reproduced", "inconclusive", "no effect"],
            "verdict_unadjusted": ["reproduced", "reproduced", "no effect"],
            "p": [0.001, 0.03, np.nan],
        }
    )
    table = outcomes(claims).set_index(["claims", "verdicts"])
    assert table.loc[("all claims", "adjusted (Holm)"), "inconclusive"] == 1
    assert table.loc[("claims from the posts", "unadjusted"), "reproduced"] == 2
    assert table.loc[("claims from the posts", "adjusted (Holm)"), "total"] == 2
    text = outcomes_markdown(claims)
    assert text.startswith("#### outcomes: ") and "over the report's 2 tests changed 1 verdicts" in text


def test_a_time_to_tau_censored_at_the_budget_decides_nothing():
    claim = Claim(
        "toy.sooner",
        "b reaches τ sooner",
        "steps",
        Beats("steps", higher_is_better=False, variant="a"),
        variants=("b",),
        delta=Delta(10.0, "test"),
        censored_by="reached",
    )
    rows = metrics_of({"a": [500.0, 500.0, 500.0], "b": [500.0, 500.0, 500.0]}, "steps")
    flags = metrics_of({"a": [0.0, 0.0, 0.0], "b": [0.0, 0.0, 0.0]}, "reached")
    row = judge_claims({"toy": toy_task([claim])}, pd.concat([rows, flags]), None, None).iloc[0]
    assert row.verdict == "inconclusive" and "censored at the budget" in row.reason and math.isnan(row.p)
    assert row.seeds_needed == "censored", "more seeds would only measure the budget again"
    uncensored = metrics_of({"a": [1.0, 1.0, 1.0], "b": [1.0, 1.0, 1.0]}, "reached")
    row = judge_claims({"toy": toy_task([claim])}, pd.concat([rows, uncensored]), None, None).iloc[0]
    assert row.verdict == "no effect", "the same times, observed: no effect as large as δ"


def test_one_look_at_one_seed_is_the_level_itself():
    # a pilot's report (one seed, no plan): nothing to spend across looks, and nothing to refuse either
    assert looks.boundaries((1,)) == (0.05,)
    assert looks.Plan.single({"a": [0], "b": [0]}).levels(["a", "b"]) == {1: 0.05}
