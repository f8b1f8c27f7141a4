"""Claim judges: thresholds on a t-interval, worst-case bounds, tolerances, paired comparisons."""

from kx_tasks.core.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, AtLeast, AtMost, Beats, Summary, Within


def test_summary_interval():
    s = Summary.of([1.0, 2.0, 3.0])
    assert s.mean == 2.0 and s.n == 3
    assert s.low < 2.0 < s.high
    one = Summary.of([5.0])
    assert (one.low, one.high, one.std) == (5.0, 5.0, 0.0)


def test_threshold_uses_the_interval_not_the_mean():
    assert AtLeast(0.8).judge([0.90, 0.91, 0.92]).verdict == REPRODUCED
    assert AtLeast(0.8).judge([0.60, 0.61, 0.62]).verdict == NOT_REPRODUCED
    # mean above the line, but the seeds scatter across it
    assert AtLeast(0.8).judge([0.70, 0.95, 0.90]).verdict == INCONCLUSIVE
    assert AtMost(1.0).judge([0.5]).reason.startswith("1 seed")
    assert AtMost(1.0).judge([float("nan")]).verdict == INCONCLUSIVE


def test_every_seed_is_a_worst_case_claim():
    assert AtMost(1.0, every_seed=True).judge([0.2, 0.9]).verdict == REPRODUCED
    v = AtMost(1.0, every_seed=True).judge([0.2, 1.5, 0.1])
    assert v.verdict == NOT_REPRODUCED and "1 of 3" in v.reason


def test_within_tolerance():
    assert Within(50.0, 1.0).judge([49.9, 50.1, 50.0]).verdict == REPRODUCED
    assert Within(50.0, 1.0).judge([45.0, 45.1, 44.9]).verdict == NOT_REPRODUCED


def test_beats_is_a_paired_test():
    ours, base = [0.85, 0.86, 0.84, 0.85], [0.70, 0.72, 0.69, 0.71]
    assert Beats("base").judge(ours, base).verdict == REPRODUCED
    assert Beats("base").judge(base, ours).verdict == NOT_REPRODUCED
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
    zero_wins = judge.judge_pool({"r0": shift(0.05), "r10": base, "r15": shift(-0.01), "r50": shift(-0.02)})
    assert zero_wins.verdict == "not reproduced"
    assert judge.judge_pool({"r0": base}).verdict == "inconclusive"
