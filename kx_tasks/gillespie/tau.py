"""Tau-leaping with Cao–Gillespie–Petzold step selection: an APPROXIMATE simulator that fires many reactions
per step, for when exact simulation is too slow.

Each leap of length τ fires Poisson(a_j τ) of every non-critical reaction. τ is the largest step for which no
propensity should change by more than a fraction ε (eps) of itself (bounded relative change of each reactant
species' mean and variance, with g_i from the highest order in which species i reacts). Reactions within
n_critical firings of exhausting a reactant are "critical": at most one of them fires per leap, chosen like the
direct method, so counts never go negative that way; a leap that still would is halved and retried. When τ
would be under a few mean SSA steps, exact direct-method steps are taken instead.

References:
- Y. Cao, D. T. Gillespie, L. R. Petzold, "Efficient step size selection for the tau-leaping simulation
  method", J. Chem. Phys. 124, 044109 (2006).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from kx_tasks.gillespie.ssa import _pick, _propensities

N_CRITICAL = 10  # a reaction within this many firings of exhausting a reactant is critical
SSA_FALLBACK = 10.0  # take exact steps when τ < SSA_FALLBACK / a0
SSA_STEPS = 100  # ... this many of them


@numba.njit(cache=True)
def _g(x_i, order, two_of_i):
    """Cao et al.'s g_i for species i: order of its highest-order reaction, corrected for needing two of i."""
    if order <= 1:
        return 1.0
    if two_of_i and x_i > 1:
        return 2.0 + 1.0 / (x_i - 1.0)
    return 2.0


@numba.njit(cache=True)
def _tau_trajectory_on_grid(x0, nu, change, rates, times, seed, eps, out):
    np.random.seed(seed)
    n_r, n_s = nu.shape
    x = x0.copy()
    a = np.empty(n_r)
    critical = np.zeros(n_r, dtype=np.bool_)
    # g_i's ingredients, fixed by the network: highest order of a reaction consuming i, and whether it needs 2 of i
    hor = np.zeros(n_s, dtype=np.int64)
    two = np.zeros(n_s, dtype=np.bool_)
    for j in range(n_r):
        order = 0
        for i in range(n_s):
            order += nu[j, i]
        for i in range(n_s):
            if nu[j, i] > 0 and order >= hor[i]:
                if order > hor[i]:
                    two[i] = False
                hor[i] = order
                if nu[j, i] >= 2:
                    two[i] = True
    t = 0.0
    k = 0
    n_times = times.shape[0]
    events = 0
    ssa_left = 0
    while k < n_times:
        a0 = _propensities(x, nu, rates, a)
        if a0 <= 0.0:
            while k < n_times:
                out[k, :] = x
                k += 1
            break
        if ssa_left > 0:  # an exact direct-method step
            t_next = t - math.log(1.0 - np.random.random()) / a0
            while k < n_times and times[k] < t_next:
                out[k, :] = x
                k += 1
            if k == n_times:
                break
            j = _pick(a, a0)
            x += change[j]
            t = t_next
            events += 1
            ssa_left -= 1
            continue
        # critical reactions: could exhaust a reactant within N_CRITICAL firings
        a0_critical = 0.0
        for j in range(n_r):
            critical[j] = False
            if a[j] > 0.0:
                for i in range(n_s):
                    if change[j, i] < 0 and x[i] // (-change[j, i]) < N_CRITICAL:
                        critical[j] = True
                if critical[j]:
                    a0_critical += a[j]
        # τ' from the bounded relative change of each reactant species (non-critical reactions only)
        tau1 = np.inf
        for i in range(n_s):
            if hor[i] == 0:
                continue
            mu = 0.0
            sigma2 = 0.0
            for j in range(n_r):
                if not critical[j]:
                    mu += change[j, i] * a[j]
                    sigma2 += change[j, i] * change[j, i] * a[j]
            bound = max(eps * x[i] / _g(x[i], hor[i], two[i]), 1.0)
            if mu != 0.0:
                tau1 = min(tau1, bound / abs(mu))
            if sigma2 > 0.0:
                tau1 = min(tau1, bound * bound / sigma2)
        if tau1 < SSA_FALLBACK / a0:
            ssa_left = SSA_STEPS
            continue
        while True:
            tau2 = np.inf
            if a0_critical > 0.0:
                tau2 = -math.log(1.0 - np.random.random()) / a0_critical
            tau = min(tau1, tau2)
            y = x.copy()
            fired = 0
            for j in range(n_r):
                if not critical[j] and a[j] > 0.0:
                    n = np.random.poisson(a[j] * tau)
                    fired += n
                    for i in range(n_s):
                        y[i] += n * change[j, i]
            if tau2 <= tau1:  # one critical reaction fires at the end of the leap
                threshold = np.random.random() * a0_critical
                cumulative = 0.0
                for j in range(n_r):
                    if critical[j]:
                        cumulative += a[j]
                        if cumulative > threshold:
                            break
                y += change[j]
                fired += 1
            negative = False
            for i in range(n_s):
                if y[i] < 0:
                    negative = True
            if not negative:
                break
            tau1 = tau1 / 2.0  # too long a leap: halve and redraw
        t_next = t + tau
        while k < n_times and times[k] < t_next:
            out[k, :] = x
            k += 1
        x = y
        t = t_next
        events += fired
    return events


@numba.njit(cache=True, parallel=True)
def _tau_ensemble_on_grid(x0, nu, change, rates, times, seeds, eps, out, events):
    for i in numba.prange(seeds.shape[0]):
        events[i] = _tau_trajectory_on_grid(x0, nu, change, rates, times, seeds[i], eps, out[i])
