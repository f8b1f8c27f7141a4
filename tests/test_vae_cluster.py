"""vae_cluster: the loss of the post's eq. 5 against direct computations, clustering metrics on hand-made
labels, the batched decoder volume against a per-point SVD, and a smoke training run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Categorical, Normal, kl_divergence

from kx_tasks.core.settings import ConfigError, build_params
from kx_tasks.shared.clustering import clustering_scores, contingency, hungarian_accuracy, hungarian_match, nmi, purity
from kx_tasks.vae_cluster.config import VaeClusterConfig
from kx_tasks.vae_cluster.model import ClusterVAE, PlainVAE
from kx_tasks.vae_cluster.steps import train_model
from kx_tasks.vae_cluster.volume import decoder_jacobians, decoder_log_volume, line

TINY = VaeClusterConfig(arch="mlp", width=16, latent_dim=3, n_clusters=4, classifier_hidden=8, recon_weight=5.0)


def tiny_batch(cfg=TINY, n=5, seed=0):
    torch.manual_seed(seed)
    model = ClusterVAE(cfg).double()
    with torch.no_grad():
        model.class_means.normal_()  # the post starts them at 0; distinct means exercise every class
    x = torch.rand(n, 1, 28, 28, dtype=torch.float64)
    eps = torch.randn(n, cfg.latent_dim, dtype=torch.float64)
    return model, x, eps


def test_class_means_start_at_zero():
    assert torch.equal(ClusterVAE(TINY).class_means, torch.zeros(4, 3))


def test_loss_terms_match_torch_distributions():
    model, x, eps = tiny_batch()
    terms = model.loss_terms(x, eps)
    mean, log_var = model.encoder(x)
    std = torch.exp(0.5 * log_var)
    z = mean + std * eps
    p_y = model.classifier(z).softmax(-1)
    x_hat = model.decoder(z)
    # -log q(x|z) with q = N(G(z), I/recon_weight), minus its constant: P/2·log(2π/recon_weight).
    nll = -Normal(x_hat, 1 / math.sqrt(TINY.recon_weight)).log_prob(x).flatten(1).sum(1)
    const = 0.5 * 784 * math.log(2 * math.pi / TINY.recon_weight)
    torch.testing.assert_close(terms["recon"], nll - const)
    log_p = Normal(mean, std).log_prob(z).sum(-1)
    prior = sum(p_y[:, y] * (log_p - Normal(model.class_means[y], 1.0).log_prob(z).sum(-1)) for y in range(4))
    torch.testing.assert_close(terms["prior"], prior)
    uniform = Categorical(probs=torch.full((5, 4), 0.25, dtype=torch.float64))
    torch.testing.assert_close(terms["categorical"], kl_divergence(Categorical(probs=p_y), uniform))


def test_sum_over_classes_matches_a_loop():
    """The batched matrix product Σ_y p(y|z) log(p(z|x)/q(z|y)) against explicit loops over samples, classes
    and dimensions, with the Gaussian densities written out."""
    model, x, eps = tiny_batch(n=3)
    terms = model.loss_terms(x, eps)
    mean, log_var = model.encoder(x)
    z = mean + torch.exp(0.5 * log_var) * eps
    p_y = model.classifier(z).softmax(-1)
    mu = model.class_means
    for i in range(3):
        total = 0.0
        for y in range(4):
            log_ratio = 0.0
            for d in range(3):
                var = math.exp(log_var[i, d].item())
                log_p = -0.5 * math.log(2 * math.pi * var) - (z[i, d] - mean[i, d]).item() ** 2 / (2 * var)
                log_q = -0.5 * math.log(2 * math.pi) - (z[i, d] - mu[y, d]).item() ** 2 / 2
                log_ratio += log_p - log_q
            total += p_y[i, y].item() * log_ratio
        assert terms["prior"][i].item() == pytest.approx(total, rel=1e-12, abs=1e-12)


def test_plain_vae_kl_is_closed_form():
    torch.manual_seed(0)
    model = PlainVAE(TINY).double()
    x = torch.rand(4, 1, 28, 28, dtype=torch.float64)
    terms = model.loss_terms(x, torch.zeros(4, 3, dtype=torch.float64))
    mean, log_var = model.encoder(x)
    kl = kl_divergence(Normal(mean, torch.exp(0.5 * log_var)), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(terms["kl"], kl)


def test_conv_model_shapes():
    cfg = TINY.model_copy(update={"arch": "conv", "width": 4})
    model = ClusterVAE(cfg)
    terms = model.loss_terms(torch.rand(2, 1, 28, 28), torch.randn(2, 3))
    assert {k: v.shape for k, v in terms.items()} == {k: (2,) for k in ("recon", "prior", "categorical")}
    assert model.decoder(torch.randn(2, 3)).shape == (2, 1, 28, 28)


# Hand-made clusterings. Clusters 0,0,0 | 1,1 | 2,2,2,2 against labels 1,1,0 | 2,2 | 0,0,0,1:
# majority counts 2 + 2 + 3 = 7 of 9; the best one-to-one map is 0->1, 1->2, 2->0, also 7 of 9.
CLUSTERS = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
LABELS = np.array([1, 1, 0, 2, 2, 0, 0, 0, 1])


def test_purity_and_hungarian_by_hand():
    assert contingency(CLUSTERS, LABELS).tolist() == [[1, 2, 0], [0, 0, 2], [3, 1, 0]]
    assert purity(CLUSTERS, LABELS) == pytest.approx(7 / 9)
    assert hungarian_accuracy(CLUSTERS, LABELS) == pytest.approx(7 / 9)
    assert hungarian_match(CLUSTERS, LABELS) == {0: 1, 1: 2, 2: 0}


def test_purity_and_hungarian_differ_when_clusters_share_a_label():
    # Two clusters both mostly label 0: purity lets both count, the one-to-one map cannot.
    clusters = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    labels = np.array([0, 0, 1, 0, 0, 1, 1, 2])
    assert purity(clusters, labels) == pytest.approx((2 + 2 + 1) / 8)
    # best one-to-one map, e.g. 0->0, 1->1, 2->2: 2 + 1 + 1 = 4 of 8
    assert hungarian_accuracy(clusters, labels) == pytest.approx(4 / 8)


def test_metrics_ignore_cluster_ids():
    perm = np.array([2, 0, 1])
    for fn in (purity, hungarian_accuracy, nmi):
        assert fn(perm[CLUSTERS], LABELS) == pytest.approx(fn(CLUSTERS, LABELS))
    perfect = clustering_scores(perm[LABELS], LABELS)
    assert perfect == {"purity": 1.0, "acc": 1.0, "nmi": pytest.approx(1.0), "clusters_used": 3.0}
    assert nmi(np.zeros(9, int), LABELS) == pytest.approx(0.0)


def test_metrics_take_uint8_labels_as_stored():
    assert purity(CLUSTERS.astype(np.uint8), LABELS.astype(np.uint8)) == pytest.approx(7 / 9)
    assert hungarian_accuracy(CLUSTERS, LABELS.astype(np.uint8)) == pytest.approx(7 / 9)


def test_metrics_reject_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        purity(np.array([0, 1]), np.array([0]))
    with pytest.raises(ValueError, match=">= 0"):
        purity(np.array([0, -1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="labels must be integers"):
        purity(np.array([0, 1]), np.array([0.5, 1.0]))


def test_batched_log_volume_matches_svd_per_point():
    torch.manual_seed(1)
    decoder = ClusterVAE(TINY).decoder
    z = torch.randn(5, 3)
    batched = decoder_log_volume(decoder, z, chunk=2)
    for i in range(5):
        J = torch.autograd.functional.jacobian(lambda v: decoder(v[None]).reshape(-1), z[i]).double()
        assert J.shape == (784, 3)
        direct = torch.log(torch.linalg.svdvals(J)).sum()
        assert batched[i].item() == pytest.approx(direct.item(), rel=1e-5)
    assert decoder_jacobians(decoder, z).shape == (5, 784, 3)


def test_line_ends_at_both_points():
    a, b = torch.tensor([0.0, 1.0]), torch.tensor([2.0, -1.0])
    t, points = line(a, b, 5)
    assert t.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert torch.equal(points[0], a) and torch.equal(points[-1], b) and torch.equal(points[2], (a + b) / 2)


def prototypes(n=600, seed=0):
    """Three blob images plus noise: a dataset a tiny model can fit in a few epochs."""
    gen = torch.Generator().manual_seed(seed)
    base = torch.zeros(3, 1, 28, 28)
    base[0, :, 4:12, 4:12] = 1
    base[1, :, 14:24, 10:18] = 1
    base[2, :, 6:22, 20:24] = 1
    x = base[torch.arange(n) % 3] + 0.1 * torch.rand(n, 1, 28, 28, generator=gen)
    return x.clamp(0, 1)


def test_smoke_training_lowers_the_loss_and_repeats_exactly():
    cfg = TINY.model_copy(update={"width": 32, "batch_size": 50})
    x = prototypes()
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = ClusterVAE(cfg)
        runs.append(train_model(model, x, epochs=4, batch_size=50, lr=3e-3, seed=0, label="smoke").history)
    history = runs[0]
    assert history[-1]["loss"] < 0.7 * history[0]["loss"]
    assert [h["loss"] for h in runs[0]] == [h["loss"] for h in runs[1]]  # same seed, same numbers


def test_resumed_training_equals_uninterrupted(tmp_path):
    cfg = TINY.model_copy(update={"width": 16, "batch_size": 100})
    x = prototypes(300)

    def train(epochs, ckpt):
        torch.manual_seed(0)
        model = ClusterVAE(cfg)
        train_model(model, x, epochs=epochs, batch_size=100, lr=1e-3, seed=3, label="r", checkpoint_dir=ckpt)
        return model.state_dict()

    straight = train(3, None)
    train(2, tmp_path)  # "killed" after epoch 2: its checkpoint stays
    resumed = train(3, tmp_path)
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key


@pytest.mark.parametrize(
    "change, message",
    [
        ({"arch": "resnet"}, "arch: must be 'mlp' or 'conv', got 'resnet'"),
        ({"n_clusters": 1}, "n_clusters: must be >= 2, got 1"),
        ({"batch_size": 0}, "batch_size: must be >= 1, got 0"),
        ({"vae_epochs": -1}, "vae_epochs: must be >= 0, got -1"),
    ],
)
def test_config_errors_name_the_key(change, message):
    with pytest.raises(ConfigError, match=f"tasks.vae_cluster.params.{message}"):
        build_params(VaeClusterConfig, change, "tasks.vae_cluster.params")
