"""Parameters of the `vae_cluster` task, declared once (defaults = the default CPU run).

The post's reference setting is config/paper.yaml: conv encoder/decoder, 50 epochs, batch 100.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kx_tasks.core.params import Params


class VaeClusterConfig(Params):
    arch: Literal["mlp", "conv"] = Field(
        "mlp",
        description="encoder/decoder: `conv` is the post's (3×3 convs, two stride-2 blocks, LeakyReLU 0.2); "
        "`mlp` two dense layers each way (CPU scale)",
    )
    width: int = Field(
        512, ge=1, description="`mlp`: units per dense layer; `conv`: filters of the first block (the second has "
        "twice as many; the post: 32)"
    )  # fmt: skip
    latent_dim: int = Field(20, ge=1, description="dimension of z")
    n_clusters: int = Field(10, ge=2, description="classes y of the prior (clusters)")
    classifier_hidden: int = Field(
        256, ge=1, description="hidden units of p(y|z): Dense(classifier_hidden, relu) → softmax"
    )
    recon_weight: float = Field(
        5.0, gt=0, description="−log q(x|z) = recon_weight · ½‖x − G(z)‖² (the inverse decoder variance)"
    )
    epochs: int = Field(20, ge=1, description="epochs of the one-step model")
    batch_size: int = Field(100, ge=1, description="minibatch size (both models)")
    lr: float = Field(3e-3, gt=0, description="Adam learning rate (both models)")
    vae_epochs: int = Field(
        20, ge=0, description="epochs of the two-step baseline's plain VAE; 0 skips the two-step baselines"
    )
    kmeans_restarts: int = Field(4, ge=1, description="k-means `n_init` (pixels and two-step) and GMM `n_init`")
    baseline_train_size: int = Field(
        0, ge=0, description="training images the pixel and two-step baselines are fitted on (0: all 60,000)"
    )
    volume_points: int = Field(
        1000, ge=0, description="test points at which the decoder volume sqrt(det(JᵀJ)), J 784 × latent_dim, "
        "is computed (0: none)"
    )  # fmt: skip
    line_points: int = Field(101, ge=1, description="points on the line between two cluster means")
    train_size: int = Field(0, ge=0, description="training images used (0: all 60,000; the smoke config uses 2,000)")
