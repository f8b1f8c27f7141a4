"""The engine-vs-bare table the training benchmarks print: median seconds per epoch of each loop over the rounds,
images per second, the ratio to the bare loop, and the pipeline's overhead against the 10% target."""

from __future__ import annotations

import statistics

BARE, ENGINE = "bare PyTorch loop", "kx engine (core.engine.fit)"


def print_table(times: dict[str, list[float]], images: int, unit: str = "images", per: str = "epoch") -> None:
    """`times`: loop name -> seconds per `per` (one value per round); `images`: `unit`s in one `per`."""
    print(f"{'loop':<28s} {'s/' + per:>9s} {unit + '/s':>12s} {'vs bare':>8s}")
    bare = statistics.median(times[BARE])
    for name, samples in times.items():
        s = statistics.median(samples)
        print(f"{name:<28s} {s:9.4g} {images / s:12.1f} {s / bare:8.3f}")
    engine = [n for n in times if n.startswith(ENGINE)]
    for name in engine:
        print(f"pipeline overhead ({name}): {statistics.median(times[name]) / bare - 1:+.1%} (target: within 10%)")
