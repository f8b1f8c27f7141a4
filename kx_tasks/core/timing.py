"""Clock readings that load on the machine cannot decide: the cost of one step relative to another's, timed
interleaved in one process.

Training seconds read from a run's clock move with whatever else runs on the machine (a claim read from them was
"inconclusive" in one run and "reproduced" in a rerun of the same commit and config on a busier machine). Timing two
steps alternately in one process, on the same inputs, exposes both to the same load; the ratio of their medians is
what a claim about time compares, multiplied by counts of steps, which do not depend on the clock (DropToken's
speed-up is measured the same way).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

TIMED_STEPS = 24  # per side, after WARMUP_STEPS each; medians
WARMUP_STEPS = 2


def interleaved_ratio(a: Callable[[], object], b: Callable[[], object], steps: int = TIMED_STEPS, device=None) -> float:
    """median seconds of a() ÷ median seconds of b(), the two called alternately (a, b, a, b, …) after a warm-up of
    each; on a CUDA `device` each call is timed to the end of its kernels."""
    cuda = device is not None and getattr(device, "type", device) == "cuda"

    def call(fn) -> None:
        fn()
        if cuda:
            import torch

            torch.cuda.synchronize(device)

    for _ in range(WARMUP_STEPS):
        call(a)
        call(b)
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(steps):
        for fn, out in ((a, times[0]), (b, times[1])):
            t0 = time.perf_counter()
            call(fn)
            out.append(time.perf_counter() - t0)
    return statistics.median(times[0]) / statistics.median(times[1])
