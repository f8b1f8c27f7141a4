"""vae_cluster: the loss of the post's eq. 5 against direct computations, clustering metrics on hand-made
labels, the batched decoder volume against a per-point SVD, and a smoke training run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.distributions import Categorical, Normal, kl_divergence

from kx_tasks.core.settings import ConfigError, build_params
from kx_tasks.shared.clustering import clustering_scores, contingency, hungarian_accuracy, hungarian_match, nmi, purity
from kx_tasks.vae_cluster.config import PUBLISHED, VaeClusterConfig
from kx_tasks.vae_cluster.model import ClusterVAE, PlainVAE
from kx_tasks.vae_cluster.steps import train_model
from kx_tasks.vae_cluster.volume import decoder_jacobians, decoder_log_volume, line

TINY = VaeClusterConfig(
    arch="mlp", width=16, latent_dim=3, n_clusters=4, classifier_hidden=8, recon_weight=5.0, init="torch"
)


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


class DropLast(nn.Module):
    """TensorFlow's stride-2 transposed 'same' convolution = PyTorch's unpadded one without its last row/column."""

    def forward(self, x):
        return x[..., :-1, :-1]


def keras_same_nets(model, w: int):
    """The author's conv net with TensorFlow's `padding='same'` written out (one-sided pads and crops), its weights
    taken from `model` with every kernel flipped and the dense weights permuted as a 180° turn does."""

    def down(a, b):
        return [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(a, b, 3, stride=2)]

    def same(a, b, t=nn.Conv2d):
        return [t(a, b, 3, padding=1)]

    def up(a, b):
        return [nn.ConvTranspose2d(a, b, 3, stride=2), DropLast()]

    act = nn.LeakyReLU(0.2)
    enc = nn.Sequential(
        *down(1, w), act, *same(w, w), act, *down(w, 2 * w), act, *same(2 * w, 2 * w), act, nn.Flatten()
    )
    convt = nn.ConvTranspose2d
    dec = nn.Sequential(
        nn.Linear(3, 2 * w * 49),
        nn.Unflatten(-1, (2 * w, 7, 7)),
        *same(2 * w, 2 * w, convt),
        act,
        *up(2 * w, 2 * w),
        act,
        *same(2 * w, w, convt),
        act,
        *up(w, w),
        act,
        *same(w, 1, convt),
        nn.Sigmoid(),
    )
    ours = [m for m in model.encoder.body if isinstance(m, nn.Conv2d)] + [
        m for m in model.decoder.body if isinstance(m, nn.ConvTranspose2d)
    ]
    theirs = [m for m in enc if isinstance(m, nn.Conv2d)] + [m for m in dec if isinstance(m, nn.ConvTranspose2d)]
    with torch.no_grad():
        for a, b in zip(ours, theirs, strict=True):
            b.weight.copy_(a.weight.flip(-2, -1))
            b.bias.copy_(a.bias)
        head = nn.Linear(2 * w * 49, 3)
        head.weight.copy_(model.encoder.mean.weight.view(3, 2 * w, 7, 7).flip(-2, -1).reshape(3, -1))
        head.bias.copy_(model.encoder.mean.bias)
        first, dense = dec[0], model.decoder.body[0]
        first.weight.copy_(dense.weight.view(2 * w, 7, 7, 3).flip(1, 2).reshape(-1, 3))
        first.bias.copy_(dense.bias.view(2 * w, 7, 7).flip(1, 2).reshape(-1))
    return nn.Sequential(enc, head), dec


def test_conv_net_is_the_keras_same_padding_net():
    """Turning the image by 180° around PyTorch's symmetric padding = TensorFlow's one-sided 'same' padding with
    flipped kernels: one function class, so one training run in distribution."""
    cfg = TINY.model_copy(update={"arch": "conv", "width": 4, "init": "keras"})
    torch.manual_seed(0)
    model = ClusterVAE(cfg).double()
    enc, dec = keras_same_nets(model, 4)
    enc, dec = enc.double(), dec.double()
    x, z = torch.rand(3, 1, 28, 28, dtype=torch.float64), torch.randn(3, 3, dtype=torch.float64)
    torch.testing.assert_close(model.encoder(x)[0], enc(x))
    torch.testing.assert_close(model.decoder(z), dec(z))
    # and the plain turn-free net is not that function (the check can fail)
    assert not torch.allclose(model.encoder.body(x), enc[0](x).view(3, -1))


def test_keras_init_is_glorot_uniform_with_zero_bias():
    cfg = TINY.model_copy(update={"init": "keras", "classifier_hidden": 300})
    model = ClusterVAE(cfg)
    layer = model.classifier[0]  # Dense(300) on z (3): limit sqrt(6 / (3 + 300))
    limit = math.sqrt(6 / (3 + 300))
    assert layer.weight.abs().max() <= limit and layer.weight.abs().max() > 0.9 * limit
    assert torch.count_nonzero(layer.bias) == 0 and torch.count_nonzero(model.class_means) == 0
    assert torch.count_nonzero(ClusterVAE(TINY).classifier[0].bias) > 0  # PyTorch's default differs


def author_loss(x, x_hat, mean, log_var, z, p_y, class_means, lamb, version):
    """vae_keras_cluster.py's loss for one batch, in numpy, as the two published versions write it."""
    xent = 0.5 * ((x - x_hat) ** 2).mean(0)
    if version == "sep2018":  # z_prior_mean = the class means; kl = -½(1 + log σ² - (μ - μ_y)² - σ²)
        kl = -0.5 * (1 + log_var[:, None] - (mean[:, None] - class_means[None]) ** 2 - np.exp(log_var)[:, None])
    else:  # z_prior_mean = z - μ_y; kl = -½(log σ² - (z - μ_y)²)
        kl = -0.5 * (log_var[:, None] - (z[:, None] - class_means[None]) ** 2)
    kl = np.einsum("bk,bkd->bd", p_y, kl).mean(0)
    cat = (p_y * np.log(p_y + 1e-7)).mean(0)
    return lamb * xent.sum() + kl.sum() + cat.sum()


@pytest.mark.parametrize("version", ["sep2018", "dec2018"])
def test_loss_is_the_authors_formula(version):
    pins = PUBLISHED[version]
    cfg = TINY.model_copy(update={k: pins[k] for k in ("recon_weight", "kl_form", "init")})
    model, x, eps = tiny_batch(cfg, n=6)
    loss = sum(t.mean() for t in model.loss_terms(x, eps).values()).item()
    with torch.no_grad():
        mean, log_var = model.encoder(x)
        z = mean + torch.exp(0.5 * log_var) * eps
        p_y = model.classifier(z).softmax(-1)
        x_hat = model.decoder(z)
    arrays = [t.numpy() for t in (x.flatten(1), x_hat.flatten(1), mean, log_var, z, p_y, model.class_means.detach())]
    theirs = author_loss(*arrays, pins["recon_weight"], version)
    # kx's terms differ by constants only: KL(p(y|z) ‖ uniform) adds log K, and the sample form keeps the
    # −½‖ε‖² of log p(z|x), which the author drops; neither has a gradient.
    const = math.log(cfg.n_clusters) - (0.5 * eps.square().sum(1).mean().item() if version == "dec2018" else 0.0)
    assert loss == pytest.approx(theirs + const, rel=1e-6)


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
