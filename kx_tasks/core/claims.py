"""Claims as data, and how each is judged from the metrics of several seeds.

A claim reads one metric (and, for comparisons, a baseline metric) from every seed of a (task, variant) and
returns a verdict: reproduced, contradicted, no effect (comparisons: the difference shown smaller than the claim's
smallest effect of interest δ) or inconclusive, always with the reason. Thresholds are judged on
a 95% Student-t interval of the mean over seeds, comparisons on a paired t-test, so a single lucky seed cannot
make a claim hold. A comparison's verdict carries its statistics (kx_tasks.core.stats.Paired: the effect with its
interval, P(A > B), mde, seeds needed) and, when it rests on a test at α, that test's p-value: the report adjusts
those over all its claims (Holm) and each judge re-reads its verdict at the adjusted p (`adjusted`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kx_tasks.core.stats import Paired, paired

# The four outcomes. Three are decisions: reproduced (the claim holds: significant in the claimed direction, or a
# "same"/"no worse" shown within its margin δ), contradicted (significant the other way, or outside the margin), no
# effect (the effect's interval lies inside ±δ: a decided negative for a claim that something is better); the
# fourth, inconclusive, is not (the report says how many seeds would decide it).
REPRODUCED, CONTRADICTED, NO_EFFECT, INCONCLUSIVE = "reproduced", "contradicted", "no effect", "inconclusive"
VERDICTS = (REPRODUCED, CONTRADICTED, NO_EFFECT, INCONCLUSIVE)
DECISIONS = (REPRODUCED, CONTRADICTED, NO_EFFECT)
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str
    stats: Paired | None = None  # a comparison's statistics (over the paired seeds)
    p: float = math.nan  # the p-value of the claim's own test (the family the report adjusts); nan: no test
    delta: float | None = None  # the smallest effect of interest it was judged with, in the metric's units


@dataclass(frozen=True)
class Delta:
    """A comparative claim's smallest effect of interest, in the metric's units (relative=True: as a fraction of the
    baseline's mean), with its source or reason (the gain a paper reports, a fraction of it, the noise floor)."""

    value: float
    reason: str
    relative: bool = False

    def resolve(self, baseline) -> float:
        return self.value * abs(float(np.mean(baseline))) if self.relative else self.value

    def describe(self) -> str:
        return f"δ = {self.value:g}" + (" × the baseline's mean" if self.relative else "")


@dataclass(frozen=True)
class Summary:
    """mean ± std over n seeds, with the 95% t-interval of the mean (the point value when n = 1)."""

    mean: float
    std: float
    n: int
    low: float
    high: float

    @classmethod
    def of(cls, values) -> Summary:
        from scipy import stats  # deferred: every task imports this module, few processes judge claims

        x = np.asarray(values, dtype=float)
        n = len(x)
        mean = float(x.mean())
        std = float(x.std(ddof=1)) if n > 1 else 0.0
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * std / math.sqrt(n)) if n > 1 and std > 0 else 0.0
        return cls(mean, std, n, mean - half, mean + half)

    def text(self) -> str:
        return f"{self.mean:.4g} ± {self.std:.2g} (n={self.n})"


def _interval_note(s: Summary) -> str:
    return "1 seed, no interval" if s.n == 1 else f"95% CI [{s.low:.4g}, {s.high:.4g}]"


ONE_RUN, MEAN, THEORY = "one run", "mean", "theory"


@dataclass(frozen=True)
class Figure:
    """What a published number a threshold claim is judged against is: one run (judged against the 95% prediction
    interval of one run of ours, mean ± t·s·√(1 + 1/n): the author's run is one draw, not a mean), a mean of several
    runs, or a theoretical value (both judged against the interval of our mean); `note` says where that is stated."""

    kind: str
    note: str

    def describe(self) -> str:
        return f" (published: {self.kind}" + ("; one run's 95% prediction interval)" if self.kind == ONE_RUN else ")")


def predict(values) -> tuple[float, float]:
    """The 95% prediction interval of one more run from the seeds' values (Student t, n − 1 degrees of freedom)."""
    from scipy import stats

    s = Summary.of(values)
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, s.n - 1) * s.std * math.sqrt(1 + 1 / s.n))
    return s.mean - half, s.mean + half


def chance_of_one_run(values, value: float, above: bool) -> float:
    """The predictive probability that one run is ≥ value (above) or ≤ value: Student t at the seeds' mean and
    spread (the law the prediction interval is read from)."""
    from scipy import stats

    s = Summary.of(values)
    if s.std == 0:
        return float((s.mean >= value) if above else (s.mean <= value))
    z = (s.mean - value) / (s.std * math.sqrt(1 + 1 / s.n))
    return float(stats.t.cdf(z if above else -z, s.n - 1))


@dataclass(frozen=True)
class AtLeast:
    """mean ≥ value (95% interval), or with every_seed=True a worst-case claim: each seed ≥ value; against a one-run
    published figure, one run's 95% prediction interval ≥ value."""

    value: float
    every_seed: bool = False
    figure: Figure | None = None

    def describe(self) -> str:
        return f"≥ {self.value:g}" + (" in every seed" if self.every_seed else "") + _figure_text(self.figure)

    def judge(self, values, baseline=None) -> Verdict:
        return _threshold(values, self.value, True, self.every_seed, self.figure)


@dataclass(frozen=True)
class AtMost:
    """mean ≤ value (95% interval), or with every_seed=True a worst-case claim: each seed ≤ value; against a one-run
    published figure, one run's 95% prediction interval ≤ value."""

    value: float
    every_seed: bool = False
    figure: Figure | None = None

    def describe(self) -> str:
        return f"≤ {self.value:g}" + (" in every seed" if self.every_seed else "") + _figure_text(self.figure)

    def judge(self, values, baseline=None) -> Verdict:
        return _threshold(values, self.value, False, self.every_seed, self.figure)


def _figure_text(figure: Figure | None) -> str:
    return figure.describe() if figure else ""


def _one_run(figure: Figure | None) -> bool:
    return figure is not None and figure.kind == ONE_RUN


def _bounds(values, s: Summary, figure: Figure | None) -> tuple[float, float, str]:
    """(low, high, text): the prediction interval of one run against a one-run figure, else the mean's interval."""
    if _one_run(figure):
        low, high = predict(values)
        return low, high, f"one run's 95% PI [{low:.4g}, {high:.4g}] (mean {s.mean:.4g}, n={s.n})"
    return s.low, s.high, _interval_note(s)


def _threshold(values, value: float, above: bool, every_seed: bool, figure: Figure | None = None) -> Verdict:
    s = Summary.of(values)
    if math.isnan(s.mean):
        return Verdict(INCONCLUSIVE, "the metric is NaN")
    sign = "≥" if above else "≤"
    if every_seed:
        x = np.asarray(values, dtype=float)
        ok = x >= value if above else x <= value
        worst = x.min() if above else x.max()
        if ok.all():
            return Verdict(REPRODUCED, f"all {len(x)} seeds {sign} {value:g} (worst {worst:.4g})")
        return Verdict(CONTRADICTED, f"{int((~ok).sum())} of {len(x)} seeds miss {sign} {value:g} (worst {worst:.4g})")
    if s.n < 2:
        return Verdict(INCONCLUSIVE, f"1 seed ({s.mean:.4g}): an interval needs at least 2")
    low, high, note = _bounds(values, s, figure)
    if _one_run(figure):
        note += f", P(one run {sign} {value:g}) ≈ {chance_of_one_run(values, value, above):.2f}"
    good = low >= value if above else high <= value
    bad = high < value if above else low > value
    if good:
        return Verdict(REPRODUCED, f"{note} {sign} {value:g}")
    if bad:
        return Verdict(CONTRADICTED, f"{note} misses {sign} {value:g}")
    return Verdict(INCONCLUSIVE, f"{note} contains {value:g}")


@dataclass(frozen=True)
class Within:
    """mean = target ± tolerance (its 95% interval inside the band); against a one-run published figure, one run's
    95% prediction interval inside it."""

    target: float
    tolerance: float
    figure: Figure | None = None

    def describe(self) -> str:
        return f"= {self.target:g} ± {self.tolerance:g}" + _figure_text(self.figure)

    def judge(self, values, baseline=None) -> Verdict:
        s = Summary.of(values)
        lo, hi = self.target - self.tolerance, self.target + self.tolerance
        if math.isnan(s.mean):
            return Verdict(INCONCLUSIVE, "the metric is NaN")
        if s.n < 2:
            return Verdict(INCONCLUSIVE, f"1 seed ({s.mean:.4g}): an interval needs at least 2")
        low, high, note = _bounds(values, s, self.figure)
        if lo <= low and high <= hi:
            return Verdict(REPRODUCED, f"{note} inside [{lo:g}, {hi:g}]")
        if high < lo or low > hi:
            return Verdict(CONTRADICTED, f"{note} outside [{lo:g}, {hi:g}]")
        return Verdict(INCONCLUSIVE, f"{note} overlaps the edge of [{lo:g}, {hi:g}]")


def _paired(values, baseline, higher_is_better: bool, alpha: float) -> Paired | Verdict:
    """The paired statistics (kx_tasks.core.stats.paired; the effect's interval at 1 − α, the level the comparison
    is decided at), or an inconclusive Verdict for one seed."""
    stats = paired(values, baseline, higher_is_better, confidence=1 - alpha)
    if stats.n < 2:
        return Verdict(INCONCLUSIVE, f"1 seed (difference {stats.effect:+.4g}); a paired test needs ≥ 2", stats)
    return stats


def _inside(st: Paired, delta: float | None) -> bool:
    """The effect's interval (at 1 − the comparison's α) lies inside ±δ."""
    return delta is not None and st.n > 1 and -delta < st.effect_low and st.effect_high < delta


def _shift_p(st: Paired, shift: float, sign: int = 1) -> float:
    """One-sided p of H0: sign·(mean difference) ≤ −shift against > −shift (a non-inferiority test with margin
    `shift`; sign −1 tests the other side), from the summary (Student t with n − 1 degrees of freedom)."""
    from scipy import stats

    effect = sign * st.effect
    if st.sd == 0:
        return 0.0 if effect > -shift else 1.0
    t = (effect + shift) / (st.sd / math.sqrt(st.n))
    return float(stats.t.sf(t, st.n - 1))


def _level(alpha: float) -> str:
    return f"{100 * (1 - alpha):.4g}%"


def _delta_text(delta: float | None) -> str:
    return "" if delta is None else f", δ={delta:.3g}"


@dataclass(frozen=True)
class Beats:
    """The metric is better than `baseline`, paired over seeds: another metric of the same runs, or with `variant`
    the baseline metric of another variant of the same task (the same seeds: common random numbers). Reproduced or
    contradicted by the two-sided paired t-test at α; no effect when the difference's 95% interval lies inside ±δ."""

    baseline: str
    higher_is_better: bool = True
    alpha: float = 0.05
    variant: str | None = None

    def describe(self) -> str:
        base = f"{self.baseline} of {self.variant}" if self.variant else self.baseline
        return f"{'>' if self.higher_is_better else '<'} {base} (paired t-test, α={self.alpha:g})"

    def judge(self, values, baseline=None, delta: float | None = None) -> Verdict:
        if baseline is None:
            return Verdict(INCONCLUSIVE, f"baseline metric '{self.baseline}' is missing")
        st = _paired(values, baseline, self.higher_is_better, self.alpha)
        if isinstance(st, Verdict):
            return st
        return self.decide(st, delta, st.p)

    def decide(self, st: Paired, delta: float | None, p: float) -> Verdict:
        note = f"mean difference {st.effect:+.4g} in the claimed direction, p={p:.3g}, n={st.n}{_delta_text(delta)}"
        if p < self.alpha:
            return Verdict(REPRODUCED if st.effect > 0 else CONTRADICTED, note, st, st.p, delta)
        if _inside(st, delta):
            return Verdict(NO_EFFECT, note + f" ({_level(self.alpha)} interval inside ±δ)", st, st.p, delta)
        return Verdict(INCONCLUSIVE, note + f" (not significant at α={self.alpha:.3g})", st, st.p, delta)

    def adjusted(self, verdict: Verdict, p_adjusted: float) -> Verdict:
        return _reread(self, verdict, p_adjusted)


def _reread(judge, verdict: Verdict, p_adjusted: float) -> Verdict:
    """The verdict decided again at the Holm-adjusted p; the reason says so when that changes it."""
    if verdict.stats is None or math.isnan(verdict.p):
        return verdict
    again = judge.decide(verdict.stats, verdict.delta, p_adjusted)
    if again.verdict == verdict.verdict:
        return Verdict(verdict.verdict, verdict.reason, verdict.stats, verdict.p, verdict.delta)
    reason = f"{again.reason}; Holm-adjusted p={p_adjusted:.3g} (raw {verdict.p:.3g}: {verdict.verdict})"
    return Verdict(again.verdict, reason, verdict.stats, verdict.p, verdict.delta)


@dataclass(frozen=True)
class NoWorse:
    """The metric is no worse than the same metric of another variant by more than δ (paired over seeds): the
    "at no cost" half of a claim, as a non-inferiority test with margin δ (one-sided paired t-test of
    H0: difference ≤ −δ at α). Reproduced when that test rejects; contradicted when the difference's 95% interval lies
    wholly below −δ; inconclusive otherwise ("not significantly worse" is not evidence of "no worse")."""

    variant: str
    baseline: str
    higher_is_better: bool = True
    alpha: float = 0.05

    def describe(self) -> str:
        side = "below" if self.higher_is_better else "above"
        return f"not more than δ {side} {self.baseline} of {self.variant} (non-inferiority, α={self.alpha:g})"

    def judge(self, values, baseline=None, delta: float | None = None) -> Verdict:
        if baseline is None:
            return Verdict(INCONCLUSIVE, f"no run of {self.variant} reported '{self.baseline}'")
        if delta is None:
            return Verdict(INCONCLUSIVE, "a non-inferiority claim needs its margin δ")
        st = _paired(values, baseline, self.higher_is_better, self.alpha)
        if isinstance(st, Verdict):
            return st
        return self.decide(st, delta, _shift_p(st, delta))

    def decide(self, st: Paired, delta: float, p: float) -> Verdict:
        note = (
            f"mean difference {st.effect:+.4g} (positive: better), δ={delta:.3g}, non-inferiority p={p:.3g}, n={st.n}"
        )
        if p < self.alpha:
            return Verdict(REPRODUCED, note + " (worse by less than δ)", st, _shift_p(st, delta), delta)
        if st.n > 1 and st.effect_high < -delta:
            return Verdict(CONTRADICTED, note + " (worse by more than δ)", st, _shift_p(st, delta), delta)
        return Verdict(INCONCLUSIVE, note, st, _shift_p(st, delta), delta)

    def adjusted(self, verdict: Verdict, p_adjusted: float) -> Verdict:
        return _reread(self, verdict, p_adjusted)


@dataclass(frozen=True)
class SameAs:
    """The metric equals the same metric of another variant within ±tolerance (its smallest effect of interest δ),
    paired over seeds: equivalence by two one-sided tests (TOST, statsmodels' ttost_paired) at α; contradicted when
    the difference's 95% interval lies wholly outside ±δ; inconclusive otherwise."""

    variant: str
    baseline: str
    tolerance: float
    alpha: float = 0.05

    def describe(self) -> str:
        return f"= {self.baseline} of {self.variant} ± {self.tolerance:g} (paired TOST, α={self.alpha:g})"

    def judge(self, values, baseline=None, delta: float | None = None) -> Verdict:
        if baseline is None:
            return Verdict(INCONCLUSIVE, f"no run of {self.variant} reported '{self.baseline}'")
        st = _paired(values, baseline, True, self.alpha)
        if isinstance(st, Verdict):
            return st
        return self.decide(st, self.tolerance, tost_p(st, self.tolerance))

    def decide(self, st: Paired, delta: float, p: float) -> Verdict:
        note = (
            f"difference {st.effect:+.4g} [{st.effect_low:+.4g}, {st.effect_high:+.4g}], TOST p={p:.3g} for ±{delta:g}"
        )
        if p < self.alpha:
            return Verdict(REPRODUCED, note + " (equivalent)", st, tost_p(st, delta), delta)
        if st.n > 1 and (st.effect_low > delta or st.effect_high < -delta):
            return Verdict(CONTRADICTED, note + " (outside the band)", st, tost_p(st, delta), delta)
        return Verdict(INCONCLUSIVE, note, st, tost_p(st, delta), delta)

    def adjusted(self, verdict: Verdict, p_adjusted: float) -> Verdict:
        return _reread(self, verdict, p_adjusted)


def tost_p(st: Paired, delta: float) -> float:
    """TOST's p for |mean difference| < δ: the larger of the two one-sided p-values (statsmodels' ttost_paired gives
    the same from the raw values; tested)."""
    return max(_shift_p(st, delta), _shift_p(st, delta, sign=-1))  # H0: difference ≤ −δ; H0: difference ≥ δ


@dataclass(frozen=True)
class BestAmong:
    """A sweep's best setting: the variant with the best mean of the metric over `pool` (variants of the same task,
    paired by seed) must be one of `winners` and beat `reference` (paired t-test). Contradicted when `reference`
    beats every winner; no effect when the best winner's difference to `reference` lies inside ±δ; inconclusive
    otherwise."""

    pool: tuple[str, ...]
    winners: tuple[str, ...]
    reference: str
    higher_is_better: bool = True
    alpha: float = 0.05

    def describe(self) -> str:
        return f"best of {', '.join(self.pool)} is one of {', '.join(self.winners)} and beats {self.reference}"

    def judge_pool(self, values: dict[str, dict[int, float]], delta: float | None = None) -> Verdict:
        """values: variant -> {seed: metric}; variants missing from the pool's runs are left out."""
        present = {v: values[v] for v in self.pool if values.get(v)}
        if self.reference not in present or not any(w in present for w in self.winners):
            return Verdict(INCONCLUSIVE, f"needs runs of {self.reference} and of one of {', '.join(self.winners)}")
        sign = 1 if self.higher_is_better else -1
        means = {v: float(np.mean(list(s.values()))) for v, s in present.items()}
        best = max(means, key=lambda v: sign * means[v])
        ranking = ", ".join(f"{v} {means[v]:.4g}" for v in sorted(means, key=lambda v: -sign * means[v]))

        def compare(a: str, b: str):
            seeds = sorted(set(present[a]) & set(present[b]))
            return _paired(
                [present[a][k] for k in seeds], [present[b][k] for k in seeds], self.higher_is_better, self.alpha
            )

        if best in self.winners:
            st = compare(best, self.reference)
            if isinstance(st, Verdict):
                return Verdict(INCONCLUSIVE, f"best {best} ({ranking}); {st.reason}", st.stats)
            verdict = self.decide(st, delta, st.p)
            return Verdict(
                verdict.verdict, f"best {best} ({ranking}); vs {self.reference}: {verdict.reason}", st, st.p, delta
            )
        results = [compare(self.reference, w) for w in self.winners if w in present]
        beaten = [not isinstance(r, Verdict) and r.p < self.alpha and r.effect > 0 for r in results]
        if all(beaten):
            weakest = max(results, key=lambda r: r.p)  # every one must hold: the largest p decides
            return Verdict(
                CONTRADICTED,
                f"best {best} ({ranking}); {self.reference} beats every one of "
                f"{', '.join(self.winners)} (paired, α={self.alpha:g})",
                weakest,
                weakest.p,
                delta,
            )
        # Neither holds: the statistics of the best winner against the reference, for the report's columns (its p
        # is not a test of this claim, so it stays out of the multiplicity family: nan).
        top = max((w for w in self.winners if w in present), key=lambda v: sign * means[v])
        st = compare(top, self.reference)
        stats = None if isinstance(st, Verdict) else st
        reason = f"best {best} ({ranking}), not one of {', '.join(self.winners)}"
        return Verdict(INCONCLUSIVE, reason, stats, math.nan, delta)

    def decide(self, st: Paired, delta: float | None, p: float) -> Verdict:
        """The best setting (a winner) against the reference, or — for a contradiction — the reference against the
        winner it beats least clearly."""
        note = f"{st.effect:+.4g}, p={p:.3g}, n={st.n}{_delta_text(delta)}"
        if p < self.alpha:
            return Verdict(REPRODUCED if st.effect > 0 else INCONCLUSIVE, note, st, st.p, delta)
        if _inside(st, delta):
            return Verdict(NO_EFFECT, note + f" ({_level(self.alpha)} interval inside ±δ)", st, st.p, delta)
        return Verdict(INCONCLUSIVE, note, st, st.p, delta)

    def adjusted(self, verdict: Verdict, p_adjusted: float) -> Verdict:
        if verdict.verdict == CONTRADICTED:  # the reference beat every winner: it stands only at the adjusted p
            if p_adjusted < self.alpha:
                return verdict
            reason = f"{verdict.reason}; Holm-adjusted p={p_adjusted:.3g} ≥ α (raw: contradicted)"
            return Verdict(INCONCLUSIVE, reason, verdict.stats, verdict.p, verdict.delta)
        return _reread(self, verdict, p_adjusted)


@dataclass(frozen=True)
class Claim:
    id: str  # unique within the task, e.g. "det.square"
    statement: str  # what the post (or kx) says, in one sentence
    metric: str  # the metrics.json key it reads
    judge: AtLeast | AtMost | Within | Beats | NoWorse | SameAs | BestAmong
    source: str = "post"  # "post": the blog's claim; "kx": a check kx adds
    variants: tuple[str, ...] | None = None  # None: judged on every variant that ran
    # A comparison's smallest effect of interest, with its source (every comparative claim declares one; SameAs's
    # tolerance is its own δ).
    delta: Delta | None = None
    # Parameters the statement's wording depends on (e.g. the mask ratios an identity was checked at): the report
    # appends their values as the runs had them, so a claim is never read at settings that did not run.
    params: tuple[str, ...] = ()
    # A 0/1 metric of the same runs saying whether the claim's metric was observed or censored (e.g. "reached_tau":
    # a time to τ that never came is the budget, not a time): a comparison with a censored value in either arm of any
    # seed is inconclusive, never decided on the budget standing in for the time.
    censored_by: str | None = None

    def rule(self) -> str:
        return f"{self.metric} {self.judge.describe()}" + (f", {self.delta.describe()}" if self.delta else "")

    def delta_for(self, baseline) -> float | None:
        """δ in the metric's units for this baseline (SameAs: its tolerance)."""
        if isinstance(self.judge, SameAs):
            return self.judge.tolerance
        return None if self.delta is None or baseline is None else self.delta.resolve(baseline)
