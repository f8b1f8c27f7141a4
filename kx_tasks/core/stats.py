"""The statistics of a comparison over paired seeds, from scipy and statsmodels: the effect with its interval, the
probability of improvement, the smallest effect the seeds can detect, the seeds a decision would need, and the
multiplicity adjustment over all claims of a report.

The seed is the unit of replication (Agarwal et al. 2021; Bouthillier et al. 2021): a comparison pairs the two
variants' values seed by seed (the same seed gives both the same data order, initial weights and noise), and every
number here is a function of the per-seed differences d_i (in the claimed direction: positive means the claim's
side is better).

- effect: mean(d) with its 95% Student-t interval; p: the paired t-test (`scipy.stats.ttest_rel`), two-sided.
- p_improve: P(A > B) over the paired seeds, the share of seeds where the claim's side is better (ties count ½),
  with its 95% Wilson interval (`statsmodels.stats.proportion.proportion_confint`); with paired seeds this is the
  paired form of the Mann–Whitney probability of improvement rliable reports.
- mde: the smallest |mean difference| that the two-sided paired t-test at α detects with power 0.8 at this n and
  the observed standard deviation of d (`statsmodels.stats.power.TTestPower`).
- seeds_needed: the n at which the same test has power 0.8 against an effect of a given size (the claim's smallest
  effect of interest where declared, else the observed effect), at the observed standard deviation.
- Holm's step-down adjustment over a report's p-values (`statsmodels.stats.multitest.multipletests`): the family-wise
  error over all its claims stays ≤ α.

References: Colas, Sigaud & Oudeyer 2018 ("How Many Random Seeds?"); Lakens 2017 (equivalence tests, the smallest
effect size of interest); Holm 1979.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
POWER = 0.8
CONFIDENCE = 0.95
MAX_SEEDS = 1000  # seeds_needed beyond this is reported as "> MAX_SEEDS" (the search's upper end)


@dataclass(frozen=True)
class Paired:
    """A paired comparison: per-seed differences in the claimed direction, summarised."""

    n: int
    effect: float  # mean difference, positive when the claim's side is better
    sd: float  # standard deviation of the differences (ddof 1; 0 for one seed)
    effect_low: float
    effect_high: float
    p: float  # two-sided paired t-test (nan for one seed)
    p_improve: float
    p_improve_low: float
    p_improve_high: float

    def mde(self, alpha: float = ALPHA, power: float = POWER) -> float:
        return mde(self.sd, self.n, alpha, power)

    def seeds_needed(self, effect: float | None = None, alpha: float = ALPHA, power: float = POWER) -> float:
        """Seeds for power 0.8 against `effect` (default: the observed one) at the observed spread."""
        return seeds_needed(abs(self.effect if effect is None else effect), self.sd, alpha, power)


def paired(values, baseline, higher_is_better: bool = True, confidence: float = CONFIDENCE) -> Paired:
    """The comparison of `values` with `baseline`, seed by seed (same order, same length); the effect's interval at
    `confidence` (1 − the level the comparison is decided at: 95% at one look)."""
    from scipy import stats
    from statsmodels.stats.proportion import proportion_confint

    x, y = np.asarray(values, float), np.asarray(baseline, float)
    d = (x - y) if higher_is_better else (y - x)
    n = len(d)
    effect = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else 0.0
    if n > 1 and sd > 1e-12 * max(1.0, abs(effect)):
        half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))
        p = float(stats.ttest_rel(d, np.zeros(n)).pvalue)
    else:  # one seed, or the same difference in every seed: no spread to test against
        half = 0.0
        p = math.nan if n < 2 else (0.0 if effect != 0 else 1.0)
    wins = float((d > 0).sum() + 0.5 * (d == 0).sum())
    low, high = proportion_confint(wins, n, alpha=1 - CONFIDENCE, method="wilson")
    return Paired(n, effect, sd, effect - half, effect + half, p, wins / n, float(low), float(high))


def mde(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest mean difference the two-sided paired t-test detects with `power` at n seeds; inf below 2 seeds,
    0 when the differences do not vary."""
    if n < 2:
        return math.inf
    if sd == 0:
        return 0.0
    from statsmodels.stats.power import TTestPower

    d = TTestPower().solve_power(nobs=n, alpha=alpha, power=power, alternative="two-sided")
    return float(d) * sd


def power_at(effect: float, sd: float, n: int, alpha: float = ALPHA) -> float:
    """The power of the two-sided paired t-test against a true mean difference `effect` (sd of the differences)."""
    from scipy import stats
    from statsmodels.stats.power import TTestPower

    d = abs(effect) / sd
    p = float(TTestPower().power(effect_size=d, nobs=n, alpha=alpha, alternative="two-sided"))
    if math.isnan(p):  # the noncentral t's tail can fail far out (d·√n in the tens): the normal limit
        p = float(stats.norm.cdf(d * math.sqrt(n) - stats.norm.ppf(1 - alpha / 2)))
    return p


def seeds_needed(effect: float, sd: float, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest n ≥ 2 at which the paired test has `power` against `effect`; inf when none up to MAX_SEEDS
    (or when the effect is 0)."""
    if sd == 0:
        return 2.0 if effect != 0 else math.inf
    if effect == 0:
        return math.inf
    return _smallest_n(lambda n: power_at(effect, sd, n, alpha) >= power)


def _smallest_n(ok) -> float:
    """The smallest n in [2, MAX_SEEDS] with ok(n), for an `ok` that stays true once true (bisection); inf when
    none."""
    if not ok(MAX_SEEDS):
        return math.inf
    low, high = 1, MAX_SEEDS  # ok(high); the answer lies in (low, high]
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if ok(mid) else (mid, high)
    return float(high)


def seeds_to_decide(st: Paired, delta: float | None, alpha: float = ALPHA, power: float = POWER) -> float:
    """Seeds that would decide the comparison at the observed spread: to detect the observed effect when it is at
    least δ (or no δ is declared), else to show it inside ±δ — the n at which the one-sided bound's distance from
    the observed effect, t(1−α, n−1)·sd/√n plus z(power)·sd/√n, fits in δ − |effect| (a normal-theory power
    approximation of the equivalence test)."""
    from scipy import stats

    size = abs(st.effect)
    if delta is None or size >= delta:
        return seeds_needed(size, st.sd, alpha, power)
    if st.sd == 0:
        return 2.0
    room, z = delta - size, stats.norm.ppf(power)
    return _smallest_n(lambda n: (stats.t.ppf(1 - alpha, n - 1) + z) * st.sd / math.sqrt(n) <= room)


def holm(pvalues, alpha: float = ALPHA) -> np.ndarray:
    """Holm-adjusted p-values (nan stays nan: a claim without a test is not part of the family)."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, float)
    out = np.full_like(p, np.nan)
    tested = ~np.isnan(p)
    if tested.any():
        out[tested] = multipletests(p[tested], alpha=alpha, method="holm")[1]
    return out
