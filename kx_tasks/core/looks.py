"""Pre-planned looks: seeds added only where a claim is still open, with α spent across the looks.

A task's config may set `looks: [3, 5]` (seed counts) and `max_seeds` (the cap `seeds_needed` is reported
against). Look 1 runs the configured seeds. After a look, one judging job (the Snakemake checkpoint `judge`) decides
every comparative claim of the task at that look's level; the variants of the claims still open run the next look's
seeds (the configured ones, extended by the next unused seed numbers up to the look's count) and the others stop.
A variant whose configured seeds already reach a look's count (rsgan's grid, 10 seeds) adds none.

α is spent with the Lan–DeMets O'Brien–Fleming-type function α(t) = 2 − 2Φ(z₁₋α/₂ / √t) of the information fraction
t = n / n_last (the claim's paired seeds at the look over those at its last look). The nominal level of each look
is found from the joint normal law of the looks' z statistics (corr(Z_i, Z_j) = √(n_i / n_j)) so that the chance of
crossing at that look, and not before, is α(t_k) − α(t_{k−1}); a claim at that look is decided at that nominal level
(its tests and intervals), and the type-I error over all looks stays ≤ α (simulated in tests/test_looks.py). A claim
whose paired seeds do not grow (its variants all have their own seeds) has one look at α.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache

from kx_tasks.core.stats import ALPHA

DEFAULT_MAX_SEEDS = 100


@dataclass(frozen=True)
class Plan:
    """The looks of one task: seed counts per look (one look, at the configured seeds, when `looks` is empty), each
    variant's configured seeds, and the cap `seeds_needed` is reported against."""

    seeds: dict[str, tuple[int, ...]]
    looks: tuple[int, ...] = ()
    max_seeds: int = DEFAULT_MAX_SEEDS
    alpha: float = ALPHA
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def count(self) -> int:
        return max(1, len(self.looks))

    def seeds_at(self, variant: str, look: int) -> tuple[int, ...]:
        """The variant's seeds at look `look` (1-based): its configured seeds, extended by the next unused seed
        numbers up to the look's count."""
        base = self.seeds[variant]
        want = self.looks[look - 1] if self.looks else len(base)
        extra = max(0, want - len(base))
        return base + tuple(range(max(base) + 1, max(base) + 1 + extra))

    def paired_n(self, variants, look: int) -> int:
        """How many seeds every one of `variants` has at the look (a comparison pairs them by seed)."""
        common = set.intersection(*(set(self.seeds_at(v, look)) for v in variants))
        return len(common)

    def levels(self, variants) -> dict[int, float]:
        """look -> the nominal α a comparison of `variants` is decided at there, for the looks at which its paired
        seeds grow (the first look always); the other looks add nothing to judge."""
        variants = tuple(sorted(variants))
        if variants not in self._cache:
            first = {}
            for k in range(1, self.count + 1):
                first.setdefault(self.paired_n(variants, k), k)
            ns = sorted(first)
            self._cache[variants] = dict(zip((first[n] for n in ns), boundaries(tuple(ns), self.alpha), strict=True))
        return self._cache[variants]

    def to_dict(self) -> dict:
        return {
            "seeds": {v: list(s) for v, s in self.seeds.items()},
            "looks": list(self.looks),
            "max_seeds": self.max_seeds,
            "alpha": self.alpha,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> Plan:
        return cls(
            {v: tuple(s) for v, s in d["seeds"].items()},
            tuple(d.get("looks") or ()),
            int(d.get("max_seeds", DEFAULT_MAX_SEEDS)),
            float(d.get("alpha", ALPHA)),
        )

    @classmethod
    def single(cls, seeds: dict[str, list[int]], max_seeds: int = DEFAULT_MAX_SEEDS) -> Plan:
        """One look at the seeds that ran (a report of runs made without a plan)."""
        return cls({v: tuple(sorted(s)) for v, s in seeds.items()}, (), max_seeds)


def spent(t: float, alpha: float = ALPHA) -> float:
    """α spent by information fraction t: Lan–DeMets' O'Brien–Fleming-type function, two-sided."""
    from scipy.stats import norm

    if t <= 0:
        return 0.0
    return float(2 - 2 * norm.cdf(norm.ppf(1 - alpha / 2) / math.sqrt(min(t, 1.0))))


SIMULATIONS = 200_000  # null experiments the nominal levels are read from (Monte-Carlo error of α ≈ 0.0005)


@lru_cache(maxsize=256)
def boundaries(ns: tuple[int, ...], alpha: float = ALPHA) -> tuple[float, ...]:
    """The nominal two-sided level of the paired t-test at each look at seed counts `ns` (increasing, ≥ 2): the k-th
    is the level at which, under the null (normal differences, any spread), the chance of crossing at look k and
    not before is α(t_k) − α(t_{k−1}). Read off SIMULATIONS null experiments with a fixed seed (the t statistics of
    one experiment's looks share its seeds, which the normal-theory correlation √(n_i/n_j) understates at a few
    seeds and lets the error reach ~0.056 at [2, 3]); one look: α itself. Deterministic."""
    import numpy as np
    from scipy.stats import t as student

    if len(ns) == 1:  # one look (a pilot's one seed too: its comparisons are inconclusive, whatever the level)
        return (alpha,)
    if not ns or list(ns) != sorted(set(ns)) or ns[0] < 2:
        raise ValueError(f"looks must be increasing seed counts of at least 2, got {list(ns)}")
    rng = np.random.default_rng(0)
    s1, s2 = np.zeros(SIMULATIONS), np.zeros(SIMULATIONS)
    alive = np.ones(SIMULATIONS, bool)
    levels, done, before = [], 0, 0.0
    for n in ns:
        for _ in range(n - done):
            x = rng.standard_normal(SIMULATIONS)
            s1 += x
            s2 += x * x
        done = n
        mean = s1 / n
        sd = np.sqrt(np.maximum(s2 - n * mean * mean, 0.0) / (n - 1))
        p = 2 * student.sf(np.abs(mean) / (sd / math.sqrt(n)), n - 1)
        now = spent(n / ns[-1], alpha)
        m = int(round((now - before) * SIMULATIONS))
        before = now
        free = np.sort(p[alive])
        level = float(free[m]) if m < len(free) else 1.0  # exactly m of the still-running experiments cross
        levels.append(level)
        alive &= ~(p < level)
    return tuple(levels)


def plan(config: dict, task) -> Plan:
    """The task's plan from the config: its variants' seeds, `looks` and `max_seeds`."""
    from kx_tasks.core import settings

    block = settings.task_block(config, task.name)
    seeds = {v: tuple(settings.seeds(config, task, v)) for v in settings.variants(config, task)}
    return Plan(seeds, tuple(block.get("looks") or ()), int(block.get("max_seeds") or DEFAULT_MAX_SEEDS))


def claim_variants(claim, variant: str, present) -> tuple[str, ...]:
    """The variants a claim on `variant` compares (its own, the baseline's, a sweep's pool), those in `present`."""
    judge = claim.judge
    names = {variant}
    if hasattr(judge, "pool"):
        names |= set(judge.pool)
    elif getattr(judge, "variant", None):
        names.add(judge.variant)
    return tuple(sorted(v for v in names if v in present))


def needs_interval(claim) -> bool:
    """A claim whose test needs two seeds or more: a comparison, or a threshold judged on an interval."""
    return hasattr(claim.judge, "adjusted") or not getattr(claim.judge, "every_seed", True)


def check_decidable(config: dict, task) -> None:
    """Refuse (ConfigError) a claim that the configured seeds cannot decide: a paired test or a t-interval over
    fewer than 2 seeds never reaches α. A pilot (config key `pilot: true`) may run one seed: its claims are then
    reported inconclusive, never decided."""
    from kx_tasks.core.params import ConfigError

    if config.get("pilot"):
        return
    p = plan(config, task)
    for claim in task.claims:
        if not needs_interval(claim):
            continue
        for variant in p.seeds:
            if claim.variants is not None and variant not in claim.variants:
                continue
            names = claim_variants(claim, variant, p.seeds)
            n = p.paired_n(names, 1)
            if n < 2:
                raise ConfigError(
                    f"tasks.{task.name}: claim {claim.id} on {variant} cannot be decided at the configured seeds "
                    f"({n} paired seed{'s' if n != 1 else ''} of {', '.join(names)}; its test needs at least 2): "
                    f"give 2 or more seeds, or mark the config a pilot (pilot: true)"
                )


def power_notes(config: dict, tasks: dict, claims_csv) -> list[str]:
    """For each comparison of the last report (`claims_csv`, which records the spread of its differences): the
    smallest effect the configured seeds detect with power 0.8 at look 1 and at the last look (two-sided paired
    t-test at α), beside its δ."""
    import pandas as pd

    from kx_tasks.core.stats import mde

    rows = pd.read_csv(claims_csv)
    if "sd" not in rows:
        return []
    out = []
    plans = {name: plan(config, t) for name, t in tasks.items()}
    claims = {(name, c.id): c for name, t in tasks.items() for c in t.claims}
    for row in rows[rows["sd"].notna()].itertuples():
        p, claim = plans.get(row.task), claims.get((row.task, row.claim))
        if p is None or claim is None or row.variant not in p.seeds:
            continue
        names = claim_variants(claim, row.variant, p.seeds)
        first, last = p.paired_n(names, 1), p.paired_n(names, p.count)
        at = f"mde {mde(row.sd, first):.3g} at n={first}"
        if last > first:
            at += f", {mde(row.sd, last):.3g} at n={last} (last look)"
        delta = "" if pd.isna(row.delta) else f"; δ {row.delta:.3g}"
        out.append(f"  {row.claim} ({row.variant}): {at}{delta}")
    return out
