"""The pipeline's fixed vocabulary, in one place: stage names and order, the folder each stage writes, where runs
and artefacts live, and whether a job gets a GPU. The Snakemake rules, `kx run`, the runner and the report all ask
here, so the scheduler's GPU request and the job's own GPU use can never disagree.
"""

from __future__ import annotations

STAGES = ("augment", "train", "evaluate")  # pipeline order; augment is optional
REQUIRED = ("train", "evaluate")
FOLDERS = {"augment": "augment", "train": "train", "evaluate": "eval"}
DEVICES = ("auto", "cpu", "cuda")

RUNS = "results/runs"
ARTEFACTS = "results/artefacts"
SHARED_KEY = "shared"  # the key of an artefact built once for all seeds
# What the rules write besides the report (a report_dir inside one of them would collide with a rule's outputs).
OUTPUT_DIRS = (
    RUNS,
    ARTEFACTS,
    "results/data",
    "results/downloads",
    "results/logs",
    "results/benchmarks",
    "results/scratch",
    "results/looks",
)


def family(variant: str) -> str:
    """A variant's family: its name up to the first dot (`mnist.fvae` -> `mnist`, `grid.rsgan` -> `grid`, `theory` ->
    `theory`). Variants are named <family>.<condition>; the family names the dataset or setting a run reads, and
    `variant_seeds` may be given per family."""
    return variant.split(".", 1)[0]


def condition(variant: str) -> str:
    """A variant's condition: its name after the first dot (`mnist.fvae` -> `fvae`; '' when it has none)."""
    return variant.partition(".")[2]


def run_dir(task: str, variant: str, seed: int | str, root: str = RUNS) -> str:
    return f"{root}/{task}/{variant}/seed{seed}"


def stage_dir(task: str, variant: str, seed: int | str, stage: str, root: str = RUNS) -> str:
    return f"{run_dir(task, variant, seed, root)}/{FOLDERS[stage]}"


def artefact_key(per_seed: bool, seed: int) -> str:
    return f"seed{seed}" if per_seed else SHARED_KEY


def artefact_dir(name: str, key: str, root: str = ARTEFACTS) -> str:
    return f"{root}/{name}/{key}"


def uses_gpu(stage_gpu: bool, device: str) -> bool:
    """A job gets a GPU when its stage can use one and the config asks for CUDA (`cuda`, or `auto`, which falls
    back to the CPU where none is found). The scheduler request (gpu=1) and the runner's GPU lock both read this."""
    if device not in DEVICES:
        raise ValueError(f"device: expected one of {', '.join(DEVICES)}, got {device!r}")
    return stage_gpu and device in ("cuda", "auto")


def stage_device(stage_gpu: bool, device: str) -> str:
    """The device a stage computes on: the configured one when it uses a GPU, else the CPU."""
    return device if uses_gpu(stage_gpu, device) else "cpu"
