"""Claims as data, and how each is judged from the metrics of several seeds.

A claim reads one metric (and, for comparisons, a baseline metric) from every seed of a (task, variant) and
returns a verdict: reproduced, not reproduced, or inconclusive, always with the reason. Thresholds are judged on
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

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str
    stats: Paired | None = None  # a comparison's statistics (over the paired seeds)
    tested: bool = False  # the verdict rests on stats.p < α: the multiplicity adjustment may undo it


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


@dataclass(frozen=True)
class AtLeast:
    """mean ≥ value (95% interval), or with every_seed=True a worst-case claim: each seed ≥ value."""

    value: float
    every_seed: bool = False

    def describe(self) -> str:
        return f"≥ {self.value:g}" + (" in every seed" if self.every_seed else "")

    def judge(self, values, baseline=None) -> Verdict:
        return _threshold(values, self.value, above=True, every_seed=self.every_seed)


@dataclass(frozen=True)
class AtMost:
    """mean ≤ value (95% interval), or with every_seed=True a worst-case claim: each seed ≤ value."""

    value: float
    every_seed: bool = False

    def describe(self) -> str:
        return f"≤ {self.value:g}" + (" in every seed" if self.every_seed else "")

    def judge(self, values, baseline=None) -> Verdict:
        return _threshold(values, self.value, above=False, every_seed=self.every_seed)


def _threshold(values, value: float, above: bool, every_seed: bool) -> Verdict:
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
        return Verdict(
            NOT_REPRODUCED, f"{int((~ok).sum())} of {len(x)} seeds miss {sign} {value:g} (worst {worst:.4g})"
        )
    good = s.low >= value if above else s.high <= value
    bad = s.high < value if above else s.low > value
    note = _interval_note(s)
    if good:
        return Verdict(REPRODUCED, f"{note} {sign} {value:g}")
    if bad:
        return Verdict(NOT_REPRODUCED, f"{note} misses {sign} {value:g}")
    return Verdict(INCONCLUSIVE, f"{note} contains {value:g}")


@dataclass(frozen=True)
class Within:
    target: float
    tolerance: float

    def describe(self) -> str:
        return f"= {self.target:g} ± {self.tolerance:g}"

    def judge(self, values, baseline=None) -> Verdict:
        s = Summary.of(values)
        lo, hi = self.target - self.tolerance, self.target + self.tolerance
        note = _interval_note(s)
        if math.isnan(s.mean):
            return Verdict(INCONCLUSIVE, "the metric is NaN")
        if lo <= s.low and s.high <= hi:
            return Verdict(REPRODUCED, f"{note} inside [{lo:g}, {hi:g}]")
        if s.high < lo or s.low > hi:
            return Verdict(NOT_REPRODUCED, f"{note} outside [{lo:g}, {hi:g}]")
        return Verdict(INCONCLUSIVE, f"{note} overlaps the edge of [{lo:g}, {hi:g}]")


def _paired(values, baseline, higher_is_better: bool) -> Paired | Verdict:
    """The paired statistics (kx_tasks.core.stats.paired), or an inconclusive Verdict for one seed."""
    stats = paired(values, baseline, higher_is_better)
    if stats.n < 2:
        return Verdict(INCONCLUSIVE, f"1 seed (difference {stats.effect:+.4g}); a paired test needs ≥ 2", stats)
    return stats


def _undone(verdict: Verdict, p_adjusted: float, alpha: float, otherwise: str) -> Verdict:
    """A verdict that rested on p < α, re-read at the Holm-adjusted p: kept, or `otherwise` when no longer < α."""
    if not verdict.tested or p_adjusted < alpha:
        return verdict
    return Verdict(otherwise, f"{verdict.reason}; Holm-adjusted p={p_adjusted:.3g} ≥ α", verdict.stats, False)


@dataclass(frozen=True)
class Beats:
    """The metric is better than `baseline`, paired over seeds: another metric of the same runs, or with `variant`
    the baseline metric of another variant of the same task (the same seeds: common random numbers)."""

    baseline: str
    higher_is_better: bool = True
    alpha: float = 0.05
    variant: str | None = None

    def describe(self) -> str:
        base = f"{self.baseline} of {self.variant}" if self.variant else self.baseline
        return f"{'>' if self.higher_is_better else '<'} {base} (paired t-test, α={self.alpha:g})"

    def judge(self, values, baseline=None) -> Verdict:
        if baseline is None:
            return Verdict(INCONCLUSIVE, f"baseline metric '{self.baseline}' is missing")
        st = _paired(values, baseline, self.higher_is_better)
        if isinstance(st, Verdict):
            return st
        note = f"mean difference {st.effect:+.4g} in the claimed direction, p={st.p:.3g}, n={st.n}"
        if st.p < self.alpha:
            return Verdict(REPRODUCED if st.effect > 0 else NOT_REPRODUCED, note, st, tested=True)
        return Verdict(INCONCLUSIVE, note + f" (not significant at α={self.alpha:g})", st)

    def adjusted(self, verdict: Verdict, p_adjusted: float) -> Verdict:
        return _undone(verdict, p_adjusted, self.alpha, INCONCLUSIVE)


@dataclass(frozen=True)
class NoWorse:
    """The metric is not significantly worse than the same metric of another variant (paired over seeds): the
    "at no cost" half of a claim. Not reproduced only when it is significantly worse."""

    variant: str
    baseline: str
    higher_is_better: bool = True
    alpha: float = 0.05

    def describe(self) -> str:
        return f"not significantly {'below' if self.higher_is_better else 'above'} {self.baseline} of {self.variant}"

    def judge(self, values, baseline=None) -> Verdict:
        if baseline is None:
            return Verdict(INCONCLUSIVE, f"no run of {self.variant} reported '{self.baseline}'")
        st = _paired(values, baseline, self.higher_is_better)
        if isinstance(st, Verdict):
            return st
        note = f"mean difference {st.effect:+.4g} (positive: better), p={st.p:.3g}, n={st.n}"
        if st.effect < 0 and st.p < self.alpha:
            return Verdict(NOT_REPRODUCED, note + " (significantly worse)", st, tested=True)
        return Verdict(REPRODUCED, note + " (not significantly worse)", st)

    def adjusted(self, verdict: Verdict, p_adjusted: float) -> Verdict:
        return _undone(verdict, p_adjusted, self.alpha, REPRODUCED)


@dataclass(frozen=True)
class SameAs:
    """The per-seed difference to the same metric of another variant lies within ±tolerance (its 95% t-interval
    inside the band: equivalence; outside it: not; otherwise inconclusive)."""

    variant: str
    baseline: str
    tolerance: float

    def describe(self) -> str:
        return f"= {self.baseline} of {self.variant} ± {self.tolerance:g} (paired)"

    def judge(self, values, baseline=None) -> Verdict:
        if baseline is None:
            return Verdict(INCONCLUSIVE, f"no run of {self.variant} reported '{self.baseline}'")
        diff = np.asarray(values, float) - np.asarray(baseline, float)
        verdict = Within(0.0, self.tolerance).judge(diff)
        st = paired(values, baseline)
        return Verdict(verdict.verdict, f"difference {diff.mean():+.4g}: {verdict.reason}", st)


@dataclass(frozen=True)
class BestAmong:
    """A sweep's best setting: the variant with the best mean of the metric over `pool` (variants of the same task,
    paired by seed) must be one of `winners` and beat `reference` (paired t-test). Not reproduced when `reference`
    beats every winner; inconclusive otherwise."""

    pool: tuple[str, ...]
    winners: tuple[str, ...]
    reference: str
    higher_is_better: bool = True
    alpha: float = 0.05

    def describe(self) -> str:
        return f"best of {', '.join(self.pool)} is one of {', '.join(self.winners)} and beats {self.reference}"

    def judge_pool(self, values: dict[str, dict[int, float]]) -> Verdict:
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
            return _paired([present[a][k] for k in seeds], [present[b][k] for k in seeds], self.higher_is_better)

        if best in self.winners:
            st = compare(best, self.reference)
            if isinstance(st, Verdict):
                return Verdict(INCONCLUSIVE, f"best {best} ({ranking}); {st.reason}", st.stats)
            note = f"best {best} ({ranking}); vs {self.reference}: {st.effect:+.4g}, p={st.p:.3g}, n={st.n}"
            won = st.p < self.alpha and st.effect > 0
            return Verdict(REPRODUCED if won else INCONCLUSIVE, note, st, tested=won)
        results = [compare(self.reference, w) for w in self.winners if w in present]
        beaten = [not isinstance(r, Verdict) and r.p < self.alpha and r.effect > 0 for r in results]
        if all(beaten):
            weakest = max(results, key=lambda r: r.p)  # every one must hold: the largest p decides
            return Verdict(
                NOT_REPRODUCED,
                f"best {best} ({ranking}); {self.reference} beats every one of "
                f"{', '.join(self.winners)} (paired, α={self.alpha:g})",
                weakest,
                tested=True,
            )
        return Verdict(INCONCLUSIVE, f"best {best} ({ranking}), not one of {', '.join(self.winners)}")

    def adjusted(self, verdict: Verdict, p_adjusted: float) -> Verdict:
        return _undone(verdict, p_adjusted, self.alpha, INCONCLUSIVE)


@dataclass(frozen=True)
class Claim:
    id: str  # unique within the task, e.g. "det.square"
    statement: str  # what the post (or kx) says, in one sentence
    metric: str  # the metrics.json key it reads
    judge: AtLeast | AtMost | Within | Beats | NoWorse | SameAs | BestAmong
    source: str = "post"  # "post": the blog's claim; "kx": a check kx adds
    variants: tuple[str, ...] | None = None  # None: judged on every variant that ran
    # Parameters the statement's wording depends on (e.g. the mask ratios an identity was checked at): the report
    # appends their values as the runs had them, so a claim is never read at settings that did not run.
    params: tuple[str, ...] = ()

    def rule(self) -> str:
        return f"{self.metric} {self.judge.describe()}"
