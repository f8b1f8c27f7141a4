"""The measurement sweep of the `det` task: random matrices of given shape and condition number, every volume
method in the working precision, and an mpmath reference computed from the very same stored numbers.

Matrices are B = U diag(s) Vᵀ with s log-spaced from κ^½ down to κ^-½ (so the volume stays near 1 and no
precision is lost to over- or underflow), U with orthonormal columns and V orthogonal, then rounded to the
working precision; κ is re-measured on the rounded matrix, because rounding changes it when κ ≳ 1/ε. A wide
shape (n < k) is the transpose of a tall one, and every check reads its rows (the post's reading, see
kx_tasks/shared/linalg.py): `A` below is B or Bᵀ, whichever has at least as many rows as columns.
"""

from __future__ import annotations

import logging
import time

import mpmath
import numpy as np
import pandas as pd
import torch

from kx_tasks.core import short_run
from kx_tasks.core.progress import Progress
from kx_tasks.det.config import DetConfig
from kx_tasks.shared.linalg import METHODS, volume

log = logging.getLogger("kx")


def random_orthonormal(n: int, k: int, gen: torch.Generator) -> torch.Tensor:
    """(n, k) with orthonormal columns, Haar-distributed (QR of a Gaussian with the sign fix)."""
    q, r = torch.linalg.qr(torch.randn(n, k, generator=gen, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r)).unsqueeze(0)


def random_matrices(n: int, k: int, log10_cond: int, count: int, gen: torch.Generator) -> torch.Tensor:
    """(count, n, k) float64 matrices with singular values 10^(c/2) ... 10^(-c/2)."""
    if n < k:
        return random_matrices(k, n, log10_cond, count, gen).mT
    s = torch.logspace(log10_cond / 2, -log10_cond / 2, k, dtype=torch.float64) if k > 1 else torch.ones(1)
    out = [
        random_orthonormal(n, k, gen) @ torch.diag(s.double()) @ random_orthonormal(k, k, gen).T for _ in range(count)
    ]
    return torch.stack(out)


def reference(B: np.ndarray) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(sqrt(det(BᵀB)), k-volume as base x heights by Gram–Schmidt), both in mpmath at the current precision."""
    n, k = B.shape
    cols = [[mpmath.mpf(float(B[i, j])) for i in range(n)] for j in range(k)]
    gram = mpmath.matrix(k, k)
    for a in range(k):
        for b in range(a, k):
            gram[a, b] = gram[b, a] = mpmath.fdot(cols[a], cols[b])
    by_definition = mpmath.sqrt(mpmath.det(gram))
    # The geometric volume: |b1| times the height of b2 over b1, times the height of b3 over span(b1, b2)...
    # Modified Gram–Schmidt, run twice ("twice is enough") so the heights are exact to the working digits.
    basis, kvol = [], mpmath.mpf(1)
    for v in cols:
        w = list(v)
        for _ in range(2):
            for q in basis:
                c = mpmath.fdot(q, w)
                w = [wi - c * qi for wi, qi in zip(w, q, strict=True)]
        h = mpmath.sqrt(mpmath.fdot(w, w))
        kvol *= h
        basis.append([wi / h for wi in w])
    return by_definition, kvol


def relative_error(value: float, ref: float) -> float:
    """|value - ref| / ref, capped at 1 (= no correct digit); NaN or inf results count as 1."""
    if not np.isfinite(value):
        return 1.0
    if ref == 0:
        return 0.0 if value == 0 else 1.0
    return float(min(abs(value - ref) / ref, 1.0))


def sweep(
    cfg: DetConfig, dtype: torch.dtype, gen: torch.Generator, device: torch.device | str = "cpu"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Returns (errors: one row per matrix and method, checks: one row per matrix and worked-case check).

    Matrices are drawn on the CPU (same numbers on every device); the methods run on `device`; the mpmath
    reference runs on the CPU. A shake-down's short run draws `short_run.cut_count(samples)` matrices per case and
    records each shape's seconds per matrix, which it projects to the config's `samples`.
    """
    mpmath.mp.dps = cfg.digits
    eps = float(torch.finfo(dtype).eps)
    errors, checks = [], []
    progress = Progress(len(cfg.shapes) * len(cfg.log10_conds), "det sweep", unit="cases")
    samples = short_run.cut_count(cfg.samples)
    for n, k in cfg.shapes:
        m = min(n, k)  # the vectors spanning the volume: B's columns, or a wide B's rows
        per_matrix = []  # a short run's seconds per matrix, one per case
        for c in cfg.log10_conds:
            t_case = time.perf_counter()
            B64 = random_matrices(n, k, c, samples, gen)
            B = B64.to(dtype)
            B_dev = B.to(device)
            exact = B.double()  # the stored numbers, exactly (float32 -> float64 is exact)
            A = exact if n >= k else exact.mT
            sv = torch.linalg.svdvals(exact)
            kappa = (sv[:, 0] / sv[:, -1]).tolist()
            values = {}
            for name, fn in METHODS.items():
                if name == "cauchy_binet" and not cfg.minors_ok[(n, k)]:
                    continue
                values[name] = fn(B_dev).double().cpu().tolist()
            vol = torch.tensor(values["qr"], dtype=torch.float64)
            Q = torch.stack([random_orthonormal(n, n, gen) for _ in range(samples)])
            rotated = volume((Q @ B64).to(dtype).to(device)).double().cpu()  # volume of QB, working precision
            absdet = torch.linalg.det(B_dev).abs().double().cpu() if n == k else None
            for i in range(samples):
                by_def, kvol = reference(A[i].numpy())
                ref = float(by_def)
                bound = n * k * kappa[i] * eps  # first-order error bound of a backward-stable method
                row = {"n": n, "k": k, "log10_cond": c, "kappa": kappa[i], "sample": i, "reference": ref}
                for name, vals in values.items():
                    err = relative_error(vals[i], ref)
                    errors.append({**row, "method": name, "value": vals[i], "relerr": err, "ratio": err / bound})
                check = {"n": n, "k": k, "log10_cond": c, "kappa": kappa[i], "sample": i}
                # The definition against the geometric k-volume, both exact to ~digits.
                checks.append(
                    {
                        **check,
                        "check": "definition",
                        "relerr": float(abs(by_def - kvol) / kvol),
                        "ratio": np.nan,
                    }
                )
                err = relative_error(float(rotated[i]), ref)
                checks.append({**check, "check": "orthogonal", "relerr": err, "ratio": err / (2 * bound)})
                if m == 1:  # the post's first worked case: a single vector's volume is its length
                    length = mpmath.norm([mpmath.mpf(float(x)) for x in A[i, :, 0]])
                    err = relative_error(float(vol[i]), float(length))
                    checks.append({**check, "check": "vector", "relerr": err, "ratio": err / bound})
                if m == 2:  # the second: two vectors span a parallelogram of area |x||y| sin θ
                    x = [mpmath.mpf(float(v)) for v in A[i, :, 0]]
                    y = [mpmath.mpf(float(v)) for v in A[i, :, 1]]
                    nx, ny = mpmath.norm(x), mpmath.norm(y)
                    area = nx * ny * mpmath.sin(mpmath.acos(mpmath.fdot(x, y) / (nx * ny)))
                    err = relative_error(float(vol[i]), float(area))
                    checks.append({**check, "check": "parallelogram", "relerr": err, "ratio": err / bound})
                if absdet is not None:  # square: the definition reduces to |det B|
                    err = relative_error(float(vol[i]), float(absdet[i]))
                    checks.append({**check, "check": "square", "relerr": err, "ratio": err / (2 * bound)})
            progress.update(1, note=f"{n}x{k} κ=1e{c}")
            per_matrix.append((time.perf_counter() - t_case) / samples)
        total = cfg.samples * len(cfg.log10_conds)
        short_run.record_loop(f"det sweep {n}x{k}", total, per_matrix, sum(per_matrix) * samples)
    return pd.DataFrame(errors), pd.DataFrame(checks)
