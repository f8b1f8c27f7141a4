"""fvae as a task: every model trains and evaluates end to end on toy digits and reports every metric its claims
read, a run repeats exactly, the budget's parameters are checked before any job, the matched sizes hold, and the
measures (sharpness, checkpoint metrics, warm-up) on known inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from helpers import build_classifier, prepared_digits

from kx_tasks.core.registry import discover
from kx_tasks.fvae import measures, steps
from kx_tasks.fvae.config import CIFAR_SETUP, PINS, FvaeConfig
from kx_tasks.fvae.model import build, count_parameters
from kx_tasks.fvae.run import curve_metrics

TINY = dict(
    residual_steps=1,
    prior_depth=1,
    prior_hidden=8,
    glow_depth=1,
    glow_hidden=8,
    low_width=4,
    batch_size=8,
    glow_steps=4,
    fvae_steps=4,
    vae_full_steps=4,
    vae_low_steps=4,
    marks=2,
    warmup_steps=2,
    curve_images=20,
    curve_samples=100,
    test_images=20,
    iwae_images=4,
    iwae_k=3,
    fd_samples=100,
)


def _stages(out: Path, variant: str, dataset: Path, classifier_dir: Path) -> dict:
    from kx_tasks.core import runner
    from kx_tasks.core.settings import Run

    task = discover()["fvae"]
    inputs = {"mnist": dataset, "mnist_classifier": classifier_dir, "checkpoints": out / "checkpoints"}
    metrics = None
    for stage in ("train", "evaluate"):
        run = Run("fvae", variant, 0, "cpu", 1, FvaeConfig(**{**TINY, **PINS[variant]}))
        metrics = runner.run_stage(task, stage, run, inputs, out / stage)
        inputs[stage] = out / stage
    return metrics


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fvae")
    dataset = prepared_digits(tmp)
    return dataset, build_classifier(tmp, dataset, epochs=1, min_accuracy=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["glow", "fvae", "vae_full", "vae_low"])
def test_every_model_runs_end_to_end_and_reports_what_its_claims_read(tmp_path, toy, model):
    variant = f"mnist.{model}"
    metrics = _stages(tmp_path, variant, *toy)
    task = discover()["fvae"]
    claimed = {c.metric for c in task.claims if c.variants and variant in c.variants}
    claimed |= {c.judge.baseline for c in task.claims if getattr(c.judge, "variant", None) == variant}
    assert claimed <= set(metrics), claimed - set(metrics)
    evals = [json.loads(x) for x in (tmp_path / "train" / "evals.jsonl").read_text().splitlines()]
    assert [r["step"] for r in evals] == [2, 4] and evals[0]["seconds"] < evals[1]["seconds"]
    assert all(math.isfinite(r["bpd"]) and r["fd"] > 0 for r in evals)
    history = [json.loads(x) for x in (tmp_path / "train" / "history.jsonl").read_text().splitlines()]
    assert "bpd" in history[0]  # the progress line's bits/dim, from the first epoch
    for name in ("samples.png", "interpolation.png", "curves.png", "samples.npz"):
        assert (tmp_path / "evaluate" / name).is_file(), name
    assert metrics["bpd_iwae"] <= metrics["bpd_subset"] + 1.0  # a bound on the same images, never far above
    if model == "glow":
        assert metrics["bpd_iwae"] == pytest.approx(metrics["bpd_subset"])  # exact density: k changes nothing
        assert metrics["identity.flow_recon"] < 1e-8 and metrics["identity.flow_loss"] < 1e-8
    if model == "vae_full":
        assert metrics["identity.vae_exact"] < 1e-9 and metrics["identity.vae_mc_z"] < 4


@pytest.mark.slow
def test_same_config_and_seed_repeat_metrics_to_the_byte(tmp_path, toy):
    a = _stages(tmp_path / "a", "mnist.fvae", *toy)
    b = _stages(tmp_path / "b", "mnist.fvae", *toy)

    def clock_free(m):
        return {k: v for k, v in m.items() if not k.startswith("timing.")}  # timings.json holds the clock readings

    assert clock_free(a) == clock_free(b)
    assert (tmp_path / "a/evaluate/metrics.json").read_bytes() == (tmp_path / "b/evaluate/metrics.json").read_bytes()


def test_step_counts_must_fall_on_the_checkpoints():
    with pytest.raises(ValueError, match=r"glow_steps: 601 is not a multiple of marks \(8\)"):
        FvaeConfig(glow_steps=601)


def test_default_and_cifar_sizes_match_parameters_within_ten_percent():
    for shape, pins in (((1, 28, 28), {}), ((3, 32, 32), CIFAR_SETUP)):
        counts = {m: count_parameters(build(FvaeConfig(**{**pins, "model": m}), shape, 0)) for m in ("glow", "fvae")}
        assert abs(counts["fvae"] / counts["glow"] - 1) <= 0.10, counts


def test_the_fvae_is_bojones_design():
    cfg = FvaeConfig()
    model = build(cfg.model_copy(update={"model": "fvae"}), (1, 28, 28), 0)
    assert model.z_shape == (16, 7, 7)  # z the size of x: no dimension reduction
    assert not cfg.affine and cfg.prior_mixing == "permute"  # additive coupling, random permutations
    assert model.log_sigma1.numel() == 1 and model.likelihood.log_sigma.numel() == 1  # scalar σ₁, σ₂


def test_sharpness_ratio_falls_with_blur():
    x = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    blurred = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1)
    assert measures.sharpness_ratio(x, x) == pytest.approx(1.0)
    assert measures.sharpness_ratio(blurred, x) < 0.2
    flat = torch.full_like(x, 0.5)
    assert measures.laplacian_variance(flat).abs().max() < 1e-12


def test_checkpoint_metrics_read_the_quarter_the_glow_steps_and_tau():
    cfg = FvaeConfig(model="fvae", fvae_steps=800, glow_steps=400, marks=8)
    evals = [
        {"step": 100 * i, "fd": 1000.0 / i, "bpd": 5.0, "seconds": 10.0 * i, "images": 6400.0 * i} for i in range(1, 9)
    ]
    out = curve_metrics(evals, cfg, tau=300.0, n_train=60_000)
    assert out["fd_curve_quarter"] == 500.0 and out["fd_at_glow_steps"] == 250.0 and out["step_at_glow_steps"] == 400
    assert out["reached_tau"] == 1.0 and out["timing.seconds_to_tau"] == 40.0 and out["steps_to_tau"] == 400
    never = curve_metrics(evals, cfg, tau=1.0, n_train=60_000)
    assert never["reached_tau"] == 0.0 and never["timing.seconds_to_tau"] == 80.0  # censored at the budget


def test_warmup_is_linear_then_flat():
    assert [steps.warmup_factor(s, 4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert steps.warmup_factor(0, 0) == 1.0
