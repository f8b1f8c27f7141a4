"""Exact stochastic simulation (Gillespie's direct method), compiled with numba.

`simulate` samples trajectories on a time grid (the state held at each time); `event_trajectory` keeps every
event, for plots like the post's and for exact time-weighted statistics; `stationary_histogram` weights each
state by the time spent in it (the post's histogram weights events, which biases it toward short-lived states).

Trajectory i of a call with seed s draws from its own stream seeded by (s, i), so results do not depend on how
trajectories are spread over threads, and the same seed gives the same trajectories.

References:
- D. T. Gillespie, J. Phys. Chem. 81, 2340 (1977): the direct method.
- Su Jianlin, https://kexue.fm/archives/5607: the post's ~40-line version this replaces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

from kx_tasks.gillespie.network import Network

METHODS = ("direct", "tau")  # tau: approximate (kx_tasks.gillespie.tau)
TAU_EPS = 0.03  # Cao et al.'s default error-control parameter


@dataclass(frozen=True)
class Result:
    times: np.ndarray  # (n_times,)
    counts: np.ndarray  # (n_trajectories, n_times, n_species) int64: the state held at each time
    n_events: np.ndarray  # (n_trajectories,) reactions fired up to the last time
    species: tuple[str, ...]


@numba.njit(cache=True, inline="always")
def _propensities(x, nu, rates, a):
    total = 0.0
    for j in range(rates.shape[0]):
        h = rates[j]
        for i in range(x.shape[0]):
            for k in range(nu[j, i]):
                h *= (x[i] - k) / (k + 1.0)
        if h < 0.0:
            h = 0.0
        a[j] = h
        total += h
    return total


@numba.njit(cache=True, inline="always")
def _pick(a, total):
    """The reaction that fires: j with probability a_j / total (one uniform draw)."""
    threshold = np.random.random() * total
    j = 0
    cumulative = a[0]
    while cumulative <= threshold and j < a.shape[0] - 1:
        j += 1
        cumulative += a[j]
    return j


@numba.njit(cache=True)
def _trajectory_on_grid(x0, nu, change, rates, times, seed, out):
    """One trajectory; out[k] = state at times[k]. Returns the number of events up to times[-1]."""
    np.random.seed(seed)
    x = x0.copy()
    a = np.empty(rates.shape[0])
    t = 0.0
    k = 0
    n_times = times.shape[0]
    events = 0
    while k < n_times:
        total = _propensities(x, nu, rates, a)
        if total <= 0.0:  # absorbing state: it holds forever
            while k < n_times:
                out[k, :] = x
                k += 1
            break
        t_next = t - math.log(1.0 - np.random.random()) / total
        while k < n_times and times[k] < t_next:
            out[k, :] = x
            k += 1
        if k == n_times:
            break
        j = _pick(a, total)
        x += change[j]
        t = t_next
        events += 1
    return events


@numba.njit(cache=True, parallel=True)
def _ensemble_on_grid(x0, nu, change, rates, times, seeds, out, events):
    for i in numba.prange(seeds.shape[0]):
        events[i] = _trajectory_on_grid(x0, nu, change, rates, times, seeds[i], out[i])


@numba.njit(cache=True)
def _events(x0, nu, change, rates, t_end, max_events, seed, t_out, x_out):
    """Every event up to t_end (or max_events); row 0 is the initial state at t = 0. Returns rows used."""
    np.random.seed(seed)
    x = x0.copy()
    a = np.empty(rates.shape[0])
    t = 0.0
    t_out[0] = 0.0
    x_out[0, :] = x
    n = 1
    while n < max_events + 1:
        total = _propensities(x, nu, rates, a)
        if total <= 0.0:
            break
        t = t - math.log(1.0 - np.random.random()) / total
        if t > t_end:
            break
        j = _pick(a, total)
        for i in range(x.shape[0]):
            x[i] += change[j, i]
            x_out[n, i] = x[i]
        t_out[n] = t
        n += 1
    return n


def trajectory_seeds(seed: int, n: int) -> np.ndarray:
    """Independent per-trajectory seeds derived from (seed, i) with numpy's SeedSequence."""
    return np.random.SeedSequence(seed).generate_state(n, dtype=np.uint32).astype(np.int64)


def simulate(
    network: Network,
    t_end: float,
    n_trajectories: int = 1,
    times: np.ndarray | None = None,
    method: str = "direct",
    seed: int = 0,
    device: str = "cpu",
    eps: float = TAU_EPS,
    backend: str = "auto",
) -> Result:
    """Sample `n_trajectories` trajectories at `times` (default: 101 points on [0, t_end]).

    method "direct" is exact; "tau" is tau-leaping (approximate, error controlled by eps).
    backend "numba" (CPU, one compiled loop per trajectory) or "torch" (the direct method vectorised over the
    ensemble, on `device`); "auto" takes numba on the CPU and torch elsewhere.
    """
    if backend == "auto":
        backend = "numba" if device == "cpu" else "torch"
    if backend not in ("numba", "torch"):
        raise ValueError(f"backend: expected auto, numba or torch, got {backend!r}")
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    if backend == "numba" and device != "cpu":
        raise ValueError(f"device: the numba backend runs on the CPU, got {device!r} (use backend='torch')")
    if backend == "torch" and method != "direct":
        raise ValueError("the torch backend implements the direct method only")
    if t_end <= 0 or n_trajectories < 1:
        raise ValueError(f"need t_end > 0 and n_trajectories >= 1, got {t_end}, {n_trajectories}")
    times = np.linspace(0.0, t_end, 101) if times is None else np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or np.any(np.diff(times) < 0) or times[0] < 0 or times[-1] > t_end:
        raise ValueError("times must be sorted, within [0, t_end]")
    counts = np.empty((n_trajectories, len(times), len(network.species)), dtype=np.int64)
    events = np.empty(n_trajectories, dtype=np.int64)
    if backend == "torch":
        from kx_tasks.gillespie.ensemble_torch import simulate_torch

        counts, events = simulate_torch(network, times, n_trajectories, seed, device)
        return Result(times, counts, events, network.species)
    arrays = (network.initial_counts(), network.reactant_matrix(), network.change_matrix(), network.rates(), times)
    seeds = trajectory_seeds(seed, n_trajectories)
    if method == "direct":
        _ensemble_on_grid(*arrays, seeds, counts, events)
    else:
        from kx_tasks.gillespie.tau import _tau_ensemble_on_grid

        _tau_ensemble_on_grid(*arrays, seeds, float(eps), counts, events)
    return Result(times, counts, events, network.species)


def event_trajectory(network: Network, t_end: float, seed: int = 0, max_events: int = 10_000_000):
    """(times (E+1,), states (E+1, S)): every event of one trajectory up to t_end, starting at t = 0."""
    t_out = np.empty(max_events + 1)
    x_out = np.empty((max_events + 1, len(network.species)), dtype=np.int64)
    n = _events(
        network.initial_counts(),
        network.reactant_matrix(),
        network.change_matrix(),
        network.rates(),
        float(t_end),
        max_events,
        int(trajectory_seeds(seed, 1)[0]),
        t_out,
        x_out,
    )
    return t_out[:n], x_out[:n]  # views: no copy of up to max_events rows


def stationary_histogram(times: np.ndarray, states: np.ndarray, t_end: float, burn_in: float) -> list[np.ndarray]:
    """Per species, P(x = k) estimated as the fraction of time in [burn_in, t_end] spent at k (exact for the path)."""
    ends = np.append(times[1:], t_end)
    durations = np.clip(ends, burn_in, t_end) - np.clip(times, burn_in, t_end)
    total = durations.sum()
    if total <= 0:
        raise ValueError(f"no time after burn_in={burn_in} before t_end={t_end}")
    return [np.bincount(states[:, i], weights=durations) / total for i in range(states.shape[1])]


def event_histogram(states: np.ndarray, first: int = 0) -> list[np.ndarray]:
    """The post's histogram: every visited state counts once per event, whatever its duration."""
    return [np.bincount(states[first:, i]) / len(states[first:]) for i in range(states.shape[1])]
