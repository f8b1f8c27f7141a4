"""Gillespie simulation: network parsing, mass-action combinatorics, and statistical validation against exact
stationary laws. Tolerances come from the sample size: DSMTS-style Z statistics for means (|Z| <= 3), Y
statistics for variances (|Y| <= 5), a chi-square test for distributions."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from kx_tasks.gillespie.fsp import marginal, stationary_distribution, tail_mass
from kx_tasks.gillespie.network import Network, NetworkError
from kx_tasks.gillespie.ssa import event_histogram, event_trajectory, simulate, stationary_histogram

NETWORKS = Path(__file__).resolve().parents[1] / "kx_tasks" / "gillespie" / "networks"
GENE = Network.from_yaml(NETWORKS / "gene_expression.yaml")


def z_stat(x: np.ndarray, mu: float, var: float) -> float:
    return (x.mean() - mu) / math.sqrt(var / len(x))


def y_stat(x: np.ndarray, var: float) -> float:
    """DSMTS: (s²/σ² - 1) sqrt(n/2); about N(0, 1) for near-Gaussian data with n large."""
    return (x.var(ddof=1) / var - 1) * math.sqrt(len(x) / 2)


@pytest.mark.parametrize(
    "text, message",
    [
        ("species: {A: 0}\nreactions:\n  - A -> C @ 1\n", r"<text>:3: unknown species 'C'"),
        ("species: {A: 0}\nreactions:\n  - A -> 0 @ 1\n  - 0 -> A @ -2\n", r"<text>:4: negative or non-finite rate"),
        ("species: {A: 0}\nreactions:\n  - 2.5 A -> 0 @ 1\n", r"<text>:3: bad stoichiometry '2.5 A'"),
        ("species: {A: 0}\nreactions:\n  - A -> 0\n", r"<text>:3: .* has no rate"),
        ("species: {A: 0, B: 0}\nreactions:\n  - A <-> B @ 1\n", r"<text>:3: .* needs two rates"),
        ("species: {A: -1}\nreactions:\n  - A -> 0 @ 1\n", r"<text>:1: initial count of 'A'"),
        ("species: {A: 0}\nreaction:\n  - A -> 0 @ 1\n", r"unknown key 'reaction'"),
    ],
)
def test_parse_errors_name_line_and_problem(text, message):
    with pytest.raises(NetworkError, match=message):
        Network.parse(text)


def test_shipped_networks_parse():
    sizes = {p.stem: len(Network.from_yaml(p).reactions) for p in NETWORKS.glob("*.yaml")}
    assert sizes["gene_expression"] == 4 and sizes["dimerisation"] == 4 and sizes["birth_death"] == 2
    assert max(sizes.values()) >= 6


def test_mass_action_combinatorics():
    net = Network.parse("species: {A: 0, B: 0}\nreactions:\n  - 2 A -> B @ 0.5\n  - A + B -> 0 @ 2\n  - 0 -> A @ 3\n")
    a = net.propensities(np.array([10, 4]))
    assert a.tolist() == [0.5 * 10 * 9 / 2, 2 * 10 * 4, 3.0]
    assert net.propensities(np.array([1, 0]))[0] == 0.0  # one A cannot dimerise
    assert net.change_matrix().tolist() == [[-2, 1], [-1, -1], [1, 0]]


def test_same_seed_same_trajectories():
    a = simulate(GENE, 10, 5, seed=7)
    b = simulate(GENE, 10, 5, seed=7)
    c = simulate(GENE, 10, 5, seed=8)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert not np.array_equal(a.counts, c.counts)
    assert a.counts.shape == (5, 101, 2) and a.counts.dtype == np.int64
    assert (a.counts[:, 0] == 0).all()  # the initial state at t = 0


def test_post_model_moments_at_stationarity():
    # m ~ Poisson(20); n: mean 50, variance 112.5 (Fano 2.25); Cov(m, n) = 25. Samples: one time point of
    # independent trajectories, long after the relaxation time (1).
    r = simulate(GENE, 30.0, 4000, times=np.array([30.0]), seed=11)
    m, n = r.counts[:, 0, 0].astype(float), r.counts[:, 0, 1].astype(float)
    assert abs(z_stat(m, 20, 20)) <= 3 and abs(z_stat(n, 50, 112.5)) <= 3
    assert abs(y_stat(m, 20)) <= 5 and abs(y_stat(n, 112.5)) <= 5
    se_cov = math.sqrt((20 * 112.5 + 25**2) / len(m))  # large-sample SE of a sample covariance (Gaussian)
    assert abs(np.cov(m, n)[0, 1] - 25) <= 4 * se_cov


@pytest.mark.parametrize("name, bounds", [("birth_death", (60,)), ("dimerisation", (100, 60))])
def test_stationary_distribution_matches_master_equation(name, bounds):
    net = Network.from_yaml(NETWORKS / f"{name}.yaml")
    p = stationary_distribution(net, bounds)
    assert tail_mass(p) < 1e-6
    r = simulate(net, 40.0, 5000, times=np.array([40.0]), seed=3)
    n_samples = len(r.counts)
    for axis in range(len(bounds)):
        expected = marginal(p, axis)
        observed = np.bincount(r.counts[:, 0, axis], minlength=len(expected))[: len(expected)]
        # Total variation within sampling error: E[TV] <= B = ½ Σ sqrt(p(1-p)/N) (Jensen), and TV moves by at most
        # 1/N per sample, so P(TV > B + t) <= exp(-2 N t²) (McDiarmid); t for a 1e-3 false-alarm rate.
        tv = 0.5 * np.abs(observed / n_samples - expected).sum()
        bound = 0.5 * np.sqrt(expected * (1 - expected) / n_samples).sum() + math.sqrt(math.log(1e3) / (2 * n_samples))
        assert tv <= bound, (tv, bound)
        # pool the sparse tails so every chi-square cell expects >= 5 samples
        keep = expected * len(r.counts) >= 5
        obs = np.append(observed[keep], observed[~keep].sum())
        exp = np.append(expected[keep], expected[~keep].sum()) * len(r.counts)
        obs, exp = obs[exp > 0], exp[exp > 0]
        assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3


def test_fsp_reproduces_known_laws():
    p = stationary_distribution(Network.from_yaml(NETWORKS / "birth_death.yaml"), (60,))
    np.testing.assert_allclose(p, stats.poisson.pmf(np.arange(61), 10), atol=1e-12)
    q = stationary_distribution(GENE, (50, 160))
    k = np.arange(161)
    pn = marginal(q, 1)
    assert (k * pn).sum() == pytest.approx(50, abs=1e-5)
    assert (k * k * pn).sum() - (k * pn).sum() ** 2 == pytest.approx(112.5, abs=1e-3)


def test_time_weighting_differs_from_event_weighting():
    times, states = event_trajectory(GENE, 2000.0, seed=5)
    assert times[0] == 0 and np.all(np.diff(times) > 0)
    timed = stationary_histogram(times, states, 2000.0, burn_in=20.0)[1]
    evented = event_histogram(states, first=int(np.searchsorted(times, 20.0)))[1]
    k_t, k_e = np.arange(len(timed)), np.arange(len(evented))
    assert (k_t * timed).sum() == pytest.approx(50, rel=0.05)
    # Events come faster when n is high (decay rate n), so the event-weighted histogram leans to high n.
    assert (k_e * evented).sum() > (k_t * timed).sum() + 0.5


def test_tau_leaping_keeps_the_fano_factor():
    # At the post's molecule numbers Cao's step selection mostly falls back to exact steps (τ' < 10/a0).
    r = simulate(GENE, 100.0, 2000, times=np.arange(20.0, 101.0, 10.0), method="tau", seed=4)
    n = r.counts[:, :, 1].ravel().astype(float)
    assert n.var(ddof=1) / n.mean() == pytest.approx(2.25, rel=0.05)


def test_tau_leaping_leaps_at_high_counts_and_stays_non_negative():
    big = Network.parse("species: {X: 0}\nreactions:\n  - 0 -> X @ 1000\n  - X -> 0 @ 1\n")
    exact = simulate(big, 20.0, 300, times=np.array([20.0]), method="direct", seed=1)
    leap = simulate(big, 20.0, 300, times=np.array([20.0]), method="tau", seed=1)
    x = leap.counts[:, 0, 0].astype(float)
    assert (leap.counts >= 0).all()
    assert not np.array_equal(leap.counts, exact.counts)  # with the same streams, only real leaps differ
    assert abs(z_stat(x, 1000, 1000)) <= 3  # the mean is right...
    assert leap.n_events.mean() == pytest.approx(exact.n_events.mean(), rel=0.05)  # ...and so is the event count


def test_torch_ensemble_is_exact_and_reproducible():
    a = simulate(GENE, 30.0, 400, times=np.array([30.0]), seed=9, backend="torch")
    b = simulate(GENE, 30.0, 400, times=np.array([30.0]), seed=9, backend="torch")
    np.testing.assert_array_equal(a.counts, b.counts)
    m, n = a.counts[:, 0, 0].astype(float), a.counts[:, 0, 1].astype(float)
    assert abs(z_stat(m, 20, 20)) <= 3 and abs(z_stat(n, 50, 112.5)) <= 3
    assert abs(y_stat(n, 112.5)) <= 5
    with pytest.raises(ValueError, match="torch backend implements the direct method only"):
        simulate(GENE, 1.0, 2, method="tau", backend="torch")


def test_eps_sweep_times_direct_and_tau_on_one_ensemble(tmp_path):
    """The sweep's table, metrics and figure on a small high-count ensemble: every simulator ran the same
    trajectories and grid, errors are against the exact moments, timing.* holds the clock readings."""
    from kx_tasks.gillespie.config import GillespieConfig
    from kx_tasks.gillespie.report import EXACT, sweep_table
    from kx_tasks.gillespie.run import NETWORKS, sweep_metrics
    from kx_tasks.gillespie.sweep import eps_sweep

    net = Network.from_yaml(NETWORKS / "gene_expression_x100.yaml")
    cfg = GillespieConfig(
        sweep_trajectories=8,
        t_end=12.0,
        n_times=13,
        burn_in=10.0,
        spacing=1.0,
        event_t_end=11.0,
        eps_sweep=(0.003, 0.03),
    )
    times = np.linspace(0.0, cfg.t_end, cfg.n_times)
    table = eps_sweep(net, cfg, times, 0, lambda c: c[:, 10:, :].reshape(-1, 2).astype(float))
    assert list(table.method) == ["direct", "tau", "tau"] and table.eps.iloc[1:].tolist() == [0.003, 0.03]
    assert (table.wall_s > 0).all() and (table.events > 8 * 12 * 10_000).all()  # ~14,000 reactions per unit time
    metrics = sweep_metrics(table, EXACT["gene_expression_x100"])
    fano = table.set_index(table.eps.fillna(0.0))["fano.n"]
    assert metrics["sweep.fano_relerr.eps0.03.n"] == pytest.approx(abs(fano[0.03] - 2.25) / 2.25)
    assert metrics["timing.speedup.eps0.03"] == pytest.approx(table.wall_s[0] / table.wall_s[2])
    assert {k for k in metrics if k.startswith("timing.")} == {
        "timing.events_per_s.direct",
        "timing.events_per_s.eps0.003",
        "timing.events_per_s.eps0.03",
        "timing.speedup.eps0.003",
        "timing.speedup.eps0.03",
    }
    import pandas as pd

    long = pd.DataFrame(
        [{"task": "gillespie", "variant": "tau.x", "seed": 0, "metric": k, "value": v} for k, v in metrics.items()]
    )
    from types import SimpleNamespace

    from kx_tasks.gillespie.figures import plot_sweep

    plot_sweep(table, EXACT["gene_expression_x100"], SimpleNamespace(variant="tau.x", seed=0), tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 10_000
    shown = sweep_table(long)
    assert list(shown.index.get_level_values("simulator")) == ["direct", "tau ε=0.003", "tau ε=0.03"]
    assert shown.loc[("tau.x", "direct"), "speed-up vs direct"] == "–"


def test_tau_leaping_leaps_on_the_high_count_network():
    net = Network.from_yaml(Path(__file__).parents[1] / "kx_tasks/gillespie/networks/gene_expression_x100.yaml")
    times = np.array([0.0, 5.0])
    start = np.array(net.initial_counts())
    assert start.tolist() == [0, 0]
    leap = simulate(net, 5.0, 4, times=times, method="tau", seed=0, eps=0.03)
    exact = simulate(net, 5.0, 4, times=times, method="direct", seed=0)
    assert not np.array_equal(leap.counts, exact.counts)
    assert leap.counts[:, -1, 0].mean() == pytest.approx(2000 * (1 - math.exp(-5)), rel=0.05)
