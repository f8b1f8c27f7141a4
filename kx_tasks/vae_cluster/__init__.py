"""Task `vae_cluster`: one-step clustering with a VAE whose latent prior is a per-class Gaussian and whose
classifier p(y|z) is trained jointly, on MNIST and Fashion-MNIST; against k-means on pixels and the two-step
VAE + k-means / GMM; with the decoder's local volume sqrt(det(JᵀJ)) mapped over the latent space.

References:
- Su Jianlin, "Variational autoencoders (IV): a one-step clustering scheme", https://kexue.fm/archives/5887
- DEC: J. Xie, R. Girshick, A. Farhadi, "Unsupervised Deep Embedding for Clustering Analysis", ICML 2016.
"""

from kx_tasks.claims import AtLeast, Beats, Claim
from kx_tasks.registry import Resources, TaskSpec
from kx_tasks.vae_cluster.config import VaeClusterConfig
from kx_tasks.vae_cluster.run import evaluate, report_tables, train

CLAIMS = (
    Claim(
        "vae_cluster.purity_mnist",
        "one-step VAE clustering labels about 83% of MNIST test images right (each cluster = its majority class)",
        "onestep.purity",
        AtLeast(0.83),
        variants=("mnist",),
    ),
    Claim(
        "vae_cluster.purity_fashion_mnist",
        "one-step VAE clustering reaches about 58.5% purity on Fashion-MNIST",
        "onestep.purity",
        AtLeast(0.585),
        variants=("fashion_mnist",),
    ),
    Claim(
        "vae_cluster.beats_kmeans",
        "one-step clustering beats k-means on raw pixels (purity)",
        "onestep.purity",
        Beats("kmeans_pixels.purity"),
    ),
    Claim(
        "vae_cluster.beats_two_step",
        "one-step clustering beats the two-step VAE + k-means on its latent means (Hungarian accuracy)",
        "onestep.acc",
        Beats("twostep_kmeans.acc"),
    ),
    Claim(
        "vae_cluster.beats_two_step_gmm",
        "one-step clustering beats the two-step VAE + GMM on its latent means (Hungarian accuracy)",
        "onestep.acc",
        Beats("twostep_gmm.acc"),
        source="kx",
    ),
)

TASK = TaskSpec(
    name="vae_cluster",
    summary="One-step VAE clustering (Gaussian prior per class + classifier) on MNIST / Fashion-MNIST",
    post_url="https://kexue.fm/archives/5887",
    variants=("mnist", "fashion_mnist"),
    datasets=("mnist", "fashion_mnist"),
    config=VaeClusterConfig,
    train=train,
    evaluate=evaluate,
    resources=Resources(threads=1, mem_mb=4000, runtime=120, gpu=True),
    claims=CLAIMS,
    report_tables=report_tables,
)
