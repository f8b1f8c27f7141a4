"""Task `gillespie`: exact stochastic simulation of chemical master equations (the post's gene-expression model
and three more networks), validated against exact stationary laws.

References:
- Su Jianlin, "A simple Python implementation of Gillespie simulation", https://kexue.fm/archives/5607
- D. T. Gillespie, J. Phys. Chem. 81, 2340 (1977).
"""

from kx_tasks.core.claims import Beats, Claim, Within
from kx_tasks.core.registry import Resources, Stage, Task
from kx_tasks.gillespie.config import GillespieConfig

POST = ("direct.gene_expression",)

CLAIMS = (
    Claim(
        "gillespie.protein_mean",
        "the post's model has stationary protein mean 50",
        "mean.n",
        Within(50.0, 1.0),
        variants=POST,
    ),
    Claim(
        "gillespie.protein_fano",
        "the protein Fano factor is 2.25 (Var 112.5)",
        "fano.n",
        Within(2.25, 0.1),
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
        "gillespie.event_histogram_biased",
        "the post's event-weighted histogram is not the stationary law: it sits above the time-weighted one",
        "event_weighted_mean.n",
        Beats("time_weighted_mean.n"),
        source="kx",
        variants=POST,
    ),
)

TASK = Task(
    name="gillespie",
    summary="Exact SSA of chemical master equations: the post's gene-expression model, validated",
    post_url="https://kexue.fm/archives/5607",
    # method.network; tau-leaping (approximate) runs on the post's model for comparison.
    variants=(
        "direct.gene_expression",
        "tau.gene_expression",
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
    },
    report_tables="kx_tasks.gillespie.tables:report_tables",
)
