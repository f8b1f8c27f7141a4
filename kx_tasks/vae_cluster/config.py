"""Parameters of the `vae_cluster` task (one frozen dataclass, defaults = the default CPU run).

The post's reference setting is config/paper.yaml: conv encoder/decoder, 50 epochs, batch 100.
"""

from __future__ import annotations

from dataclasses import dataclass

ARCHS = ("mlp", "conv")


@dataclass(frozen=True)
class VaeClusterConfig:
    # Encoder/decoder: "conv" is the post's (two stride-2 blocks of 3x3 convs, LeakyReLU 0.2; `width` filters in
    # the first block, 2·width in the second); "mlp" is two dense layers of `width` units each way (CPU scale).
    arch: str = "mlp"
    width: int = 512
    latent_dim: int = 20
    n_clusters: int = 10
    # Hidden units of the classifier p(y|z): Dense(classifier_hidden, relu) -> softmax(n_clusters).
    classifier_hidden: int = 256
    # Weight of the reconstruction term: -log q(x|z) = recon_weight · ½‖x - G(z)‖² (+ const).
    recon_weight: float = 5.0
    epochs: int = 20
    batch_size: int = 100
    lr: float = 3e-3
    # The two-step baseline's plain VAE (same encoder/decoder, N(0, I) prior); 0 skips the two-step baselines.
    vae_epochs: int = 20
    # k-means restarts (best inertia kept) for the pixel and two-step baselines; GMM restarts likewise.
    kmeans_restarts: int = 4
    # Training images the pixel and two-step baselines are fitted on (then applied to the test set); 0: all.
    baseline_train_size: int = 0
    # Test points whose decoder Jacobian (784 x latent_dim) volume is computed, and points on the line
    # between two cluster means.
    volume_points: int = 1000
    line_points: int = 101
    # Training images used in a run (0: all 60,000); the smoke config trains on a slice.
    train_size: int = 0

    def check(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch: expected one of {ARCHS}, got {self.arch!r}")
        for key in ("width", "latent_dim", "classifier_hidden", "epochs", "batch_size", "line_points"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}: must be >= 1, got {getattr(self, key)}")
        if self.n_clusters < 2:
            raise ValueError(f"n_clusters: must be >= 2, got {self.n_clusters}")
        for key in ("vae_epochs", "volume_points", "train_size", "baseline_train_size"):
            if getattr(self, key) < 0:
                raise ValueError(f"{key}: must be >= 0, got {getattr(self, key)}")
        if self.kmeans_restarts < 1:
            raise ValueError(f"kmeans_restarts: must be >= 1, got {self.kmeans_restarts}")
        if self.recon_weight <= 0 or self.lr <= 0:
            raise ValueError(f"recon_weight and lr must be > 0 (got {self.recon_weight}, {self.lr})")
