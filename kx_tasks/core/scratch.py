"""Where `kx run` writes: a directory it created itself, outside the pipeline's tree, locked while it writes.

`kx run` is for trying a task by hand. It must never write into `results/runs/...` (Snakemake would then take
those outputs as its own and evaluate on top of them), never replace a directory someone else made, and two
`kx run`s into the same directory must not interleave. The lock is flock(2) on a file in the directory, as
Snakemake's own lock is a file in .snakemake/locks: the kernel drops it when the process dies, so a killed run
never leaves the directory locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from kx_tasks.core import stages
from kx_tasks.core.params import ConfigError

SCRATCH = "results/scratch"  # kx run's default root: results/scratch/TASK/VARIANT/seedS
MARKER = ".kx-run"  # written into every directory kx run creates; only those are ever written into again
LOCK = ".kx-run.lock"


def default_out(task: str, variant: str, seed: int) -> Path:
    return Path(stages.run_dir(task, variant, seed, root=SCRATCH))


@contextlib.contextmanager
def claim(out: Path, what: dict) -> Iterator[Path]:
    """Create (or reuse a kx-run-made) `out` and hold its lock while the block runs."""
    # Resolved first (symlinks, `..`, the current directory), then any results/runs on the way: the pipeline's tree
    # of whichever checkout, whatever directory kx run is started from.
    target = out.resolve()
    parts = Path(stages.RUNS).parts
    if any(target.parts[i : i + len(parts)] == parts for i in range(len(target.parts))):
        raise ConfigError(
            f"--out {out}: inside the pipeline's {stages.RUNS}, which only Snakemake writes (`make run`); "
            f"kx run writes elsewhere (default {SCRATCH}/...)"
        )
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ConfigError(
            f"--out {out}: a non-empty directory that kx run did not create (no {MARKER} in it); "
            "refusing to write into it — give a new or empty directory"
        )
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            raise ConfigError(f"--out {out}: another kx run is writing there ({lock.read().strip()})") from None
        lock.truncate(0)
        lock.write(f"pid {os.getpid()}\n")
        lock.flush()
        if not (out / MARKER).exists():
            (out / MARKER).write_text(json.dumps(what, sort_keys=True) + "\n", encoding="utf-8")
        yield out
