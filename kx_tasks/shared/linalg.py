"""The determinant of a non-square matrix: |det B| := sqrt(det(BᵀB)), the k-volume of the parallelotope spanned
by the k columns of B (n x k) in R^n.

`volume` and `log_volume` are the library functions (batched over leading dimensions, differentiable, stable);
the other `volume_*` functions are the textbook routes the `det` task compares them with.

Wide matrices (n < k): the post takes "without loss of generality n > k", i.e. of the two readings of a matrix it
defines the one that is not trivially zero, so for n < k the volume is that of the n rows, sqrt(det(BBᵀ))
(`wide="rows"`, the default; also the convention for the Jacobian of a map R^k -> R^n). `wide="zero"` is the
literal reading of the columns: k vectors in R^n are dependent, so BᵀB is singular and the volume is 0.

Stability: forming BᵀB squares the condition number κ, so the Gram route loses all digits once κ² ε ≳ 1.
Householder QR works on B itself: B = QR, vol = ∏|r_ii|, with relative error O(k κ ε).

References:
- Su Jianlin, "再谈非方阵的行列式" (the determinant of a non-square matrix, again), Scientific Spaces,
  2018-10-16, https://kexue.fm/archives/6096
- Cauchy–Binet: det(BᵀB) = Σ_S det(B_S)², over the k-row subsets S.
"""

from __future__ import annotations

import itertools
import math

import torch

WIDE = ("rows", "zero")


def _check(B: torch.Tensor, wide: str) -> None:
    if B.ndim < 2:
        raise ValueError(f"expected a matrix or a batch of matrices (..., n, k), got shape {tuple(B.shape)}")
    if wide not in WIDE:
        raise ValueError(f"wide: expected one of {WIDE}, got {wide!r}")


def _oriented(B: torch.Tensor, wide: str) -> torch.Tensor | None:
    """B or Bᵀ so that rows >= columns; None when the volume is 0 by convention."""
    n, k = B.shape[-2:]
    if n >= k:
        return B
    return None if wide == "zero" else B.mT


def log_volume(B: torch.Tensor, wide: str = "rows") -> torch.Tensor:
    """log sqrt(det(BᵀB)) for B: (..., n, k) -> (...,), via Householder QR; -inf for dependent columns.

    Differentiable: d log vol / dB = (B⁺)ᵀ, the transposed pseudo-inverse.
    """
    _check(B, wide)
    A = _oriented(B, wide)
    if A is None:
        return torch.full(B.shape[:-2], -math.inf, dtype=B.dtype, device=B.device)
    R = torch.linalg.qr(A, mode="r" if not A.requires_grad else "reduced").R
    return torch.log(torch.diagonal(R, dim1=-2, dim2=-1).abs()).sum(-1)


def volume(B: torch.Tensor, wide: str = "rows") -> torch.Tensor:
    """sqrt(det(BᵀB)) for B: (..., n, k) -> (...,), via Householder QR (relative error O(k κ ε))."""
    _check(B, wide)
    A = _oriented(B, wide)
    if A is None:
        return torch.zeros(B.shape[:-2], dtype=B.dtype, device=B.device)
    R = torch.linalg.qr(A, mode="r" if not A.requires_grad else "reduced").R
    return torch.diagonal(R, dim1=-2, dim2=-1).abs().prod(-1)


def volume_gram(B: torch.Tensor, wide: str = "rows") -> torch.Tensor:
    """The textbook route sqrt(det(BᵀB)) (LU on the Gram matrix); NaN when rounding makes det(BᵀB) < 0."""
    _check(B, wide)
    A = _oriented(B, wide)
    if A is None:
        return torch.zeros(B.shape[:-2], dtype=B.dtype, device=B.device)
    return torch.sqrt(torch.linalg.det(A.mT @ A))


def volume_svd(B: torch.Tensor, wide: str = "rows") -> torch.Tensor:
    """∏ σ_i, the product of the singular values."""
    _check(B, wide)
    A = _oriented(B, wide)
    if A is None:
        return torch.zeros(B.shape[:-2], dtype=B.dtype, device=B.device)
    return torch.linalg.svdvals(A).prod(-1)


def cauchy_binet_terms(n: int, k: int) -> int:
    return math.comb(n, k)


def volume_cauchy_binet(B: torch.Tensor, wide: str = "rows", max_terms: int = 100_000) -> torch.Tensor:
    """sqrt(Σ_S det(B_S)²) over all C(n, k) square k x k submatrices B_S (Cauchy–Binet); small cases only."""
    _check(B, wide)
    A = _oriented(B, wide)
    if A is None:
        return torch.zeros(B.shape[:-2], dtype=B.dtype, device=B.device)
    n, k = A.shape[-2:]
    terms = cauchy_binet_terms(n, k)
    if terms > max_terms:
        raise ValueError(f"Cauchy–Binet on {n}x{k} needs {terms} minors (> max_terms={max_terms})")
    rows = torch.tensor(list(itertools.combinations(range(n), k)), device=A.device)  # (terms, k)
    minors = A[..., rows, :]  # (..., terms, k, k)
    return torch.sqrt(torch.linalg.det(minors).square().sum(-1))


METHODS = {
    "gram": volume_gram,
    "qr": volume,
    "svd": volume_svd,
    "cauchy_binet": volume_cauchy_binet,
}
