"""Parameters of the `det` task, declared once (defaults = the default CPU run)."""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from kx_tasks.core.params import Params

# The largest exponent c of κ = 10^c a generated matrix has: U·diag(s)·Vᵀ is built in float64, whose rounding
# (1e-16 of the largest singular value) caps the κ it can hold. Measured (3×2 and 8×4, 3 samples): asked 1e15, got
# 0.91e15 to 1.00e15; asked 1e17, got 0.75e16 to 1.0e17; asked 1e150, got 1.3e18.
MAX_LOG10_COND = 15
SHAPES = ((3, 1), (3, 2), (5, 2), (5, 3), (8, 4), (8, 8), (10, 5), (16, 8), (64, 8), (1, 4), (2, 5), (3, 8), (5, 10))


class DetConfig(Params):
    shapes: tuple[tuple[int, int], ...] = Field(
        SHAPES,
        min_length=1,
        description="matrix shapes [n, k], n, k ≥ 1; min(n, k) = 1, 2 are the post's worked cases (a vector's length, "
        "a parallelogram's area), n = k the square case, n < k wide (the volume of the rows)",
    )
    log10_conds: tuple[int, ...] = Field(
        tuple(range(13)), min_length=1, description="condition numbers κ = 10^c of the generated matrices (c ≥ 0)"
    )
    samples: int = Field(10, ge=1, description="random matrices per (shape, κ); statistics are medians and maxima")
    max_minors: int = Field(2000, ge=1, description="Cauchy–Binet is computed only where C(n, k) ≤ this")
    digits: int = Field(
        50, ge=1, description="decimal digits of the mpmath reference; must be ≥ 2·max(log10_conds) + 25"
    )

    @model_validator(mode="after")
    def _consistent(self):
        for n, k in self.shapes:
            if n < 1 or k < 1:
                raise ValueError(f"shapes: ({n}, {k}) needs n >= 1 and k >= 1")
        if any(c < 0 for c in self.log10_conds):
            raise ValueError("log10_conds: condition numbers are >= 1, so exponents must be >= 0")
        if max(self.log10_conds) > MAX_LOG10_COND:
            raise ValueError(
                f"log10_conds: κ = 1e{max(self.log10_conds)} cannot be generated: a matrix built in float64 holds "
                f"κ up to about 1e{MAX_LOG10_COND} (rounding at 1e-16 of its largest singular value); at most "
                f"{MAX_LOG10_COND}"
            )
        # The reference loses about log10(κ²) digits; keep 25 beyond that for the claims' 1e-20 tolerance.
        need = 2 * max(self.log10_conds) + 25
        if self.digits < need:
            raise ValueError(f"digits: {self.digits} is too few for κ up to 1e{max(self.log10_conds)} (need {need})")
        return self

    @property
    def minors_ok(self):
        return {(n, k): math.comb(max(n, k), min(n, k)) <= self.max_minors for n, k in self.shapes}
