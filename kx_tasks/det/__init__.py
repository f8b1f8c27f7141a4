"""Task `det`: the determinant of a non-square matrix, |det B| = sqrt(det(BᵀB)), checked against the geometric
k-volume and |det B|, and four ways to compute it compared for accuracy across condition numbers.

References:
- Su Jianlin, "再谈非方阵的行列式" (the determinant of a non-square matrix, again), Scientific Spaces, 2018-10-16,
  https://kexue.fm/archives/6096. For a wide B (n < k) the volume is that of its rows, sqrt(det(BBᵀ)).
"""

from kx_tasks.core.claims import AtLeast, AtMost, Claim
from kx_tasks.core.registry import Resources, Stage, Task
from kx_tasks.det.config import DetConfig

POST_URL = "https://kexue.fm/archives/6096"

CLAIMS = (
    Claim(
        "det.kvolume",
        "sqrt(det(BᵀB)) is the k-volume (base × heights) of the parallelotope spanned by B's columns (by its rows, "
        "sqrt(det(BBᵀ)), for a wide B)",
        "definition_vs_kvolume_max_relerr",
        AtMost(1e-20, every_seed=True),
    ),
    Claim(
        "det.square",
        "for a square matrix the definition agrees with |det B| (within the n·k·κ·ε rounding bound)",
        "square_ratio_max",
        AtMost(1.0, every_seed=True),
    ),
    Claim(
        "det.vector",
        "an n×1 (or 1×k) matrix has volume ‖x‖ (within the rounding bound)",
        "vector_ratio_max",
        AtMost(1.0, every_seed=True),
    ),
    Claim(
        "det.parallelogram",
        "an n×2 (or 2×k) matrix has volume ‖x‖‖y‖ sin θ, the parallelogram's area (within the rounding bound)",
        "parallelogram_ratio_max",
        AtMost(1.0, every_seed=True),
    ),
    Claim(
        "det.orthogonal",
        "an orthogonal transform QB leaves the volume unchanged (within the rounding bound), tall or wide",
        "orthogonal_ratio_max",
        AtMost(1.0, every_seed=True),
        source="kx",
    ),
    Claim(
        "det.qr_stable",
        "kx's QR-based volume stays within the backward-stable bound n·k·κ·ε for every κ in the sweep",
        "ratio_max.qr",
        AtMost(1.0, every_seed=True),
        source="kx",
    ),
    Claim(
        "det.gram_unstable",
        "the textbook route via det(BᵀB) has lost all accuracy (median relative error ≥ 1%) at the largest κ",
        "gram_relerr_median_at_max_cond",
        AtLeast(0.01, every_seed=True),
        source="kx",
    ),
)

TASK = Task(
    name="det",
    summary="Non-square determinant sqrt(det(BᵀB)) (rows for wide B): definition checks, 4 methods up to κ=1e12",
    post_url=POST_URL,
    variants=("float64", "float32"),
    params=DetConfig,
    stages={
        # With device cuda the batched QR/SVD/LU of the sweep run on the GPU (cuSOLVER); the mpmath reference and
        # the whole evaluate stage (pandas, one figure) stay on the CPU.
        "train": Stage("kx_tasks.det.run:train", Resources(threads=1, mem_mb=1000, runtime=20, gpu=True)),
        "evaluate": Stage("kx_tasks.det.run:evaluate", Resources(threads=1, mem_mb=1000, runtime=10)),
    },
    claims=CLAIMS,
    figures={
        "relative_error": "Relative error of four ways to compute sqrt(det(BᵀB)) against the mpmath reference, by "
        "condition number (median and quartiles over shapes and samples); κε and κ²ε for scale.",
    },
    report_tables="kx_tasks.det.report:report_tables",
)
