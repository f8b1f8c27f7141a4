"""Stages of the `rsgan` task: train (Newton for `theory`; the GAN loop for grid, MNIST, CIFAR-10) and evaluate."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from kx_tasks.core.data import load
from kx_tasks.core.engine import Loop
from kx_tasks.core.io import read_jsonl, write_json
from kx_tasks.core.settings import Run
from kx_tasks.rsgan import figures, gan, grid, nets, theory
from kx_tasks.rsgan.config import GRIDS, RsganConfig, setting
from kx_tasks.shared import classifier, frechet

NOISE_SEED = 1_000_003  # the fixed noise of every checkpoint's samples (the same z for all checkpoints and twins)


def train(run: Run, inputs: dict[str, Path], out_dir: Path) -> None:
    cfg: RsganConfig = run.params
    kind = setting(run.variant)
    if kind == "theory":
        np.savez(out_dir / "solution.npz", **theory.solve(cfg.support, run.seed))
        return
    device = run.torch_device
    gen = torch.Generator(device).manual_seed(run.seed)
    torch.manual_seed(run.seed)  # the same initial weights for the twins of a seed
    if kind in GRIDS:
        G = nets.grid_generator(cfg.grid_width).to(device)
        D = nets.grid_discriminator(cfg.grid_d_width, cfg.grid_pieces).to(device)
        points = grid.training_points(cfg.grid_points, torch.Generator().manual_seed(run.seed)).to(device)
        real = lambda n, g: points[torch.randint(0, len(points), (n,), generator=g, device=device)]  # noqa: E731
        schedule = gan.Schedule(cfg.loss, cfg.g_steps, cfg.grid_iterations, cfg.grid_batch_size, 2,
                                cfg.grid_eval_every)  # fmt: skip
        lr, betas = cfg.grid_lr, (cfg.grid_beta1, 0.999)
        evaluate = grid_checkpoint(G, cfg, device)
    else:
        images = load(inputs[kind])["x_train"]
        x = classifier.as_unit(images).to(device).mul_(2).sub_(1)  # [−1, 1], tanh's range
        G = nets.mnist_generator(cfg.z_dim, cfg.width) if kind == "mnist" else nets.cifar_generator(cfg.z_dim)
        D = (nets.mnist_discriminator(cfg.width, cfg.spectral_norm) if kind == "mnist"
             else nets.cifar_discriminator(cfg.spectral_norm))  # fmt: skip
        G, D = G.to(device), D.to(device)
        real = lambda n, g: x[torch.randint(0, len(x), (n,), generator=g, device=device)]  # noqa: E731
        schedule = gan.Schedule(cfg.loss, cfg.g_steps, cfg.iterations, cfg.batch_size, cfg.z_dim, cfg.eval_every)
        lr, betas = cfg.lr, (cfg.beta1, cfg.beta2)
        net, facts, real_features = classifier.load_classifier(inputs[f"{kind}_classifier"], device)
        evaluate = image_checkpoint(G, net, real_features[: cfg.fd_samples], cfg.fd_samples, cfg.z_dim, device)
    opt_g, opt_d = gan.adam(G, lr, betas), gan.adam(D, lr, betas)
    log = gan.train(G, D, real, schedule, opt_g, opt_d, gen, evaluate, inputs["checkpoints"] / "gan", out_dir,
                    f"{run.variant} seed {run.seed}", cfg.model_dump(mode="json"))  # fmt: skip
    torch.save(G.state_dict(), out_dir / "generator.pt")
    torch.save(D.state_dict(), out_dir / "discriminator.pt")
    if kind in GRIDS:
        np.savez_compressed(out_dir / "snapshots.npz", **{k: v.numpy() for k, v in log.loop.kept.items()})


def grid_checkpoint(G, cfg: RsganConfig, device):
    """The grid's evaluation: mode coverage, and G's samples at fixed noise kept with the loop (in every checkpoint,
    so a resumed run still has the snapshots of its first attempt)."""
    fixed = torch.Generator(device).manual_seed(NOISE_SEED)
    z_fixed = torch.randn(grid.PACGAN_SAMPLES, 2, generator=fixed, device=device)

    def sample(n: int) -> torch.Tensor:
        return G(torch.randn(n, 2, device=device))  # the engine forks the global RNG around evaluations

    @torch.no_grad()
    def evaluate(loop: Loop) -> dict[str, float]:
        G.eval()
        loop.kept[f"step{loop.step}"] = G(z_fixed).cpu()
        return grid.coverage(sample, cfg.grid_draws)

    return evaluate


@torch.no_grad()
def generate(G, n: int, z_dim: int, device, seed: int = NOISE_SEED, batch: int = 1000) -> torch.Tensor:
    """n samples in [0, 1] (clamped) from fixed noise, G in eval mode."""
    G.eval()
    g = torch.Generator(device).manual_seed(seed)
    out = [G(torch.randn(min(batch, n - i), z_dim, generator=g, device=device)) for i in range(0, n, batch)]
    return torch.cat(out).add_(1).div_(2).clamp_(0, 1)


def image_checkpoint(G, net, real_features: np.ndarray, n: int, z_dim: int, device):
    real_stats = frechet.gaussian(real_features)

    def evaluate(loop: Loop) -> dict[str, float]:
        feats = classifier.features(net, generate(G, n, z_dim, device))
        return {"fd": frechet.distance(*frechet.gaussian(feats), *real_stats)}

    return evaluate


def evaluate(run: Run, inputs: dict[str, Path], out_dir: Path) -> dict[str, float]:
    cfg: RsganConfig = run.params
    kind = setting(run.variant)
    if kind == "theory":
        with np.load(inputs["train"] / "solution.npz") as f:
            solution = {k: f[k] for k in f.files}
        return theory.check(solution, run.seed)
    device = run.torch_device
    evals = read_jsonl(inputs["train"] / "evals.jsonl")
    history = read_jsonl(inputs["train"] / "history.jsonl")
    metrics = training_metrics(history, evals)
    if kind in GRIDS:
        G = nets.grid_generator(cfg.grid_width).to(device)
        G.load_state_dict(torch.load(inputs["train"] / "generator.pt", map_location=device, weights_only=True))
        G.eval()
        torch.manual_seed(run.seed)
        metrics.update(grid.coverage(lambda n: G(torch.randn(n, 2, device=device)), cfg.grid_draws))
        with np.load(inputs["train"] / "snapshots.npz") as f:
            snaps = {int(k.removeprefix("step")): f[k] for k in f.files}
        figures.plot_grid_snapshots(snaps, run, out_dir / "grid_samples.png")
        return metrics
    G = nets.mnist_generator(cfg.z_dim, cfg.width) if kind == "mnist" else nets.cifar_generator(cfg.z_dim)
    G = G.to(device)
    G.load_state_dict(torch.load(inputs["train"] / "generator.pt", map_location=device, weights_only=True))
    net, facts, real_features = classifier.load_classifier(inputs[f"{kind}_classifier"], device)
    x = generate(G, cfg.final_samples, cfg.z_dim, device)
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
            **speed(evals, tau),
        }
    )
    figures.plot_samples(x[:64].cpu(), run, out_dir / "samples.png")
    figures.plot_fd_curve(evals, tau, run, out_dir / "fd_curve.png")
    write_json(out_dir / "class_histogram.json", {"share": hist.tolist()})
    return metrics


def training_metrics(history: list[dict], evals: list[dict]) -> dict[str, float]:
    """Wall time per iteration (training only), and R9's diagnostic: the variance over steps of ‖∇_G L_G‖."""
    steps = history[-1]["step"]
    mean = sum(r["g_grad_norm"] for r in history) / len(history)
    mean_sq = sum(r["g_grad_norm_sq"] for r in history) / len(history)
    return {
        # clock readings: `timing.*` keeps them in timings.json, so metrics.json repeats to the byte
        "timing.train_seconds": evals[-1]["seconds"],
        "timing.ms_per_iteration": 1000 * evals[-1]["seconds"] / steps,
        "g_grad_norm_mean": mean,
        "g_grad_norm_cv": math.sqrt(max(mean_sq - mean**2, 0.0)) / mean if mean > 0 else 0.0,
    }


def speed(evals: list[dict], tau: float) -> dict[str, float]:
    """How soon the FD curve gets good: the mean log FD over the checkpoints (an area under the curve on the
    iteration axis; lower = better sooner), and the first checkpoint with FD ≤ τ in iterations and in training
    seconds (censored at the run's end when never reached: `reached_tau` says which)."""
    fds = [r["fd"] for r in evals]
    hit = next((r for r in evals if r["fd"] <= tau), None)
    last = evals[-1]
    return {
        "auc_log_fd": float(np.mean(np.log(fds))),
        "tau": tau,
        "reached_tau": 1.0 if hit else 0.0,
        "iters_to_tau": float((hit or last)["step"]),
        "timing.seconds_to_tau": float((hit or last)["seconds"]),
        "fd_checkpoint_last": fds[-1],
    }
