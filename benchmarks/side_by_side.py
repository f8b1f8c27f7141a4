"""The engine-vs-bare table the training benchmarks print: median seconds per epoch of each loop over the rounds,
images per second, the ratio to the bare loop, and the pipeline's overhead against the 10% target."""

from __future__ import annotations

import statistics

BARE, ENGINE = "bare PyTorch loop", "kx engine (core.engine.fit)"


def print_table(times: dict[str, list[float]], images: int) -> None:
    print(f"{'loop':<28s} {'s/epoch':>9s} {'images/s':>10s} {'vs bare':>8s}")
    bare = statistics.median(times[BARE])
    for name, samples in times.items():
        s = statistics.median(samples)
        print(f"{name:<28s} {s:9.2f} {images / s:10.0f} {s / bare:8.3f}")
    print(f"pipeline overhead: {statistics.median(times[ENGINE]) / bare - 1:+.1%} (target: within 10%)")
