"""Parameters of the `det` task (one frozen dataclass, defaults = the default CPU run)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DetConfig:
    # Matrix shapes (n rows, k columns) with n >= k; k = 1 and k = 2 are the post's worked cases (a vector's
    # length, a parallelogram's area); (8, 8) is square, where the definition must give |det B|.
    shapes: tuple[tuple[int, int], ...] = (
        (3, 1),
        (3, 2),
        (5, 2),
        (5, 3),
        (8, 4),
        (8, 8),
        (10, 5),
        (16, 8),
        (64, 8),
    )
    # Condition numbers κ = 10^c of the generated matrices; 1e12 is where the Gram route has long failed in float64.
    log10_conds: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
    # Random matrices per (shape, κ); the statistics are medians and maxima over these.
    samples: int = 10
    # Cauchy–Binet sums C(n, k) squared minors; only shapes with at most this many are computed.
    max_minors: int = 2000
    # Decimal digits of the mpmath reference; it loses log10(κ²) = 24 of them at κ = 1e12, leaving 26.
    digits: int = 50

    def check(self) -> None:
        for n, k in self.shapes:
            if not 1 <= k <= n:
                raise ValueError(f"shapes: ({n}, {k}) needs 1 <= k <= n")
        if self.samples < 1:
            raise ValueError(f"samples: must be >= 1, got {self.samples}")
        if any(c < 0 for c in self.log10_conds):
            raise ValueError("log10_conds: condition numbers are >= 1, so exponents must be >= 0")
        # The reference loses about log10(κ²) digits; keep 25 beyond that for the claims' 1e-20 tolerance.
        need = 2 * max(self.log10_conds) + 25
        if self.digits < need:
            raise ValueError(f"digits: {self.digits} is too few for κ up to 1e{max(self.log10_conds)} (need {need})")

    @property
    def minors_ok(self):
        return {(n, k): math.comb(n, k) <= self.max_minors for n, k in self.shapes}
