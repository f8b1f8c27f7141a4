"""Stage functions of the `vae_cluster` task: train the one-step model and the two-step baseline's VAE, then
cluster the test set every way, with figures and the decoder's volume map."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from kx_tasks.core.checkpoints import load_weights
from kx_tasks.core.data import load
from kx_tasks.core.io import read_jsonl
from kx_tasks.core.settings import Run
from kx_tasks.shared.clustering import clustering_scores, contingency, hungarian_match, purity
from kx_tasks.vae_cluster import figures
from kx_tasks.vae_cluster.config import VaeClusterConfig
from kx_tasks.vae_cluster.model import MODELS
from kx_tasks.vae_cluster.steps import images_to_tensor, train_model
from kx_tasks.vae_cluster.volume import decoder_log_volume, line

log = logging.getLogger("kx")

CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}
CHUNK = 2000  # test images per forward pass in evaluation


def trained_models(cfg: VaeClusterConfig) -> list[tuple[str, int]]:
    """(model name, epochs) trained by the train stage."""
    return [("onestep", cfg.epochs)] + ([("vae", cfg.vae_epochs)] if cfg.vae_epochs else [])


def train(run: Run, inputs: dict[str, Path], out_dir: Path) -> None:
    cfg: VaeClusterConfig = run.params
    data = load(inputs[run.family])
    x = data["x_train"][: cfg.train_size or None]
    x = images_to_tensor(x, run.torch_device)
    for name, epochs in trained_models(cfg):
        torch.manual_seed(run.seed)  # each model's initial weights depend on the seed only
        model = MODELS[name](cfg).to(run.torch_device)
        train_model(
            model,
            x,
            epochs=epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            seed=run.seed,
            adam_eps=cfg.adam_eps,
            label=f"{run.variant} {name}",
            checkpoint_dir=inputs["checkpoints"] / name,
            history_path=out_dir / f"{name}.history.jsonl",
        )
        torch.save(model.state_dict(), out_dir / f"{name}.pt")


def load_model(name: str, cfg: VaeClusterConfig, train_dir: Path, device) -> torch.nn.Module:
    model = MODELS[name](cfg).to(device)
    load_weights(model, train_dir / f"{name}.pt", device)
    return model.eval()


@torch.no_grad()
def encode_means(model, x: torch.Tensor) -> torch.Tensor:
    return torch.cat([model.encoder(x[i : i + CHUNK])[0] for i in range(0, len(x), CHUNK)])


@torch.no_grad()
def assign(model, z: torch.Tensor) -> np.ndarray:
    """cluster = argmax_y p(y|z) at z = μ(x), the posterior mean, as the post does."""
    return torch.cat([model.classifier(z[i : i + CHUNK]).argmax(-1) for i in range(0, len(z), CHUNK)]).cpu().numpy()


def baselines(cfg: VaeClusterConfig, seed: int, x_train: torch.Tensor, x_test: torch.Tensor, vae) -> dict:
    """Test-set cluster ids of k-means on raw pixels and of the two-step VAE + k-means / GMM, each fitted on
    the training images (the same split the one-step model learns from); images as images_to_tensor gives them."""
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    out = {}
    kmeans = KMeans(cfg.n_clusters, n_init=cfg.kmeans_restarts, random_state=seed).fit(x_train.flatten(1).cpu().numpy())
    out["kmeans_pixels"] = kmeans.predict(x_test.flatten(1).cpu().numpy())
    log.info("k-means on pixels: %d restarts on %d images", cfg.kmeans_restarts, len(x_train))
    if vae is not None:
        z_train = encode_means(vae, x_train).cpu().double().numpy()
        z_test = encode_means(vae, x_test).cpu().double().numpy()
        kmeans = KMeans(cfg.n_clusters, n_init=cfg.kmeans_restarts, random_state=seed).fit(z_train)
        out["twostep_kmeans"] = kmeans.predict(z_test)
        gmm = GaussianMixture(cfg.n_clusters, covariance_type="full", n_init=cfg.kmeans_restarts, random_state=seed)
        out["twostep_gmm"] = gmm.fit(z_train).predict(z_test)
        log.info("two-step: k-means and GMM on the VAE's latent means")
    return out


def evaluate(run: Run, inputs: dict[str, Path], out_dir: Path) -> dict[str, float]:
    cfg: VaeClusterConfig = run.params
    device = run.torch_device
    data = load(inputs[run.family])
    names = CLASS_NAMES[run.family]
    labels = data["y_test"].astype(np.int64)
    x_test = images_to_tensor(data["x_test"], device)
    onestep = load_model("onestep", cfg, inputs["train"], device)
    vae = load_model("vae", cfg, inputs["train"], device) if cfg.vae_epochs else None

    z_test = encode_means(onestep, x_test)
    predictions = {"onestep": assign(onestep, z_test)}
    with threadpool_limits(run.threads):  # scikit-learn's OpenMP/BLAS pools, like torch's, get the rule's threads
        x_train = images_to_tensor(data["x_train"][: cfg.baseline_train_size or None], device)
        predictions.update(baselines(cfg, run.seed, x_train, x_test, vae))
    np.savez_compressed(out_dir / "predictions.npz", labels=labels, **predictions)

    metrics: dict[str, float] = {}
    for method, pred in predictions.items():
        for key, value in clustering_scores(pred, labels).items():
            metrics[f"{method}.{key}"] = value
    metrics["purity"] = metrics["onestep.purity"]  # the post's headline number
    # The author's script prints purity on the training images too (all 60,000, whatever train_size was).
    x_all = images_to_tensor(data["x_train"], device)
    metrics["onestep.train_purity"] = purity(assign(onestep, encode_means(onestep, x_all)), data["y_train"])
    del x_all
    history = {name: read_jsonl(inputs["train"] / f"{name}.history.jsonl") for name, _ in trained_models(cfg)}
    for name, rows in history.items():  # wall times stay in history.json: metrics repeat to the byte
        metrics[f"{name}.final_loss"] = rows[-1]["loss"]

    pred = predictions["onestep"]
    counts = contingency(pred, labels, cfg.n_clusters, len(names))
    match = hungarian_match(pred, labels)
    title = f"{run.variant}, seed {run.seed}"
    cluster_figures(onestep, cfg, data["x_test"], pred, counts, names, out_dir, title, run.seed)
    order = sorted(range(cfg.n_clusters), key=lambda k: match.get(k, len(names) + k))
    figures.confusion(counts, order, names, out_dir / "confusion.png", f"one-step clusters, {title}")
    metrics.update(volume_metrics(onestep, cfg, z_test, pred, counts, names, out_dir, title))
    figures.training_curves(history, out_dir / "training_curves.png", title)
    log.info(
        "purity/acc/nmi: one-step %.4f/%.4f/%.4f, k-means on pixels %.4f/%.4f/%.4f",
        *(metrics[f"{m}.{k}"] for m in ("onestep", "kmeans_pixels") for k in ("purity", "acc", "nmi")),
    )
    return metrics


def cluster_figures(model, cfg, images, pred, counts, names, out_dir: Path, title: str, seed: int) -> None:
    """Per cluster: a grid of test images assigned to it, and a grid of samples G(z), z ~ N(μ_y, I)."""
    groups, titles = [], []
    for k in range(cfg.n_clusters):
        size = int(counts[k].sum())
        majority = names[int(counts[k].argmax())] if size else "–"
        share = counts[k].max() / size if size else 0.0
        groups.append(images[pred == k].astype(np.float32) / 255.0)
        titles.append(f"cluster {k}: {size} images\nmost '{majority}' ({share:.0%})")
    figures.cluster_grids(
        groups,
        titles,
        out_dir / "clusters.png",
        f"{title}: test images assigned to each one-step cluster (argmax p(y|z) at z = μ(x)), first 64 each.",
    )
    gen = torch.Generator(device=model.class_means.device).manual_seed(seed)
    with torch.no_grad():
        samples = []
        for k in range(cfg.n_clusters):
            z = model.class_means[k] + torch.randn(64, cfg.latent_dim, generator=gen, device=gen.device)
            samples.append(model.decoder(z)[:, 0].cpu().numpy())
    figures.cluster_grids(
        samples,
        [f"cluster {k}: G(z), z ~ N(μ_{k}, I)" for k in range(cfg.n_clusters)],
        out_dir / "samples.png",
        f"{title}: images generated from each cluster's prior N(μ_y, I), 64 per cluster.",
    )


def volume_metrics(model, cfg, z_test, pred, counts, names, out_dir: Path, title: str) -> dict[str, float]:
    """log vol(∂G/∂z) at test points (per cluster), at the class means, and along a line between the means of
    the two largest clusters."""
    out: dict[str, float] = {}
    n = min(cfg.volume_points, len(z_test))
    if n == 0:
        return out
    log_vol = decoder_log_volume(model.decoder, z_test[:n]).cpu().numpy()
    at_means = decoder_log_volume(model.decoder, model.class_means.detach()).cpu().numpy()
    out["logvol.test_mean"] = float(log_vol.mean())
    for k in range(cfg.n_clusters):
        mine = log_vol[pred[:n] == k]
        if len(mine):  # an empty cluster has no test points to average over
            out[f"logvol.cluster{k}"] = float(mine.mean())
        out[f"logvol_at_mean.cluster{k}"] = float(at_means[k])
    majority = [names[int(c.argmax())] if c.sum() else "–" for c in counts]
    figures.volume_by_cluster(log_vol, pred[:n], at_means, majority, out_dir / "volume_clusters.png", title)
    a, b = (int(k) for k in np.argsort(-counts.sum(1), kind="stable")[:2])
    t, z_line = line(model.class_means[a].detach(), model.class_means[b].detach(), cfg.line_points)
    line_vol = decoder_log_volume(model.decoder, z_line).cpu().numpy()
    out["line.logvol_max_minus_ends"] = float(line_vol.max() - max(line_vol[0], line_vol[-1]))
    with torch.no_grad():
        strip = model.decoder(z_line[:: max(1, (len(z_line) - 1) // 10)])[:, 0].cpu().numpy()
    figures.volume_line(t.cpu().numpy(), line_vol, strip, (a, b), out_dir / "volume_line.png", title)
    return out
