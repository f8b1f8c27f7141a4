"""rsgan: the losses against hand-written formulas (RaSGAN's signs included), the post's theory exactly on a finite
support, PacGAN's grid metrics on known samples, the Fréchet distance in closed form, and short GAN runs on the
engine (twins share their start; same seed, same numbers)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import build_classifier, prepared_digits, toy_digits

from kx_tasks.core import settings
from kx_tasks.core.engine import without_clock
from kx_tasks.core.registry import discover
from kx_tasks.rsgan import grid, model, steps, theory
from kx_tasks.rsgan.config import PINS, RsganConfig
from kx_tasks.rsgan.losses import d_loss, g_loss
from kx_tasks.shared import frechet

R = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)  # D's logits on a real batch
F = torch.tensor([-0.5, 1.5, 0.0], dtype=torch.float64)  # … on a fake batch


def log_sigmoid(t):
    return math.log(1 / (1 + math.exp(-t)))


def test_sgan_losses_by_hand():
    d = [-log_sigmoid(r) - math.log(1 - 1 / (1 + math.exp(-f))) for r, f in zip(R.tolist(), F.tolist(), strict=True)]
    g = [-log_sigmoid(f) for f in F.tolist()]  # non-saturating
    assert torch.allclose(d_loss("sgan", R, F), torch.tensor(d, dtype=torch.float64), atol=1e-14)
    assert torch.allclose(g_loss("sgan", None, F), torch.tensor(g, dtype=torch.float64), atol=1e-14)


def test_rsgan_losses_by_hand():
    d = [-log_sigmoid(r - f) for r, f in zip(R.tolist(), F.tolist(), strict=True)]
    g = [-log_sigmoid(f - r) for r, f in zip(R.tolist(), F.tolist(), strict=True)]
    assert torch.allclose(d_loss("rsgan", R, F), torch.tensor(d, dtype=torch.float64), atol=1e-14)
    assert torch.allclose(g_loss("rsgan", R, F), torch.tensor(g, dtype=torch.float64), atol=1e-14)


def test_rasgan_losses_by_hand_with_the_corrected_signs():
    mr, mf = R.mean().item(), F.mean().item()
    # D: real above the average fake, fake below the average real (AlexiaJM/RelativisticGAN issue #2: f - mean(r),
    # not mean(f) - r); G: the same with the roles swapped. Both halved, as in the repository.
    d = [(-log_sigmoid(r - mf) - log_sigmoid(-(f - mr))) / 2 for r, f in zip(R.tolist(), F.tolist(), strict=True)]
    g = [(-log_sigmoid(f - mr) - log_sigmoid(-(r - mf))) / 2 for r, f in zip(R.tolist(), F.tolist(), strict=True)]
    assert torch.allclose(d_loss("rasgan", R, F), torch.tensor(d, dtype=torch.float64), atol=1e-14)
    assert torch.allclose(g_loss("rasgan", R, F), torch.tensor(g, dtype=torch.float64), atol=1e-14)
    wrong = [(-log_sigmoid(r - mf) - log_sigmoid(-(mf - r))) / 2 for r in R.tolist()]  # the early code's form
    assert not torch.allclose(d_loss("rasgan", R, F), torch.tensor(wrong, dtype=torch.float64))


def test_losses_are_stable_at_extreme_logits():
    big = torch.tensor([1e4, -1e4])
    for loss in ("sgan", "rsgan", "rasgan"):
        assert torch.isfinite(d_loss(loss, big, -big)).all() and torch.isfinite(g_loss(loss, big, -big)).all()
    assert d_loss("rsgan", big, -big)[1].item() == pytest.approx(2e4)  # exact: no 1e-9 floor, no log(0)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_theory_exact_on_a_finite_support(seed):
    m = theory.check(theory.solve(30, seed), seed)
    assert m["log_ratio_range"] > 3, "p and q must differ for the check to mean anything"
    assert m["sgan.grad_at_log_ratio"] <= 1e-12 and m["rsgan.grad_at_log_ratio"] <= 1e-12
    assert m["sgan.newton_error"] <= 1e-8 and m["rsgan.newton_error"] <= 1e-8
    assert m["sgan.fdiv_error"] <= 1e-10 and m["rsgan.fdiv_error"] <= 1e-10
    assert m["rsgan.shift_invariance"] <= 1e-12
    assert m["rsgan.fdiv_above_f1"] > 0 and m["sgan.fdiv_above_f1"] > 0 and m["f_convexity_margin"] >= 0


def test_theory_catches_a_wrong_loss(monkeypatch):
    """With the fake term's sign flipped the optimum moves far from log(p/q): the checks are not vacuous."""
    p, q = (torch.from_numpy(a) for a in theory.support(30, 0))
    real = theory.d_loss
    monkeypatch.setattr(theory, "d_loss", lambda loss, r, f: real(loss, r, -f) if loss == "sgan" else real(loss, r, f))
    t, _ = theory.newton("sgan", p, q)
    assert (t - torch.log(p / q)).abs().max() > 0.1
    assert theory.gradient("sgan", torch.log(p / q), p, q).abs().max() > 1e-3


def test_rsgan_optimum_is_only_defined_up_to_a_constant():
    p, q = (torch.from_numpy(a) for a in theory.support(30, 5))
    lr = torch.log(p / q)
    for c in (-7.0, 0.0, 3.5):
        assert theory.gradient("rsgan", lr + c, p, q).abs().max() <= 1e-12
    assert theory.gradient("sgan", lr + 1.0, p, q).abs().max() > 1e-3  # SGAN's is not


def test_grid_metrics_on_known_samples():
    exact = grid.MODES.repeat(100, 1)  # 100 samples on every mode
    counts, hq = grid.histogram(exact)
    assert hq == 1.0 and (counts == 100).all() and grid.reverse_kl(counts) == pytest.approx(0.0, abs=1e-12)
    one = torch.zeros(500, 2) + grid.MODES[7]
    counts, hq = grid.histogram(one)
    assert counts[7] == 500 and grid.reverse_kl(counts) == pytest.approx(math.log(25))
    # 3σ is the HQ threshold: 0.14 from a mode is HQ, 0.16 is not
    near = grid.MODES[:2] + torch.tensor([[0.14, 0.0], [0.16, 0.0]])
    assert grid.histogram(near)[1] == 0.5
    m = grid.coverage(lambda n: grid.MODES[torch.arange(n) % 25] + 0.01 * torch.randn(n, 2), draws=3)
    assert m["modes"] == 25 and m["hq_frac"] == 1.0 and m["reverse_kl"] < 1e-3 and m["modes_1pct"] == 25
    half = grid.coverage(lambda n: grid.MODES[torch.arange(n) % 12], draws=2)
    assert half["modes"] == 12 and half["reverse_kl"] == pytest.approx(math.log(25 / 12), abs=1e-3)


def test_frechet_distance_in_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    s1 = a @ a.T + np.eye(4)
    mu = rng.normal(size=4)
    assert frechet.distance(mu, s1, mu, s1) == pytest.approx(0.0, abs=1e-9)
    d1, d2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 16.0])  # diagonal: Σ (√a − √b)²
    expected = 1.0 + sum((np.sqrt(d1) - np.sqrt(d2)) ** 2)
    got = frechet.distance(np.zeros(3), np.diag(d1), np.array([1.0, 0, 0]), np.diag(d2))
    assert got == pytest.approx(expected, rel=1e-10)
    x = rng.normal(size=(4000, 3))
    assert frechet.between(x, x + 0.5) > frechet.between(x, x + 0.1) > 0


def test_spectral_norm_is_on_every_layer_of_d_when_asked():
    sn = model.mnist_discriminator(8, True)
    plain = model.mnist_discriminator(8, False)
    assert sum(hasattr(m, "parametrizations") for m in sn.modules()) == 3
    assert not any(hasattr(m, "parametrizations") for m in plain.modules())
    assert len(list(model.cifar_discriminator(True).modules())) > 0


def test_variants_pin_loss_schedule_and_setup():
    assert PINS["mnist.rsgan_sn"] == {"loss": "rsgan", "spectral_norm": True, "g_steps": 2}  # bojone's 1 : 2
    assert PINS["mnist.rsgan_sn_1to1"]["g_steps"] == 1
    cifar = PINS["cifar10.rasgan_sn"]
    assert (cifar["batch_size"], cifar["iterations"], cifar["lr"], cifar["beta1"], cifar["beta2"]) == (
        32,
        100_000,
        2e-4,
        0.5,
        0.999,
    )
    assert cifar["g_steps"] == 1 and cifar["spectral_norm"]


def _short_grid_run(loss: str, seed: int, tmp_path, iterations: int = 40):
    torch.manual_seed(seed)
    G, D = model.grid_generator(16), model.grid_discriminator(8, 3)
    start = {k: v.clone() for k, v in G.state_dict().items()}
    points = grid.training_points(1000, torch.Generator().manual_seed(seed))
    gen = torch.Generator().manual_seed(seed)
    schedule = steps.Schedule(loss, 1, iterations, 32, 2, 20)
    opt_g, opt_d = torch.optim.Adam(G.parameters(), 1e-3), torch.optim.Adam(D.parameters(), 1e-3)
    out = tmp_path / f"{loss}{seed}"
    out.mkdir()

    def real(n, g):
        return points[torch.randint(0, 1000, (n,), generator=g)]

    def evaluate(loop):
        return {"mean_x": float(G(torch.zeros(4, 2)).mean().detach())}

    log = steps.train_gan(G, D, real, schedule, opt_g, opt_d, gen, evaluate, out / "ckpt", out, loss, {})
    return start, log


def test_gan_loop_twins_share_their_start_and_repeat_exactly(tmp_path):
    start_s, log_s = _short_grid_run("sgan", 0, tmp_path)
    start_r, log_r = _short_grid_run("rsgan", 0, tmp_path)
    assert all(torch.equal(start_s[k], start_r[k]) for k in start_s)
    (tmp_path / "again").mkdir()
    _, again = _short_grid_run("rsgan", 0, tmp_path / "again")
    assert without_clock(log_r.history) == without_clock(again.history)
    assert without_clock(log_r.evaluations) == without_clock(again.evaluations)
    assert [r["step"] for r in log_r.evaluations] == [20, 40]
    assert all(r["seconds"] > 0 for r in log_r.evaluations)
    assert log_s.history[-1]["d_loss"] != log_r.history[-1]["d_loss"]


def test_per_variant_artefacts_and_seeds():
    task = discover()["rsgan"]
    block = {"variant_seeds": {"grid": list(range(10))}, "variants": ["theory", "grid.sgan", "mnist.sgan_sn"]}
    config = {"seeds": [0, 1, 2], "tasks": {"rsgan": block}}
    runs = settings.runs(config, {"rsgan": task})
    per = {v: sorted(r.seed for r in runs if r.variant == v) for v in ("theory", "grid.sgan", "mnist.sgan_sn")}
    assert per == {"theory": [0, 1, 2], "grid.sgan": list(range(10)), "mnist.sgan_sn": [0, 1, 2]}
    assert settings.artefact_inputs(task, "train", "grid.sgan", 0, {}) == {}
    from kx_tasks.core.registry import discover_artefacts

    inputs = settings.artefact_inputs(task, "train", "mnist.sgan_sn", 0, discover_artefacts())
    assert inputs == {"mnist_classifier": "results/artefacts/mnist_classifier/shared"}
    with pytest.raises(settings.ConfigError, match=r"tasks\.rsgan\.variant_seeds\.gird: not a variant"):
        settings.check_config({"tasks": {"rsgan": {"variant_seeds": {"gird": [0]}}}}, {"rsgan": task})


def test_defaults_are_the_cpu_protocol():
    cfg = RsganConfig()
    assert (cfg.batch_size, cfg.lr, cfg.beta1, cfg.beta2) == (64, 2e-4, 0.5, 0.999)  # bojone's optimiser and batch
    assert cfg.grid_batch_size == 100 and cfg.grid_points == 100_000 and cfg.grid_pieces == 5


@pytest.mark.slow
def test_classifier_artefact_records_accuracy_and_floors_and_fd_rises_with_noise(tmp_path):
    from kx_tasks.shared import classifier

    out = build_classifier(tmp_path, prepared_digits(tmp_path), min_accuracy=0.9)
    facts = json.loads((out / "classifier.json").read_text())
    assert facts["test_acc"] >= 0.9 and facts["train_images"] == 1500 and facts["fd_floor"] >= 0
    net, facts, real = classifier.load_classifier(out, "cpu")
    assert real.shape == (1500, 128)
    x = classifier.as_unit(toy_digits(600, 2)[0])
    fds = [
        frechet.between(classifier.features(net, (x + s * torch.randn_like(x)).clamp(0, 1)), real)
        for s in (0.0, 0.05, 0.1, 0.2)
    ]
    assert fds == sorted(fds) and fds[-1] > 2 * fds[0], fds


def test_classifier_below_its_accuracy_floor_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match=r"test accuracy 0\.\d+ is below 0\.9"):
        build_classifier(tmp_path, prepared_digits(tmp_path, shuffle_labels=True), min_accuracy=0.9)
    assert not (tmp_path / "classifier").exists()


def _stages(tmp_path, variant: str, dataset: Path, classifier_dir: Path, **params) -> dict:
    """train then evaluate of one rsgan variant on a prepared dataset, tiny; returns the metrics."""
    from kx_tasks.core import runner
    from kx_tasks.core.settings import Run

    task = discover()["rsgan"]
    pinned = {**PINS[variant], **params}  # the test's sizes over the variant's pins (kx would refuse those)
    inputs = {variant.split(".")[0]: dataset, f"{variant.split('.')[0]}_classifier": classifier_dir}
    metrics = None
    for stage in ("train", "evaluate"):
        run = Run("rsgan", variant, 0, "cpu", 1, RsganConfig(**pinned))
        metrics = runner.run_stage(task, stage, run, inputs, tmp_path / stage)
        inputs[stage] = tmp_path / stage
    return metrics


TINY = dict(iterations=6, eval_every=3, fd_samples=100, final_samples=100, batch_size=8)


@pytest.mark.slow
def test_mnist_twin_trains_and_reports_every_claimed_metric(tmp_path):
    dataset = prepared_digits(tmp_path)
    classifier_dir = build_classifier(tmp_path, dataset, epochs=1, min_accuracy=0.5)
    task = discover()["rsgan"]
    for variant in ("mnist.rsgan_sn", "mnist.sgan"):
        metrics = _stages(tmp_path / variant, variant, dataset, classifier_dir, **TINY)
        claimed = {c.metric for c in task.claims if c.variants and variant in c.variants}
        assert claimed <= set(metrics), claimed - set(metrics)
        evals = [json.loads(x) for x in (tmp_path / variant / "train" / "evals.jsonl").read_text().splitlines()]
        assert [r["step"] for r in evals] == [3, 6] and evals[0]["seconds"] < evals[1]["seconds"]
        assert (tmp_path / variant / "evaluate" / "samples.png").is_file()
        assert metrics["fd"] > 0 and 0 <= metrics["class_kl"] <= math.log(10)


@pytest.mark.slow
def test_cifar_setup_runs_on_three_channels(tmp_path):
    from kx_tasks.core.data import catalogue

    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 400).astype(np.uint8)
    x = rng.integers(0, 256, (400, 3, 32, 32)).astype(np.uint8)
    arrays = {"x_train": x[:300], "y_train": y[:300], "x_test": x[300:], "y_test": y[300:]}
    path = tmp_path / "cifar10.npz"
    facts = json.dumps({"dataset": "cifar10", "arrays": catalogue.facts_of(arrays)}, sort_keys=True)
    np.savez_compressed(path, **arrays, **{catalogue.FACTS: np.array(facts)})
    from kx_tasks.core import runner
    from kx_tasks.shared.artefacts import CIFAR10

    config = {"device": "cpu", "artefacts": {"cifar10_classifier": {"params": {"epochs": 1, "min_accuracy": 0.01}}}}
    runner.build_artefact(
        CIFAR10, settings.make_artefact_run(config, CIFAR10, "shared"), {"cifar10": path}, tmp_path / "cls"
    )
    metrics = _stages(
        tmp_path / "run",
        "cifar10.rasgan_sn",
        path,
        tmp_path / "cls",
        iterations=2,
        eval_every=1,
        fd_samples=100,
        final_samples=100,
        batch_size=4,
    )
    assert math.isfinite(metrics["fd"]) and metrics["timing.ms_per_iteration"] > 0


def test_per_variant_artefacts_must_name_variants():
    import dataclasses

    from kx_tasks.core.registry import Stage, TaskError, check_task

    task = discover()["rsgan"]
    stage = Stage("kx_tasks.rsgan.run:train", artefacts={"mnist.nope": ("mnist_classifier",)})
    broken = dataclasses.replace(task, stages={**task.stages, "train": stage})
    with pytest.raises(TaskError, match=r"stage 'train' lists artefacts for unknown variant\(s\) \['mnist.nope'\]"):
        check_task(broken, "test")


def test_checkpoint_intervals_must_divide_the_budget_before_any_job():
    with pytest.raises(ValueError, match=r"grid_eval_every: 1000 does not divide the 3500 grid_iterations"):
        RsganConfig(grid_iterations=3500, grid_eval_every=1000)
    with pytest.raises(ValueError, match=r"eval_every: 300 does not divide the 500 iterations"):
        RsganConfig(eval_every=300)


def test_same_seed_same_metrics_bytes_on_the_grid(tmp_path):
    """Clock readings go to timings.json (`timing.*`), so a grid run's metrics.json repeats to the byte."""
    from kx_tasks.core import runner
    from kx_tasks.core.settings import Run

    task = discover()["rsgan"]
    tiny = RsganConfig(
        **{
            **PINS["grid.rsgan"],
            "grid_iterations": 40,
            "grid_eval_every": 20,
            "grid_points": 1000,
            "grid_width": 16,
            "grid_d_width": 8,
            "grid_draws": 2,
        }
    )
    for name in ("a", "b"):
        inputs = {}
        for stage in ("train", "evaluate"):
            runner.run_stage(
                task, stage, Run("rsgan", "grid.rsgan", 0, "cpu", 1, tiny), inputs, tmp_path / name / stage
            )
            inputs[stage] = tmp_path / name / stage
    a, b = ((tmp_path / n / "evaluate" / "metrics.json").read_bytes() for n in "ab")
    assert a == b
    assert "timing.ms_per_iteration" in json.loads((tmp_path / "a" / "evaluate" / "timings.json").read_text())
