"""Task `fvae`: the f-VAE (a VAE whose posterior is z = E(x) + σ₁u of x's size with a Glow prior on z) against Glow,
the full-size VAE of the post's first special case and a low-dimensional conv VAE, at matched parameters and matched
training time, in bits/dim and sample quality; the post's two special cases as exact identities.

References:
- Su Jianlin, "细水长flow之f-VAEs：Glow与VAEs的联姻", https://kexue.fm/archives/5977; J. Su, G. Wu, "f-VAEs: Improve
  VAEs with Conditional Flows", arXiv 1809.05861.
- bojone/flow, f-VAEs.py and flow_layers.py (the f-VAE; additive coupling, random permutations; the December 2018
  objective with every log-determinant) and glow.py.
- D. P. Kingma, P. Dhariwal, "Glow: Generative Flow with Invertible 1x1 Convolutions", NeurIPS 2018.
"""

from kx_tasks.core.claims import AtMost, Beats, Claim, Delta, Within
from kx_tasks.core.registry import Resources, Stage, Task
from kx_tasks.core.stages import family
from kx_tasks.fvae.config import DATASETS, PINS, VARIANTS, FvaeConfig


def _each(model: str) -> tuple[str, ...]:
    return tuple(f"{d}.{model}" for d in DATASETS)


EXACT = (
    Claim(
        "fvae.vae_special_case",
        "F_x(u) = σ(x)⊗u + μ(x) gives exactly the standard VAE loss: per u, the general "
        "loss is −log p(x|z) + log q(z|x) − log p(z) (trained vae_full, float64; max error)",
        "identity.vae_exact",
        AtMost(1e-9, every_seed=True),
        variants=_each("vae_full"),
    ),
    Claim(
        "fvae.vae_special_case_kl",
        "… and its mean over u is the closed-form-KL VAE loss (largest |z-score| of 5,000 draws over 2 images ≤ 4)",
        "identity.vae_mc_z",
        AtMost(4.0, every_seed=True),
        variants=_each("vae_full"),
    ),
    Claim(
        "fvae.flow_special_case",
        "F_x(u) = F(σu + x), q(x|z) = N(x; F⁻¹(z), σ²): −log q(x|z) = D/2·log 2πσ² + "
        "½‖u‖² (the trained Glow as F, σ = 0.1, float64; max error)",
        "identity.flow_recon",
        AtMost(1e-8, every_seed=True),
        variants=_each("glow"),
    ),
    Claim(
        "fvae.flow_special_case_nll",
        "… so the loss is a flow trained on inputs with added Gaussian noise: it equals −log p_F(x + σu) exactly",
        "identity.flow_loss",
        AtMost(1e-8, every_seed=True),
        variants=_each("glow"),
    ),
)


# Smallest effects of interest. The post reports no number (samples only): sample quality, sharpness and time to a
# given FD take a tenth of the baseline's value (kx's choice); bits/dim take 0.02, a third of the 0.06 that separates
# Glow from FFJORD on MNIST (1.05 vs 0.99 bits/dim, FFJORD's Table 2).
TENTH = Delta(0.1, "a tenth of the baseline's value (the post reports no number; kx's choice)", relative=True)
BITS = Delta(0.02, "a third of the 0.06 bits/dim between Glow and FFJORD on MNIST (FFJORD, Table 2)")


def _vs(cid, statement, metric, model, baseline, lower=True, source="post", delta=TENTH) -> tuple[Claim, ...]:
    """One claim per dataset: `model` beats `baseline` on `metric`, paired over seeds."""
    return tuple(
        Claim(
            cid if d == "mnist" else f"{cid}.{d}",
            statement + ("" if d == "mnist" else f" ({d})"),
            metric,
            Beats(metric, higher_is_better=not lower, variant=f"{d}.{baseline}"),
            source=source,
            delta=delta,
            variants=(f"{d}.{model}",),
            censored_by="reached_tau" if "steps_to_tau" in metric else None,  # the budget, when τ never came
        )
        for d in DATASETS
    )


COMPARISONS = (
    *_vs(
        "fvae.sharper_fd",
        "f-VAE 'has basically solved the VAE blurriness problem': lower FD than the full-size "
        "VAE with the same E and G (T = 0.8)",
        "fd_t08",
        "fvae",
        "vae_full",
    ),
    *_vs(
        "fvae.sharper_laplacian",
        "… and sharper samples: higher Laplacian-variance ratio than that VAE (T = 0.8)",
        "sharpness_t08",
        "fvae",
        "vae_full",
        lower=False,
    ),
    *_vs(
        "fvae.sharper_than_low_vae",
        "f-VAE's samples sharper than a conventional 32-d conv VAE's (T = 0.8)",
        "sharpness_t08",
        "fvae",
        "vae_low",
        lower=False,
        source="kx",
    ),
    *_vs(
        "fvae.beats_glow_matched",
        "'at the same complexity and training time, f-VAE shows better performance' "
        "than Glow: lower FD at matched parameters and seconds (T = 0.8)",
        "fd_t08",
        "fvae",
        "glow",
    ),
    *_vs(
        "fvae.beats_glow_same_epochs",
        "'f-VAE performs better in the same number of epochs': lower checkpoint FD at Glow's step count",
        "fd_at_glow_steps",
        "fvae",
        "glow",
    ),
    *_vs(
        "fvae.faster_convergence",
        "'f-VAEs converge faster' than Glow: lower checkpoint FD at a quarter of the matched budget",
        "fd_curve_quarter",
        "fvae",
        "glow",
    ),
    *_vs(
        "fvae.reaches_fd_sooner",
        "f-VAE reaches a given FD (τ = tau_factor × the classifier's floor) in less training time than Glow: "
        "steps to τ × its step's cost in Glow steps, timed interleaved in one process so that load on the machine "
        "cannot decide it (censored at the budget)",
        "timing.glow_steps_to_tau",
        "fvae",
        "glow",
    ),
    *_vs(
        "fvae.bound_tighter",
        "the flow posterior tightens the bound: f-VAE's −ELBO bits/dim below vae_full's",
        "bpd",
        "fvae",
        "vae_full",
        source="kx",
        delta=BITS,
    ),
    *_vs(
        "fvae.iwae_bound_tighter",
        "… and its IWAE (k = 64) bits/dim below vae_full's",
        "bpd_iwae",
        "fvae",
        "vae_full",
        source="kx",
        delta=BITS,
    ),
    *(
        Claim(
            f"fvae.params_matched{'' if d == 'mnist' else '.' + d}",
            "the f-VAE's parameter count is within ±10% of Glow's (matched complexity)",
            "params_vs_glow",
            Within(1.0, 0.1),
            source="kx",
            variants=(f"{d}.fvae",),
        )
        for d in DATASETS
    ),
)

CLASSIFIERS = {v: (f"{family(v)}_classifier",) for v in VARIANTS}

TASK = Task(
    name="fvae",
    summary="f-VAE vs Glow vs VAEs at matched size and time: bits/dim, FD, sharpness; the special cases exactly",
    post_url="https://kexue.fm/archives/5977",
    variants=VARIANTS,
    default_variants=("mnist.glow", "mnist.fvae", "mnist.vae_full", "mnist.vae_low"),
    datasets={v: (family(v),) for v in VARIANTS},
    params=FvaeConfig,
    variant_params=PINS,
    check_run="kx_tasks.fvae.config:check_run",
    stages={
        "train": Stage(
            "kx_tasks.fvae.run:train", Resources(threads=1, mem_mb=3000, runtime=60, gpu=True), artefacts=CLASSIFIERS
        ),
        "evaluate": Stage(
            "kx_tasks.fvae.run:evaluate", Resources(threads=1, mem_mb=3000, runtime=30, gpu=True), artefacts=CLASSIFIERS
        ),
    },
    claims=EXACT + COMPARISONS,
    figures={
        "samples": "Samples from fixed noise at temperatures 1.0, 0.8 and 0.7.",
        "interpolation": "Straight lines between two pairs of test images in the model's latent space.",
        "curves": "Bits/dim and FD at each checkpoint against training seconds.",
    },
    report_tables="kx_tasks.fvae.report:report_tables",
    author_compute="kx_tasks.fvae.report:author_compute",
    report_figures="kx_tasks.fvae.report:plot_variants",
)
