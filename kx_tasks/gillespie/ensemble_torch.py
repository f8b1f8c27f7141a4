"""The direct method for large ensembles in torch: all trajectories advance one event per step, vectorised, on
any device (CUDA for 10^5+ trajectories; the same code runs on the CPU, which is how the tests check it).

Exact like the numba version (same algorithm), but with one random stream for the whole ensemble, so its
trajectories are not the numba ones for the same seed; the same seed, size and device give the same result.
"""

from __future__ import annotations

import numpy as np
import torch

from kx_tasks.gillespie.network import Network


def propensities(x: torch.Tensor, nu: torch.Tensor, rates: torch.Tensor, max_order: int) -> torch.Tensor:
    """x: (N, S) float -> (N, R): c_j ∏_i C(x_i, ν_ij), by falling factorials up to the largest ν."""
    a = rates.expand(x.shape[0], -1).clone()
    for k in range(max_order):
        # factor (x_i - k)/(k + 1) for every (reaction, species) that consumes more than k of species i
        terms = ((x.unsqueeze(1) - k) / (k + 1)).clamp(min=0)  # (N, 1, S) -> broadcast over reactions
        a = a * torch.where(nu > k, terms, torch.ones_like(terms)).prod(-1)
    return a


@torch.no_grad()
def simulate_torch(
    network: Network, times: np.ndarray, n: int, seed: int, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """(counts (n, T, S) int64, n_events (n,)) for `n` trajectories recorded at `times`."""
    dev = torch.device(device)
    gen = torch.Generator(device=dev).manual_seed(seed)
    nu = torch.as_tensor(network.reactant_matrix(), device=dev)
    change = torch.as_tensor(network.change_matrix(), dtype=torch.float64, device=dev)
    rates = torch.as_tensor(network.rates(), device=dev)
    grid = torch.as_tensor(times, dtype=torch.float64, device=dev)
    max_order = int(network.reactant_matrix().max())
    x = torch.as_tensor(network.initial_counts(), dtype=torch.float64, device=dev).repeat(n, 1)
    t = torch.zeros(n, dtype=torch.float64, device=dev)
    k = torch.zeros(n, dtype=torch.int64, device=dev)  # next grid index to record, per trajectory
    out = torch.empty(n, len(times), x.shape[1], dtype=torch.float64, device=dev)
    events = torch.zeros(n, dtype=torch.int64, device=dev)
    rows = torch.arange(n, device=dev)
    T = len(times)
    while True:
        live = k < T
        if not bool(live.any()):
            break
        a = propensities(x, nu, rates, max_order)
        a0 = a.sum(1)
        u1 = torch.rand(n, generator=gen, device=dev, dtype=torch.float64)
        u2 = torch.rand(n, generator=gen, device=dev, dtype=torch.float64)
        t_next = torch.where(a0 > 0, t - torch.log1p(-u1) / a0, torch.full_like(t, float("inf")))
        stop = torch.searchsorted(grid, t_next)  # grid points strictly before t_next hold the current state
        while True:  # record x at every grid point the step passes (usually none or one)
            pending = live & (k < stop)
            if not bool(pending.any()):
                break
            out[rows[pending], k[pending]] = x[pending]
            k = k + pending.long()
        fire = live & (k < T) & (a0 > 0)
        j = (a.cumsum(1) <= (u2 * a0).unsqueeze(1)).sum(1).clamp(max=a.shape[1] - 1)
        x = x + change[j] * fire.unsqueeze(1)
        events = events + fire.long()
        t = torch.where(fire, t_next, t)
    return out.round().to(torch.int64).cpu().numpy(), events.cpu().numpy()
