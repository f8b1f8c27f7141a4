"""Stages of the `fvae` task: train (one loop for every model, checkpoints at equal fractions of its steps with
bits/dim and FD) and evaluate (test bits/dim and the IWAE bound, FD and sharpness at three temperatures,
reconstruction, the post's special cases on the trained model, sample grids and interpolations)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from kx_tasks.core import short_run
from kx_tasks.core.checkpoints import load_weights
from kx_tasks.core.data import load
from kx_tasks.core.io import read_jsonl
from kx_tasks.core.settings import Run
from kx_tasks.fvae import figures, identities, measures
from kx_tasks.fvae.config import TEMPERATURES, FvaeConfig
from kx_tasks.fvae.model import build, count_parameters
from kx_tasks.fvae.steps import step_cost_vs_glow, train_model
from kx_tasks.shared import classifier, frechet
from kx_tasks.shared.curves import speed_to_tau

NOISE_SEED = 1_000_003  # the fixed noise of every sample set (the same u for every model and checkpoint)
EVAL_SEED = 2_000_003  # the fixed dequantisation and u draws of every test-set bound
CURVE_TEMPERATURE = 0.8  # bojone's second sampling temperature: the checkpoints' FD


def _images(array: np.ndarray, device) -> torch.Tensor:
    """uint8 (N, H, W) or (N, H, W, C) or (N, C, H, W) -> uint8 (N, C, H, W) on the device."""
    x = torch.as_tensor(array)
    if x.dim() == 3:
        x = x[:, None]
    elif x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.permute(0, 3, 1, 2)
    return x.contiguous().to(device)


def _data(run: Run, inputs: dict[str, Path]):
    data = load(inputs[run.family])
    return _images(data["x_train"], run.torch_device), _images(data["x_test"], run.torch_device)


def _classifier(run: Run, inputs: dict[str, Path]):
    return classifier.load_classifier(inputs[f"{run.family}_classifier"], run.torch_device)


def train(run: Run, inputs: dict[str, Path], out_dir: Path) -> None:
    cfg: FvaeConfig = run.params
    device = run.torch_device
    train_images, test_images = _data(run, inputs)
    torch.manual_seed(run.seed)
    model = build(cfg, tuple(train_images.shape[1:]), run.seed).to(device)
    net, _, real_features = _classifier(run, inputs)
    real_stats = frechet.gaussian(real_features[: cfg.curve_samples])
    curve_test = test_images[: cfg.curve_images]

    def checkpoint(_) -> dict[str, float]:  # called by the engine with its Loop
        bpd = measures.bpd_per_image(model, curve_test, EVAL_SEED).mean()
        x = measures.samples(model, cfg.curve_samples, CURVE_TEMPERATURE, NOISE_SEED)
        return {"bpd": float(bpd), "fd": frechet.distance(*frechet.gaussian(classifier.features(net, x)), *real_stats)}

    gen = torch.Generator(device).manual_seed(run.seed)
    train_model(
        model,
        train_images,
        cfg,
        gen,
        checkpoint,
        inputs["checkpoints"] / "model",
        out_dir,
        f"{run.variant} seed {run.seed}",
    )
    torch.save(model.state_dict(), out_dir / "model.pt")


def evaluate(run: Run, inputs: dict[str, Path], out_dir: Path) -> dict[str, float]:
    cfg: FvaeConfig = run.params
    device = run.torch_device
    train_images, test_images = _data(run, inputs)
    shape = tuple(test_images.shape[1:])
    model = build(cfg, shape, run.seed).to(device)
    load_weights(model, inputs["train"] / "model.pt", device)
    model.eval()
    net, facts, real_features = _classifier(run, inputs)
    evals = read_jsonl(inputs["train"] / "evals.jsonl")
    glow_params = count_parameters(build(cfg.model_copy(update={"model": "glow"}), shape, run.seed))
    params = count_parameters(model)
    metrics = {"params": float(params), "params_vs_glow": params / glow_params}
    metrics.update(curve_metrics(evals, cfg, cfg.tau_factor * facts["fd_floor_5k"], len(train_images)))
    # Time to τ that load cannot decide: steps to τ × this model's step cost in Glow steps (timed interleaved).
    ratio = 1.0 if cfg.model == "glow" else step_cost_vs_glow(cfg, train_images, run.seed)
    metrics["timing.step_cost_vs_glow"] = ratio
    metrics["timing.glow_steps_to_tau"] = metrics["steps_to_tau"] * ratio

    test = test_images[: cfg.test_images]
    metrics["bpd"] = float(measures.bpd_per_image(model, test, EVAL_SEED).mean())
    subset = test_images[: cfg.iwae_images]
    k = 1 if cfg.model == "glow" else cfg.iwae_k  # Glow's density is exact: every k gives the same number
    metrics["bpd_subset"] = float(measures.bpd_per_image(model, subset, EVAL_SEED).mean())
    metrics["bpd_iwae"] = float(measures.bpd_per_image(model, subset, EVAL_SEED, k=k).mean())
    # All of them outside a shake-down; in one, at least 200 (config/smoke.yaml's: fewer, for 128 features, can make
    # the FD's matrix root complex).
    fd_samples = short_run.share_of(cfg.fd_samples, "FD samples", at_least=200)
    real = test_images[:fd_samples].float().div(255)
    shown = {}
    for t in TEMPERATURES:
        x = measures.samples(model, fd_samples, t, NOISE_SEED)
        tag = f"t{round(10 * t):02d}"
        metrics[f"fd_{tag}"] = frechet.between(classifier.features(net, x), real_features[:fd_samples])
        metrics[f"sharpness_{tag}"] = measures.sharpness_ratio(x, real)
        shown[tag] = x[:64].cpu().numpy()
    metrics["fd_floor_5k"] = facts["fd_floor_5k"]
    if cfg.model != "glow":
        metrics["recon_mse"] = measures.recon_mse(model, test, EVAL_SEED)
    metrics.update(special_cases(model, cfg, test_images))

    x_model = test_images[:4].float().add(0.5).div(128).sub(1)  # bin centres on the model's [−1, 1] scale
    paths = [measures.interpolation(model, x_model[i], x_model[i + 1], 9).cpu().numpy() for i in (0, 2)]
    np.savez_compressed(out_dir / "samples.npz", **shown, interpolation=np.stack(paths))
    figures.plot_samples(shown, run, out_dir / "samples.png")
    figures.plot_interpolation(np.stack(paths), run, out_dir / "interpolation.png")
    figures.plot_curves(evals, run, out_dir / "curves.png")
    return metrics


def curve_metrics(evals: list[dict], cfg: FvaeConfig, tau: float, n_train: int) -> dict[str, float]:
    """From the checkpoints (bits/dim on curve_images, FD at T = 0.8 on curve_samples): the FD at a quarter of the
    run (≈ a quarter of the matched seconds), at Glow's step count ("the same number of epochs" as Glow), the mean
    log FD over checkpoints, and when FD first falls to τ (censored at the end when never: `reached_tau`)."""
    steps = cfg.steps()
    quarter = max((r for r in evals if r["step"] <= steps / 4), key=lambda r: r["step"], default=evals[0])
    same = max((r for r in evals if r["step"] <= cfg.glow_steps), key=lambda r: r["step"], default=evals[0])
    last = evals[-1]
    return {
        "fd_curve_quarter": quarter["fd"],
        "fd_curve_final": last["fd"],
        "bpd_curve_final": last["bpd"],
        "fd_at_glow_steps": same["fd"],
        "step_at_glow_steps": float(same["step"]),
        **speed_to_tau(evals, "fd", tau),
        "epochs": steps * cfg.batch_size / n_train,
        # clock readings: `timing.*` keeps them in timings.json, so metrics.json repeats to the byte
        "timing.train_seconds": last["seconds"],
        "timing.images_per_s": steps * cfg.batch_size / last["seconds"],
    }


def special_cases(model, cfg: FvaeConfig, test_images: torch.Tensor) -> dict[str, float]:
    """The post's special cases on this trained model (float64 copies): the VAE identity on `vae_full`, the
    noisy-input flow identity on `glow` (its flow as F, σ = 0.1)."""
    x = test_images[:8].cpu().float().add(0.5).div(128).sub(1)
    g = torch.Generator().manual_seed(EVAL_SEED)
    if cfg.model == "vae_full":
        out = identities.vae_special_case(model, x[:2], 5000, g)
    elif cfg.model == "glow":
        out = identities.flow_special_case(model.flow, x, 0.1, g)
    else:
        return {}
    return {f"identity.{k}": v for k, v in out.items()}
