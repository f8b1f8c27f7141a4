"""The stationary distribution of the chemical master equation, solved numerically on a finite state space
(finite state projection): the exact reference the simulators are validated against.

States are the integer points of the box 0 <= x_i <= bounds_i; transitions that would leave the box are
dropped, which is accurate when the box holds all but a negligible tail (check `tail_mass`).

References:
- B. Munsky and M. Khammash, "The finite state projection algorithm", J. Chem. Phys. 124 (2006).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.linalg import spsolve

from kx_tasks.gillespie.network import Network


def stationary_distribution(network: Network, bounds: tuple[int, ...]) -> np.ndarray:
    """P(x) on the box, shape bounds + 1 per species, solving Qᵀp = 0 with Σp = 1."""
    shape = tuple(b + 1 for b in bounds)
    if len(shape) != len(network.species):
        raise ValueError(f"bounds: need one per species {network.species}, got {bounds}")
    states = np.stack(np.unravel_index(np.arange(int(np.prod(shape))), shape), axis=1)  # (N, S)
    a = network.propensities(states)  # (N, R)
    rows, cols, vals = [], [], []
    for j, change in enumerate(network.change_matrix()):
        target = states + change
        inside = np.all((target >= 0) & (target < np.array(shape)), axis=1) & (a[:, j] > 0)
        src = np.nonzero(inside)[0]
        dst = np.ravel_multi_index(tuple(target[inside].T), shape)
        rows += [src, src]
        cols += [dst, src]
        vals += [a[inside, j], -a[inside, j]]
    n = states.shape[0]
    Q = sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    A = Q.T.tolil()
    A[0, :] = 1.0  # replace one balance equation by the normalisation
    b = np.zeros(n)
    b[0] = 1.0
    p = spsolve(A.tocsr(), b)
    p = np.clip(p, 0, None)
    return (p / p.sum()).reshape(shape)


def marginal(p: np.ndarray, axis: int) -> np.ndarray:
    return p.sum(axis=tuple(i for i in range(p.ndim) if i != axis))


def tail_mass(p: np.ndarray) -> float:
    """Probability on the box's outer faces: should be negligible for the truncation to be harmless."""
    face = np.zeros_like(p, dtype=bool)
    for axis in range(p.ndim):
        index = [slice(None)] * p.ndim
        index[axis] = -1
        face[tuple(index)] = True
    return float(p[face].sum())
