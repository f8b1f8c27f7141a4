"""Stage functions of the `gillespie` task: simulate (train), then moments, histograms and figures (evaluate)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from kx_tasks.core.settings import Run
from kx_tasks.gillespie.config import GillespieConfig
from kx_tasks.gillespie.exact import EXACT
from kx_tasks.gillespie.figures import parse_variant, plot_histograms, plot_sweep, plot_trajectory
from kx_tasks.gillespie.fsp import marginal, stationary_distribution, tail_mass
from kx_tasks.gillespie.network import Network
from kx_tasks.gillespie.ssa import event_histogram, event_trajectory, simulate, stationary_histogram
from kx_tasks.gillespie.sweep import eps_sweep, moments

log = logging.getLogger("kx")
NETWORKS = Path(__file__).parent / "networks"
MAX_PATH_EVENTS = 10_000_000  # the single event-level path stops here (high-count networks: ~14,000 events/unit)


def train(run: Run, inputs: dict[str, Path], out_dir: Path) -> None:
    cfg: GillespieConfig = run.params
    method, name = parse_variant(run.variant)
    net = Network.from_yaml(NETWORKS / f"{name}.yaml")
    times = np.linspace(0.0, cfg.t_end, cfg.n_times)
    if method == "tau" and cfg.eps_sweep:
        table = eps_sweep(net, cfg, times, run.seed, lambda c: stationary_samples(c, times, cfg))
        table.to_csv(out_dir / "tau_sweep.csv", index=False, float_format="%.17g")
    start = time.perf_counter()
    result = simulate(net, cfg.t_end, cfg.n_trajectories, times, method=method, seed=run.seed, eps=cfg.tau_eps)
    wall = time.perf_counter() - start
    events = result.n_events.sum()
    log.info(
        "%s: %d trajectories, %d events in %.2fs (%.2e events/s)",
        run.variant,
        cfg.n_trajectories,
        events,
        wall,
        events / wall,
    )
    ev_times, ev_states = event_trajectory(net, cfg.event_t_end, seed=run.seed, max_events=MAX_PATH_EVENTS)
    t_path = cfg.event_t_end if len(ev_times) <= MAX_PATH_EVENTS else float(ev_times[-1])
    log.info("event trajectory: %d events to t=%g", len(ev_times) - 1, t_path)
    np.savez_compressed(
        out_dir / "trajectories.npz",
        times=times,
        counts=result.counts,
        n_events=result.n_events,
        species=np.array(net.species),
    )
    np.savez_compressed(out_dir / "events.npz", times=ev_times, states=ev_states, t_end=t_path)


def stationary_samples(counts: np.ndarray, times: np.ndarray, cfg: GillespieConfig) -> np.ndarray:
    """(n_samples, S): the ensemble at burn_in, burn_in + spacing, ..., pooled over trajectories."""
    picks = np.searchsorted(times, np.arange(cfg.burn_in, times[-1] + 1e-9, cfg.spacing))
    return counts[:, picks, :].reshape(-1, counts.shape[-1]).astype(np.float64)


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    n = max(len(p), len(q))
    return 0.5 * float(np.abs(np.pad(p, (0, n - len(p))) - np.pad(q, (0, n - len(q)))).sum())


def sweep_metrics(table: pd.DataFrame, exact: dict | None) -> dict[str, float]:
    """Per simulator (direct, eps<ε>): relative error of the protein mean and Fano factor against the exact
    moments (against the direct method's where none are known); timing.*: events/s and the speed-up over direct."""
    reference = table[table.method == "direct"].iloc[0]
    exact_mean = exact["mean.n"] if exact else reference["mean.n"]
    exact_fano = exact["var.n"] / exact["mean.n"] if exact else reference["fano.n"]
    out = {}
    for _, row in table.iterrows():
        key = "direct" if row.method == "direct" else f"eps{row.eps:g}"
        out[f"sweep.mean_relerr.{key}.n"] = abs(row["mean.n"] - exact_mean) / exact_mean
        out[f"sweep.fano_relerr.{key}.n"] = abs(row["fano.n"] - exact_fano) / exact_fano
        out[f"sweep.events.{key}"] = float(row.events)  # reactions fired, all trajectories
        out[f"timing.events_per_s.{key}"] = row.events_per_s
        if row.method == "tau":
            out[f"timing.speedup.{key}"] = reference.wall_s / row.wall_s
    return out


def evaluate(run: Run, inputs: dict[str, Path], out_dir: Path) -> dict[str, float]:
    cfg: GillespieConfig = run.params
    _, name = parse_variant(run.variant)
    net = Network.from_yaml(NETWORKS / f"{name}.yaml")
    traj = np.load(inputs["train"] / "trajectories.npz")
    events = np.load(inputs["train"] / "events.npz")
    x = stationary_samples(traj["counts"], traj["times"], cfg)
    metrics: dict[str, float] = {"n_samples": float(len(x)), "events_total": float(traj["n_events"].sum())}
    metrics.update(moments(x, net.species))  # mean, var, fano per species, as the ε sweep computes them
    for i, s in enumerate(net.species):
        mean, var = metrics[f"mean.{s}"], metrics[f"var.{s}"]
        metrics[f"mean_ci95.{s}"] = 1.96 * np.sqrt(var / len(x))  # half-width; samples are independent
        # half-width from the sample kurtosis (no Gaussian assumption): Var(s²) ≈ (μ4 - σ⁴) / n
        mu4 = ((x[:, i] - mean) ** 4).mean()
        metrics[f"var_ci95.{s}"] = 1.96 * np.sqrt(max(mu4 - var**2, 0.0) / len(x))
    if len(net.species) == 2:
        metrics[f"cov.{net.species[0]}.{net.species[1]}"] = float(np.cov(x[:, 0], x[:, 1])[0, 1])
    for key, value in EXACT.get(name, {}).items():
        metrics[f"exact_{key}"] = value
    if name in EXACT:
        metrics["exact_fano.n"] = EXACT[name]["var.n"] / EXACT[name]["mean.n"]
    if (inputs["train"] / "tau_sweep.csv").exists():
        table = pd.read_csv(inputs["train"] / "tau_sweep.csv")
        metrics.update(sweep_metrics(table, EXACT.get(name)))
        plot_sweep(table, EXACT.get(name), run, out_dir / "tau_sweep.png")

    first = int(np.searchsorted(events["times"], cfg.burn_in))
    t_path = float(events["t_end"])  # event_t_end, or where a high-count path hit its event cap
    timed = stationary_histogram(events["times"], events["states"], t_path, cfg.burn_in)
    counted = event_histogram(events["states"], first)
    exact = None
    if len(net.species) <= 2 and x.max() < cfg.fsp_max_count:  # else the box cannot hold the law
        p = stationary_distribution(
            net, tuple(min(cfg.fsp_max_count, 3 * int(x[:, i].max()) + 10) for i in range(len(net.species)))
        )
        metrics["fsp_tail_mass"] = tail_mass(p)
        exact = [marginal(p, i) for i in range(len(net.species))]
    for i, s in enumerate(net.species):
        k_t, k_e = np.arange(len(timed[i])), np.arange(len(counted[i]))
        metrics[f"time_weighted_mean.{s}"] = float((k_t * timed[i]).sum())
        metrics[f"event_weighted_mean.{s}"] = float((k_e * counted[i]).sum())
        metrics[f"tv_time_vs_event.{s}"] = total_variation(timed[i], counted[i])
        if exact is not None:
            metrics[f"tv_time_vs_exact.{s}"] = total_variation(timed[i], exact[i])
            metrics[f"tv_events_vs_exact.{s}"] = total_variation(counted[i], exact[i])
    plot_trajectory(events, net, run, out_dir / "trajectory.png")
    plot_histograms(timed, counted, exact, net, run, out_dir / "stationary_histogram.png")
    return {k: float(v) for k, v in metrics.items()}
