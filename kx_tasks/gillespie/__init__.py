"""Task `gillespie`: exact stochastic simulation of chemical master equations (the post's gene-expression model
and three more networks), validated against exact stationary laws.

References:
- Su Jianlin, "A simple Python implementation of Gillespie simulation", https://kexue.fm/archives/5607
- D. T. Gillespie, J. Phys. Chem. 81, 2340 (1977).
"""

from kx_tasks.core.claims import THEORY, AtLeast, Beats, Claim, Delta, Figure, Within
from kx_tasks.core.registry import Resources, Stage, Task
from kx_tasks.gillespie.config import GillespieConfig

POST = ("direct.gene_expression",)

# The post's 50 and 2.25 are the model's exact stationary values (not a run): judged against our mean's interval.
STATIONARY = Figure(THEORY, "the model's stationary mean and Fano factor, exact")

CLAIMS = (
    Claim(
        "gillespie.protein_mean",
        "the post's model has stationary protein mean 50",
        "mean.n",
        Within(50.0, 1.0, STATIONARY),
        variants=POST,
    ),
    Claim(
        "gillespie.protein_fano",
        "the protein Fano factor is 2.25 (Var 112.5)",
        "fano.n",
        Within(2.25, 0.1, STATIONARY),
        variants=POST,
    ),
    Claim(
        "gillespie.tau_fano",
        "tau-leaping (ε = 0.03) keeps the protein Fano factor within 5% of 2.25",
        "fano.n",
        Within(2.25, 0.1125),
        source="kx",
        variants=("tau.gene_expression",),
    ),
    Claim(
        "gillespie.tau_fano_high_count",
        "where tau-leaping leaps (the post's model, transcription ×100), ε = 0.03 keeps the Fano factor within 5%",
        "fano.n",
        Within(2.25, 0.1125),
        source="kx",
        variants=("tau.gene_expression_x100",),
    ),
    Claim(
        "gillespie.tau_speedup_high_count",
        "… while running at least 5× faster than the exact direct method on the same ensemble (same job)",
        "timing.speedup.eps0.03",
        AtLeast(5.0),
        source="kx",
        variants=("tau.gene_expression_x100",),
    ),
    Claim(
        "gillespie.event_histogram_biased",
        "the post's event-weighted histogram is not the stationary law: it sits above the time-weighted one",
        "event_weighted_mean.n",
        Beats("time_weighted_mean.n"),
        source="kx",
        delta=Delta(0.01, "one percent of the stationary mean (kx's choice)", relative=True),
        variants=POST,
    ),
)

TASK = Task(
    name="gillespie",
    summary="Exact SSA of chemical master equations: the post's gene-expression model, validated",
    post_url="https://kexue.fm/archives/5607",
    # method.network; tau-leaping (approximate) runs on the post's model, where it never leaps, and on the same
    # model at 100× the counts, where it does; a tau variant also times the direct method on its ensemble.
    variants=(
        "direct.gene_expression",
        "tau.gene_expression",
        "tau.gene_expression_x100",
        "direct.birth_death",
        "direct.dimerisation",
        "direct.toggle_switch",
    ),
    params=GillespieConfig,
    stages={
        # numba's parallel SSA over trajectories uses both threads; evaluate (moments, FSP, figures) is serial.
        "train": Stage("kx_tasks.gillespie.run:train", Resources(threads=2, mem_mb=2000, runtime=30)),
        "evaluate": Stage("kx_tasks.gillespie.run:evaluate", Resources(threads=2, mem_mb=2000, runtime=30)),
    },
    claims=CLAIMS,
    figures={
        "trajectory": "One exact SSA trajectory of the variant's network, every event drawn.",
        "stationary_histogram": "Stationary distribution of the last species: time-weighted vs event-weighted "
        "(the post's) histogram of one long trajectory, and the exact master-equation solution.",
        "tau_sweep": "Tau-leaping at each ε beside the exact direct method on the same ensemble: error of the "
        "protein Fano factor, and reactions fired per second (tau variants).",
    },
    report_tables="kx_tasks.gillespie.report:report_tables",
    check_run="kx_tasks.gillespie.config:check_run",
)
