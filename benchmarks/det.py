"""Throughput of the four volume methods on batches of matrices, side by side, in one run.

    python benchmarks/det.py [--batch 4096] [--repeats 5]

The shapes are the det task's plus a decoder Jacobian (784 x 20, the VAE task's). Prints microseconds per
matrix (median of --repeats) for each method; Cauchy–Binet only where C(n, k) is small.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from kx_tasks.shared.linalg import METHODS, log_volume

SHAPES = [(3, 2), (8, 4), (8, 8), (16, 8), (64, 8), (784, 20)]


def time_call(fn, B, repeats: int) -> float:
    fn(B)  # warm-up
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(B)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    methods = {**METHODS, "log_volume": log_volume}
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch}, float64; µs per matrix")
    print(f"{'n x k':>10s} " + " ".join(f"{m:>13s}" for m in methods))
    for n, k in SHAPES:
        batch = args.batch if n * k <= 4096 else max(args.batch // 16, 16)
        B = torch.randn(batch, n, k, dtype=torch.float64)
        cells = []
        for name, fn in methods.items():
            if name == "cauchy_binet" and math.comb(n, k) > 2000:
                cells.append(f"{'—':>13s}")
                continue
            cells.append(f"{1e6 * time_call(fn, B, args.repeats) / batch:13.2f}")
        print(f"{f'{n} x {k}':>10s} " + " ".join(cells))


if __name__ == "__main__":
    main()
