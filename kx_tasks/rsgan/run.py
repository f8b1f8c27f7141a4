"""Stages of the `rsgan` task: train (Newton for `theory`; the GAN loop for grid, MNIST, CIFAR-10) and evaluate."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

import numpy as np
import torch

from kx_tasks.core.checkpoints import load_weights
from kx_tasks.core.data import load
from kx_tasks.core.io import read_jsonl, write_json
from kx_tasks.core.settings import Run
from kx_tasks.rsgan import figures, grid, model, steps, theory
from kx_tasks.rsgan.config import GRIDS, RsganConfig
from kx_tasks.shared import classifier, frechet
from kx_tasks.shared.curves import speed_to_tau


def train(run: Run, inputs: dict[str, Path], out_dir: Path) -> None:
    cfg: RsganConfig = run.params
    family = run.family
    if family == "theory":
        np.savez(out_dir / "solution.npz", **theory.solve(cfg.support, run.seed))
        return
    device = run.torch_device
    gen = torch.Generator(device).manual_seed(run.seed)
    torch.manual_seed(run.seed)  # the same initial weights for the twins of a seed
    if family in GRIDS:
        G = model.grid_generator(cfg.grid_width).to(device)
        D = model.grid_discriminator(cfg.grid_d_width, cfg.grid_pieces).to(device)
        points = grid.training_points(cfg.grid_points, torch.Generator().manual_seed(run.seed)).to(device)

        def real(n, g):
            return points[torch.randint(0, len(points), (n,), generator=g, device=device)]

        schedule = steps.Schedule(
            cfg.loss, cfg.g_steps, cfg.grid_iterations, cfg.grid_batch_size, 2, cfg.grid_eval_every
        )
        lr, betas = cfg.grid_lr, (cfg.grid_beta1, 0.999)
        evaluate = steps.grid_checkpoint(G, cfg, device)
    else:
        G, D = image_nets(cfg, family, device)
        real = real_images(inputs[family], device)
        schedule = image_schedule(cfg)
        lr, betas = cfg.lr, (cfg.beta1, cfg.beta2)
        net, facts, real_features = classifier.load_classifier(inputs[f"{family}_classifier"], device)
        evaluate = steps.image_checkpoint(G, net, real_features[: cfg.fd_samples], cfg.fd_samples, cfg.z_dim, device)
    opt_g, opt_d = steps.adam(G, lr, betas), steps.adam(D, lr, betas)
    log = steps.train_gan(
        G,
        D,
        real,
        schedule,
        opt_g,
        opt_d,
        gen,
        evaluate,
        inputs["checkpoints"] / "gan",
        out_dir,
        f"{run.variant} seed {run.seed}",
        cfg.model_dump(mode="json"),
    )
    torch.save(G.state_dict(), out_dir / "generator.pt")
    torch.save(D.state_dict(), out_dir / "discriminator.pt")
    if family in GRIDS:
        np.savez_compressed(out_dir / "snapshots.npz", **{k: v.numpy() for k, v in log.loop.kept.items()})


def image_nets(cfg: RsganConfig, family: str, device) -> tuple[torch.nn.Module, torch.nn.Module]:
    """G and D of an image setting (bojone's DCGAN pair at 28×28, or the CIFAR-10 setup), on `device`."""
    G = model.mnist_generator(cfg.z_dim, cfg.width) if family == "mnist" else model.cifar_generator(cfg.z_dim)
    D = (
        model.mnist_discriminator(cfg.width, cfg.spectral_norm)
        if family == "mnist"
        else model.cifar_discriminator(cfg.spectral_norm)
    )
    return G.to(device), D.to(device)


def real_images(path: Path, device):
    """A sampler of real training images on tanh's [−1, 1]: real(n, generator)."""
    x = classifier.as_unit(load(path)["x_train"]).to(device).mul_(2).sub_(1)

    def real(n, g):
        return x[torch.randint(0, len(x), (n,), generator=g, device=device)]

    return real


def image_schedule(cfg: RsganConfig) -> steps.Schedule:
    return steps.Schedule(cfg.loss, cfg.g_steps, cfg.iterations, cfg.batch_size, cfg.z_dim, cfg.eval_every)


def evaluate(run: Run, inputs: dict[str, Path], out_dir: Path) -> dict[str, float]:
    cfg: RsganConfig = run.params
    family = run.family
    if family == "theory":
        with np.load(inputs["train"] / "solution.npz") as f:
            solution = {k: f[k] for k in f.files}
        return theory.check(solution, run.seed)
    device = run.torch_device
    evals = read_jsonl(inputs["train"] / "evals.jsonl")
    history = read_jsonl(inputs["train"] / "history.jsonl")
    metrics = training_metrics(history, evals)
    if family in GRIDS:
        G = model.grid_generator(cfg.grid_width).to(device)
        load_weights(G, inputs["train"] / "generator.pt", device)
        G.eval()
        torch.manual_seed(run.seed)
        metrics.update(grid.coverage(lambda n: G(torch.randn(n, 2, device=device)), cfg.grid_draws))
        with np.load(inputs["train"] / "snapshots.npz") as f:
            snaps = {int(k.removeprefix("step")): f[k] for k in f.files}
        figures.plot_grid_snapshots(snaps, run, out_dir / "grid_samples.png")
        return metrics
    G = model.mnist_generator(cfg.z_dim, cfg.width) if family == "mnist" else model.cifar_generator(cfg.z_dim)
    G = G.to(device)
    load_weights(G, inputs["train"] / "generator.pt", device)
    net, facts, real_features = classifier.load_classifier(inputs[f"{family}_classifier"], device)
    x = model.generate(G, cfg.final_samples, cfg.z_dim, device)
    feats = classifier.features(net, x)
    with torch.no_grad():  # the head on the same features: one pass of the classifier's body
        probs = torch.softmax(net.head(torch.as_tensor(feats, dtype=torch.float32, device=device)).double(), dim=1)
    probs = probs.cpu()
    hist = np.bincount(probs.argmax(1).numpy(), minlength=10) / len(probs)
    tau = cfg.tau_factor * facts["fd_floor_5k"]
    metrics.update(
        {
            "fd": frechet.between(feats, real_features[: cfg.final_samples]),
            "fd_floor": facts["fd_floor"],
            "fd_floor_5k": facts["fd_floor_5k"],
            "classifier_acc": facts["test_acc"],
            "class_kl": float(sum(h * math.log(10 * h) for h in hist if h > 0)),
            "frac_confident": float((probs.max(1).values > 0.9).double().mean()),
            "class_min_share": float(hist.min()),
            **speed_to_tau(evals, "fd", tau),
            "fd_checkpoint_last": evals[-1]["fd"],
        }
    )
    # Time to τ that load cannot decide: iterations to τ × this loss's iteration cost in SGAN iterations, timed
    # interleaved with SGAN's on the same nets (RSGAN's G step passes one more real batch through D).
    ratio = 1.0
    if cfg.loss != "sgan":
        ratio = steps.step_cost_vs_sgan(
            partial(image_nets, cfg, family, device),
            real_images(inputs[family], device),
            image_schedule(cfg),
            cfg.lr,
            (cfg.beta1, cfg.beta2),
            run.seed,
        )
    metrics["timing.step_cost_vs_sgan"] = ratio
    metrics["timing.sgan_steps_to_tau"] = metrics["steps_to_tau"] * ratio
    figures.plot_samples(x[:64].cpu(), run, out_dir / "samples.png")
    figures.plot_fd_curve(evals, tau, run, out_dir / "fd_curve.png")
    write_json(out_dir / "class_histogram.json", {"share": hist.tolist()})
    return metrics


def training_metrics(history: list[dict], evals: list[dict]) -> dict[str, float]:
    """Wall time per iteration (training only), and R9's diagnostic: the variance over steps of ‖∇_G L_G‖."""
    iterations = history[-1]["step"]
    mean = sum(r["g_grad_norm"] for r in history) / len(history)
    mean_sq = sum(r["g_grad_norm_sq"] for r in history) / len(history)
    return {
        # clock readings: `timing.*` keeps them in timings.json, so metrics.json repeats to the byte
        "timing.train_seconds": evals[-1]["seconds"],
        "timing.ms_per_iteration": 1000 * evals[-1]["seconds"] / iterations,
        "g_grad_norm_mean": mean,
        "g_grad_norm_cv": math.sqrt(max(mean_sq - mean**2, 0.0)) / mean if mean > 0 else 0.0,
    }
