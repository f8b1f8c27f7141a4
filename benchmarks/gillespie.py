"""Gillespie simulation speed on the post's gene-expression model, side by side, in one run.

    python benchmarks/gillespie.py [--quick]

(a) one trajectory of 10^6 events; (b) 2,000 trajectories to t = 100 recorded on 1,001 time points.
Columns: events/second for kx direct (numba, CPU), kx tau, kx direct in torch (CPU here), the post's algorithm
re-implemented here as the baseline (same semantics: per event, numpy propensities, an exponential waiting
time, np.random.choice of the reaction, Python lists; measured on a fraction of the work and scaled as a rate),
and GillesPy2's NumPySSASolver and SSACSolver when installed (`pip install gillespy2 scons`; the C++ solver's
compile time is reported separately). Also: peak memory of 10^5 trajectories x 101 time points (kx direct).
Compile time of kx's numba kernels is excluded (they are cached on disk after the first run); it is printed.
kx rows are the median of 3 runs; the baselines are timed once (they run for seconds).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from kx_tasks.gillespie.network import Network
from kx_tasks.gillespie.ssa import event_trajectory, simulate

GENE = Network.from_yaml(Path(__file__).resolve().parents[1] / "kx_tasks/gillespie/networks/gene_expression.yaml")
EVENTS_PER_TIME = 20 + 2.5 * 20 + 20 + 50  # stationary total propensity: 140 events per unit time


def post_algorithm(t_end: float, seed: int) -> int:
    """The post's direct method as it is written there: a Python loop with numpy calls per event."""
    rng = np.random.RandomState(seed)
    change = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]])
    rates = np.array([20.0, 2.5, 1.0, 1.0])
    x = np.array([0, 0])
    t, ts, xs = 0.0, [0.0], [x.copy()]
    while t < t_end:
        a = rates * np.array([1, x[0], x[0], x[1]])  # c · (reactant count), as in the post
        a0 = a.sum()
        t += rng.exponential(1 / a0)
        j = rng.choice(4, p=a / a0)
        x = x + change[j]
        ts.append(t)
        xs.append(x)
    return len(ts) - 1


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def median_timed(fn, repeats: int = 3):
    """(result, median seconds) over `repeats` calls: first-touch page faults and noise stay out of the rate."""
    runs = [timed(fn) for _ in range(repeats)]
    return runs[0][0], sorted(s for _, s in runs)[repeats // 2]


def gillespy2_model(t_end: float, n_times: int):
    import gillespy2

    model = gillespy2.Model(name="gene")
    m = gillespy2.Species(name="m", initial_value=0, mode="discrete")
    n = gillespy2.Species(name="n", initial_value=0, mode="discrete")
    model.add_species([m, n])
    k = [gillespy2.Parameter(name=f"k{i}", expression=v) for i, v in enumerate((20.0, 2.5, 1.0, 1.0))]
    model.add_parameter(k)
    model.add_reaction(
        [
            gillespy2.Reaction(name="make_m", reactants={}, products={m: 1}, rate=k[0]),
            gillespy2.Reaction(name="make_n", reactants={m: 1}, products={m: 1, n: 1}, rate=k[1]),
            gillespy2.Reaction(name="decay_m", reactants={m: 1}, products={}, rate=k[2]),
            gillespy2.Reaction(name="decay_n", reactants={n: 1}, products={}, rate=k[3]),
        ]
    )
    model.timespan(gillespy2.TimeSpan(np.linspace(0, t_end, n_times)))
    return model


def memory_probe(n: int, points: int) -> float:
    """Peak RSS (MB) of a fresh process simulating n trajectories on `points` time points."""
    code = (
        "import resource, numpy as np, sys; sys.path.insert(0, '.');"
        "from benchmarks.gillespie import GENE; from kx_tasks.gillespie.ssa import simulate;"
        f"simulate(GENE, 100.0, {n}, np.linspace(0, 100, {points}), seed=0);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    root = Path(__file__).resolve().parents[1]
    return float(
        subprocess.run(
            [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smaller baselines (for a smoke test of this script)")
    args = p.parse_args()
    rows = []  # (case, implementation, events/s, note)

    # Compile (or load from cache) the numba kernels outside the timings.
    (_, compile_s) = timed(
        lambda: (
            simulate(GENE, 1.0, 2, seed=0),
            simulate(GENE, 1.0, 2, method="tau", seed=0),
            event_trajectory(GENE, 1.0, seed=0),
        )
    )

    # (a) one trajectory of 10^6 events
    t_a = 1e6 / EVENTS_PER_TIME
    (times, _), s = median_timed(lambda: event_trajectory(GENE, t_a, seed=1, max_events=1_000_000))
    rows.append(("a: 1 trajectory, 1e6 events", "kx direct (numba)", (len(times) - 1) / s, ""))
    grid = np.linspace(0, t_a, 1001)
    r, s = median_timed(lambda: simulate(GENE, t_a, 1, grid, method="tau", seed=1))
    rows.append(("a: 1 trajectory, 1e6 events", "kx tau (ε=0.03)", r.n_events.sum() / s, "approximate"))
    post_t = t_a / (100 if args.quick else 20)
    ev, s = timed(lambda: post_algorithm(post_t, 1))
    rows.append(("a: 1 trajectory, 1e6 events", "post's algorithm", ev / s, f"{ev} events measured"))

    # (b) 2,000 trajectories to t = 100 on 1,001 points
    grid = np.linspace(0, 100, 1001)
    r, s = median_timed(lambda: simulate(GENE, 100.0, 2000, grid, seed=2))
    # GillesPy2 does not report event counts: use kx's exact mean for the same model and horizon.
    events_per_trajectory = float(r.n_events.mean())
    rows.append(("b: 2000 x t=100, 1001 points", "kx direct (numba)", r.n_events.sum() / s, f"{s:.2f} s"))
    r, s = median_timed(lambda: simulate(GENE, 100.0, 2000, grid, method="tau", seed=2))
    rows.append(("b: 2000 x t=100, 1001 points", "kx tau (ε=0.03)", r.n_events.sum() / s, f"{s:.2f} s"))
    n_torch = 200 if args.quick else 2000
    r, s = timed(lambda: simulate(GENE, 100.0, n_torch, grid, seed=2, backend="torch"))
    rows.append(
        ("b: 2000 x t=100, 1001 points", "kx direct (torch, CPU)", r.n_events.sum() / s, f"{n_torch} trajectories")
    )
    n_post = 2 if args.quick else 10
    ev, s = timed(lambda: sum(post_algorithm(100.0, i) for i in range(n_post)))
    rows.append(("b: 2000 x t=100, 1001 points", "post's algorithm", ev / s, f"{n_post} trajectories measured"))

    try:
        from gillespy2 import NumPySSASolver, SSACSolver
    except ImportError:
        rows.append(("b: 2000 x t=100, 1001 points", "GillesPy2", float("nan"), "not installed"))
    else:
        # GillesPy2 builds its C++ solver by running SCons under the base interpreter, which in a venv does not
        # see the venv's SCons: point it there.
        import os

        import SCons

        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(SCons.__file__).parents[1]), os.environ.get("PYTHONPATH")])
        )
        model = gillespy2_model(100.0, 1001)
        n_np = 20 if args.quick else 100
        _, s = timed(lambda: model.run(solver=NumPySSASolver, number_of_trajectories=n_np, seed=3))
        rows.append(
            (
                "b: 2000 x t=100, 1001 points",
                "GillesPy2 NumPySSASolver",
                n_np * events_per_trajectory / s,
                f"{n_np} trajectories",
            )
        )
        solver, build_s = timed(lambda: SSACSolver(model=model))
        _, s = timed(lambda: model.run(solver=solver, number_of_trajectories=2000, seed=3))
        rows.append(
            (
                "b: 2000 x t=100, 1001 points",
                "GillesPy2 SSACSolver",
                2000 * events_per_trajectory / s,
                f"{s:.2f} s run; C++ compile {build_s:.1f} s (excluded)",
            )
        )

    print(f"kx numba kernels: compile/load {compile_s:.1f} s (excluded). Model: the post's gene expression.\n")
    print(f"GillesPy2 events: {events_per_trajectory:,.0f} per trajectory (kx's exact mean, same model and horizon).\n")
    post = {case: rate for case, name, rate, _ in rows if name == "post's algorithm"}
    print("| case | implementation | events/s | vs post's algorithm | note |\n|---|---|---|---|---|")
    for case, name, rate, note in rows:
        ratio = f"{rate / post[case]:,.0f}x" if np.isfinite(rate) else "–"
        print(f"| {case} | {name} | {rate:,.3g} | {ratio} | {note} |")
    mb = memory_probe(10_000 if args.quick else 100_000, 101)
    print(f"\npeak memory, {'10^4' if args.quick else '10^5'} trajectories x 101 time points (kx direct): {mb:,.0f} MB")
    print(f"this process: peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
