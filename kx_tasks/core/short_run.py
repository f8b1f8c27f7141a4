"""A short run, for the shake-down (`kx shakedown`, kx_tasks/core/shakedown.py): the same stage code as a real run,
cut short where the engine and the data loader can cut it, measuring as it goes.

`kx shakedown` starts each job as the rules do (`kx stage ...`, `kx artefact ...`) with the environment variable
KX_SHORT_RUN set to a JSON object; without it nothing here changes anything. Its keys:

- steps: optimisation steps per engine "epoch" (`fit` ends an epoch after this many steps and writes its checkpoint),
  and the repetitions a task's loop without a fit takes (`cut_count`: det's random matrices per case)
- warmup: steps at the start of each attempt left out of the step-time median
- share: when set (the evaluate stage), the share of its work it does: every test array `core.data.load` returns
  (x_test, y_test, text_test, ...) is cut to its first ceil(share x rows) rows, and every fixed count an evaluate loops
  over (`share_of`: mixup's test pairs and its pass over the training images) to ceil(share x count); training
  arrays stay whole (earlier stages index into them). The shake-down runs evaluate at two shares and extrapolates.
- log: a JSON-lines file each measurement is appended to
- stop: whether the first fit that finds no checkpoint stops after it (the first attempt of a job)

Every fit trains one short epoch, writes its checkpoint and returns as if training had finished, so the stage goes on
to write its outputs. With `stop`, the first fit raises `Stopped` after its checkpoint instead (a planned kill: the
job exits with STOPPED_EXIT); the next attempt, without `stop`, resumes that fit from its checkpoint, trains one more
short epoch and goes on.
"""

from __future__ import annotations

import json
import logging
import math
import os
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

ENV = "KX_SHORT_RUN"
STOPPED_EXIT = 75  # the exit status of a job stopped after its checkpoint (EX_TEMPFAIL: try again)


class Stopped(Exception):
    """A short run stopped on purpose after a fit's first checkpoint; the next attempt resumes from it."""


@dataclass(frozen=True)
class Limits:
    steps: int
    warmup: int
    share: float | None
    log: Path
    stop: bool


def limits() -> Limits | None:
    """The short run's limits when this process is one (KX_SHORT_RUN set), else None."""
    text = os.environ.get(ENV)
    if not text:
        return None
    d = json.loads(text)
    return Limits(int(d["steps"]), int(d.get("warmup", 1)), d.get("share"), Path(d["log"]), bool(d.get("stop", True)))


def record(row: dict) -> None:
    """Append one measurement to the short run's log (nothing when this is not a short run)."""
    lim = limits()
    if lim is not None:
        with open(lim.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")


def record_loop(
    label: str,
    total_steps: int,
    step_seconds: list[float],
    loop_s: float,
    eval_s: float = 0.0,
    evaluations: int = 0,
    resumed: bool = False,
) -> None:
    """One loop's measurements: the seconds of the steps it took (the shake-down takes their median), the seconds it
    spent in all, its one evaluation callback, and what the full run does (`total_steps` steps, `evaluations`
    callbacks). The engine's fit records one per fit; a task's own loop outside the engine (det's sweep) likewise."""
    record(
        {
            "event": "fit",
            "label": label,
            "total_steps": total_steps,
            "steps_s": [float(t) for t in step_seconds],
            "fit_s": float(loop_s),
            "eval_s": float(eval_s),
            "evaluations": evaluations,
            "resumed": resumed,
            "cuda_peak_mb": cuda_peak_mb(),
        }
    )


def cut_count(n: int) -> int:
    """A loop over n repetitions that need no fit (det's samples per case): its first `steps` in a short run."""
    lim = limits()
    return n if lim is None else min(n, lim.steps)


def share_of(n: int, what: str, at_least: int = 1) -> int:
    """A count an evaluate loops over, cut to the short run's share of it but not below `at_least` (what the
    computation needs: an FD more samples than features), and recorded; n outside a short run. Where the floor
    binds at both shares, the shake-down counts that part as fixed: it does not bind in config/paper.yaml."""
    lim = limits()
    if lim is None or not lim.share or n <= 1:
        return n
    cut = min(n, max(at_least, math.ceil(n * lim.share)))
    record({"event": "cut", "what": what, "count": n, "cut": cut})
    return cut


def cut_rows(arrays: dict, source: str) -> dict:
    """The test arrays cut to the short run's share of their rows (evaluate on a small test subset), each cut
    recorded. Unchanged outside a short run or without `share`."""
    lim = limits()
    if lim is None or not lim.share:
        return arrays
    out = {}
    for name, a in arrays.items():
        rows = math.ceil(len(a) * lim.share) if a.ndim else 0
        if "test" in name and a.ndim and rows < len(a):
            out[name] = a[:rows]
            record({"event": "cut", "what": f"{source}:{name}", "count": len(a), "cut": rows})
        else:
            out[name] = a
    return out


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB (Linux reports kilobytes, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def cuda_peak_mb() -> float:
    """torch.cuda.max_memory_allocated in MB where this process has used CUDA, else 0 (torch is not imported here)."""
    torch = sys.modules.get("torch")
    return torch.cuda.max_memory_allocated() / 2**20 if torch is not None and torch.cuda.is_initialized() else 0.0


def quality_gate(ok: bool, message: str) -> None:
    """A check of a trained result's quality (a classifier accurate enough for its features to measure anything):
    a RuntimeError in a real run; in a short run, which trains a few steps by design, a warning and a recorded note."""
    if ok:
        return
    if limits() is None:
        raise RuntimeError(message)
    logging.getLogger("kx").warning("short run: quality gate not applied: %s", message)
    record({"event": "quality_gate_skipped", "message": message})
