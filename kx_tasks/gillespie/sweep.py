"""Tau-leaping against the exact direct method on one network, side by side in one process: the same ensemble
(`sweep_trajectories` trajectories, time grid, seed) simulated exactly and at each ε, timed, with the stationary
moments of each.

Both simulators are compiled before the clock starts (a two-trajectory warm-up), and run on the same threads, so
the wall times compare like with like. "Events" counts reactions fired, one per step for the direct method and
the sum of the Poisson firings of every leap for tau-leaping; events/s is that over the wall time.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from kx_tasks.gillespie.config import GillespieConfig
from kx_tasks.gillespie.network import Network
from kx_tasks.gillespie.ssa import simulate

log = logging.getLogger("kx")


def timed(net: Network, cfg: GillespieConfig, times: np.ndarray, seed: int, method: str, eps: float):
    simulate(net, times[1], 2, times[:2], method=method, seed=seed, eps=eps)  # compile outside the clock
    start = time.perf_counter()
    result = simulate(net, cfg.t_end, cfg.sweep_trajectories, times, method=method, seed=seed, eps=eps)
    return result, time.perf_counter() - start


def moments(x: np.ndarray, species: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for i, s in enumerate(species):
        mean, var = x[:, i].mean(), x[:, i].var(ddof=1)
        out.update({f"mean.{s}": mean, f"var.{s}": var, f"fano.{s}": var / mean if mean > 0 else np.nan})
    return out


def eps_sweep(net: Network, cfg: GillespieConfig, times: np.ndarray, seed: int, samples) -> pd.DataFrame:
    """One row per simulator: method, eps, wall_s, events, events_per_s, stationary moments. `samples(counts)`
    picks the stationary samples from an ensemble, as the evaluate stage does."""
    rows = []
    for method, eps in [("direct", np.nan)] + [("tau", e) for e in cfg.eps_sweep]:  # direct ignores ε
        result, wall = timed(net, cfg, times, seed, method, cfg.tau_eps if method == "direct" else eps)
        events = int(result.n_events.sum())
        rows.append(
            {
                "method": method,
                "eps": eps,
                "wall_s": wall,
                "events": events,
                "events_per_s": events / wall,
                **moments(samples(result.counts), net.species),
            }
        )
        log.info("%s ε=%s: %.3g events in %.2fs (%.3g events/s)", method, eps, events, wall, events / wall)
    return pd.DataFrame(rows)
