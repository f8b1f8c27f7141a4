"""`kx shakedown CONFIG`: every task x variant of a config (its first seed) and every artefact they read, at full
size, a few steps each on this machine's device (CUDA when present and the config asks for it, else the CPU),
through the same stage code and command lines as the pipeline's jobs, into a scratch folder.

Each job is the rule's command (`kx stage ...`, `kx artefact ...`) run in a forked child of this process with
KX_SHORT_RUN set (kx_tasks/core/short_run.py): every engine fit trains STEPS steps, writes its checkpoint and stops;
the job is started again, resumes from the checkpoint, trains STEPS more and finishes, so resume is exercised on the
full-size model and optimiser (of the job's first fit; later fits of a job, e.g. cross-validation folds, take one
short epoch each). The evaluate stage does SHARES[0], then SHARES[1] of its work: that share of the rows of every
test array and of every fixed count it loops over (short_run.share_of). A dataset this machine does not have
becomes a synthetic stand-in of exactly its shapes and dtypes (kx_tasks/core/data/synthetic.py), and the output
says so.

Measured per job: seconds per step (median after each attempt's warm-up step), peak memory (the child's peak RSS
from wait4; torch.cuda.max_memory_allocated on a GPU), wall time; projected for the config's full length: the
job's wall time outside its fits, plus steps x seconds per step and the evaluation callbacks for every fit, plus for
evaluate the part outside fits extrapolated linearly in the share from its two shares to the whole (likewise its
memory). The
results go to SCRATCH/shakedown.json and, as runtime and mem_mb with the safety factors of
kx_tasks/core/calibration.py, to config/calibration/STEM.DEVICE.yaml, which the rules then read.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from kx_tasks.core import calibration, config_file, settings, short_run, stages
from kx_tasks.core.io import read_yaml, write_json, write_yaml
from kx_tasks.core.params import ConfigError
from kx_tasks.core.records import code_version
from kx_tasks.core.registry import discover, discover_artefacts

log = logging.getLogger("kx")

STEPS = 3  # steps per short epoch; two short epochs per fit (stop, resume)
WARMUP = 1  # each attempt's first step is left out of the median
# The evaluate stage's two shares of its work: 400 and 1,000 of 10,000 test images; 200 and 500 of fvae's 5,000
# samples per FD (200: the fewest any kx config computes an FD from, config/smoke.yaml's).
SHARES = (1 / 25, 1 / 10)
ROOT = "results/scratch/shakedown"


@dataclass
class Job:
    key: str  # calibration.job_key: TASK/VARIANT/STAGE or artefact/NAME
    argv: list[str]  # the kx command line, as the rule builds it (without --out)
    out: Path
    threads: int
    needs: list[str] = field(default_factory=list)  # keys of the jobs whose outputs it reads
    shares: bool = False  # evaluate: run at the two shares of its work


@dataclass
class Attempt:
    rc: int
    wall_s: float
    peak_rss_mb: float
    measured: list[dict]  # the short run's measurements (short_run.record)


def current_device(config: dict) -> str:
    """cuda when the config asks for a GPU and this machine has one, else cpu."""
    if config.get("device", "cpu") == "cpu":
        return "cpu"
    # Asked in a child process: CUDA initialised in this one would be unusable in the jobs forked from it.
    probe = [sys.executable, "-c", "import torch; print(torch.cuda.is_available())"]
    return "cuda" if subprocess.run(probe, capture_output=True, text=True).stdout.strip() == "True" else "cpu"


def dataset_files(config: dict, names: list[str], root: Path) -> dict[str, tuple[Path, str]]:
    """name -> (prepared file, how it was found): a file the pipeline prepared (results/data), one prepared now from
    the local copy (data_dir / KX_DATA_DIR), or a synthetic stand-in. Never downloads."""
    from kx_tasks.core import data
    from kx_tasks.core.data import catalogue, synthetic

    out = {}
    local = data.local_data_dir(config.get("data_dir"))
    for name in names:
        pipeline = Path("results/data") / f"{name}.npz"
        if pipeline.exists():
            out[name] = (pipeline, "prepared")
            continue
        file = root / "data" / f"{name}.npz"
        if catalogue.available(data.DATASETS[name], local):
            out[name] = (file, "local copy")
            _in_child(partial(data.prepare, data.DATASETS[name], file, local, root / "downloads"))
        else:
            out[name] = (file, "synthetic")
            _in_child(partial(synthetic.write, name, file, catalogue.facts_of))
        log.info("dataset %s: %s (%s)", name, out[name][0], out[name][1])
    return out


def _in_child(fn) -> None:
    """Run fn in a forked child, so that this process, which every job is forked from, never holds a dataset's
    memory (a job's peak RSS would count it)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("preparing a dataset for the shake-down failed (see the traceback above)")


def plan(config: dict, root: Path) -> tuple[list[Job], list[str]]:
    """The jobs (artefacts before the stages that read them) and the datasets they read."""
    tasks, artefacts = discover(), discover_artefacts()
    jobs: dict[str, Job] = {}
    datasets: set[str] = set()
    device = config["device"]

    def inputs(named: dict) -> list[str]:
        return [arg for name, path in named.items() for arg in ("--input", f"{name}={path}")]

    for name in settings.enabled_tasks(config, tasks):
        task = tasks[name]
        block = settings.task_block(config, name)
        for variant in settings.variants(config, task):
            seed = settings.seeds(config, task, variant)[0]
            datasets.update(task.datasets_for(variant))
            earlier: dict[str, str] = {}
            for stage in task.stage_names():
                needs, expect = [], []
                dirs = settings.artefact_inputs(task, stage, variant, seed, artefacts, str(root / "artefacts"))
                for art, directory in dirs.items():
                    key = calibration.job_key(art, None, "artefact") + f"/{Path(directory).name}"
                    needs.append(key)
                    build = settings.make_artefact_run(config, artefacts[art], Path(directory).name)
                    expect += ["--expect", f"{art}={build.run_hash()}"]
                    if key not in jobs:
                        used = settings.artefact_datasets(config, artefacts[art])
                        datasets.update(used)
                        params = json.dumps(settings.artefact_block(config, art).get("params") or {}, sort_keys=True)
                        threads = settings.artefact_resources(config, artefacts[art]).threads
                        argv = ["artefact", art, "--key", Path(directory).name, "--params", params]
                        argv += ["--device", device, "--threads", str(threads)]
                        jobs[key] = Job(key, argv + inputs({d: f"@{d}" for d in used}), Path(directory), threads)
                threads = settings.stage_resources(config, task, stage).threads
                out = Path(stages.stage_dir(name, variant, seed, stage, root=str(root / "runs")))
                params = json.dumps(settings.user_params(block, variant), sort_keys=True)
                argv = ["stage", stage, name, "--variant", variant, "--seed", str(seed), "--params", params]
                argv += ["--device", device, "--threads", str(threads), *expect]
                named = {d: f"@{d}" for d in task.datasets_for(variant)} | dirs | earlier
                key = calibration.job_key(name, variant, stage)
                needs += [calibration.job_key(name, variant, s) for s in earlier]
                jobs[key] = Job(key, argv + inputs(named), out, threads, needs, shares=stage == "evaluate")
                earlier[stage] = str(out)
    return list(jobs.values()), sorted(datasets)


def run_child(argv: list[str], limits: dict, log_path: Path, timeout_s: float) -> tuple[int, float, float]:
    """Run `kx ARGV` in a forked child with KX_SHORT_RUN=limits, output to log_path; (exit status, wall seconds,
    peak RSS in MB). A child still running after timeout_s is killed (status -9)."""
    from kx_tasks.core import cli

    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: the job's own process, as the rule's shell would start it
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.environ[short_run.ENV] = json.dumps(limits)
            code = cli.main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    try:
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            if time.perf_counter() - start > timeout_s:
                os.kill(pid, signal.SIGKILL)
                _, status, usage = os.wait4(pid, 0)
                break
            time.sleep(0.05)
    except BaseException:  # the shake-down itself interrupted (Ctrl-C, SIGTERM): its job goes with it
        os.kill(pid, signal.SIGKILL)
        os.wait4(pid, 0)
        raise
    rc = os.waitstatus_to_exitcode(status)
    return rc, time.perf_counter() - start, usage.ru_maxrss / 1024


def attempts(job: Job, argv: list[str], out: Path, share: float | None, root: Path, timeout_s: float) -> list[Attempt]:
    """Start the job; if its first fit stopped after its checkpoint, start it again to resume and finish."""
    done: list[Attempt] = []
    name = job.key.replace("/", "__") + (f".share{round(1 / share)}" if share else "")
    for n in (1, 2):
        measure = root / "measure" / f"{name}.{n}.jsonl"
        measure.parent.mkdir(parents=True, exist_ok=True)
        measure.unlink(missing_ok=True)
        limits = {"steps": STEPS, "warmup": WARMUP, "share": share, "log": str(measure), "stop": n == 1}
        rc, wall, peak = run_child([*argv, "--out", str(out)], limits, root / "logs" / f"{name}.log", timeout_s)
        lines = measure.read_text(encoding="utf-8").splitlines() if measure.exists() else []
        done.append(Attempt(rc, wall, peak, [json.loads(line) for line in lines]))
        if rc != short_run.STOPPED_EXIT:
            break
    return done


def fit_projection(tries: list[Attempt]) -> tuple[float, float, list[dict]]:
    """(projected seconds of the fits at full length, seconds the last attempt spent in fits, one row per fit)."""
    fits: dict[str, dict] = {}
    for a in tries:
        for row in a.measured:
            if row["event"] == "fit":
                f = fits.setdefault(row["label"], {"label": row["label"], "steps_s": [], "eval_s": 0.0})
                f["steps_s"] += row["steps_s"]
                f["total_steps"], f["evaluations"] = row["total_steps"], row["evaluations"]
                f["eval_s"] = max(f["eval_s"], row["eval_s"])
                f["cuda_peak_mb"] = max(f.get("cuda_peak_mb", 0.0), row["cuda_peak_mb"])
    out = []
    for f in fits.values():
        step_s = statistics.median(f.pop("steps_s")) if f.get("steps_s") else 0.0
        out.append(f | {"step_s": step_s, "projected_s": step_s * f["total_steps"] + f["evaluations"] * f["eval_s"]})
    in_fits = sum(r["fit_s"] for r in tries[-1].measured if r["event"] == "fit")
    return sum(f["projected_s"] for f in out), in_fits, out


def gates_skipped(tries: list[Attempt]) -> list[str]:
    """The quality gates the short run did not apply (short_run.quality_gate), once each."""
    return list(dict.fromkeys(r["message"] for a in tries for r in a.measured if r["event"] == "quality_gate_skipped"))


def was_cut(tries: list[Attempt]) -> bool:
    """Whether the last attempt did less than all of its work (a test array or a count was cut)."""
    return any(r["event"] == "cut" for r in tries[-1].measured)


def measure(job: Job, root: Path, timeout_s: float) -> dict:
    """Run one job (twice for evaluate: two shares of its work) and what it projects for the full length."""
    if not job.shares:
        tries = attempts(job, job.argv, job.out, None, root, timeout_s)
        result = {"attempts": len(tries), "rc": tries[-1].rc, "wall_s": sum(a.wall_s for a in tries)}
        if tries[-1].rc != 0:
            return result
        fits_s, in_fits, fits = fit_projection(tries)
        projected = max(tries[-1].wall_s - in_fits, 0.0) + fits_s
        peak = max(a.peak_rss_mb for a in tries)
        return (
            result
            | {"projected_s": projected, "peak_rss_mb": peak, "fits": fits, "extrapolated": False}
            | {"cuda_peak_mb": cuda_peak(tries), "gates_skipped": gates_skipped(tries)}
        )
    small_out = job.out.with_name(job.out.name + f".share{round(1 / SHARES[0])}")
    small = attempts(job, job.argv, small_out, SHARES[0], root, timeout_s)
    if small[-1].rc != 0:
        return {"attempts": len(small), "rc": small[-1].rc, "wall_s": sum(a.wall_s for a in small)}
    cut = was_cut(small)
    tries = attempts(job, job.argv, job.out, SHARES[1], root, timeout_s) if cut else small  # else: it was whole
    result = {"attempts": len(small) + (len(tries) if tries is not small else 0), "rc": tries[-1].rc}
    result["wall_s"] = sum(a.wall_s for a in small) + (sum(a.wall_s for a in tries) if tries is not small else 0)
    if tries[-1].rc != 0:
        return result
    fits_s, in_fits, fits = fit_projection(tries)
    base = max(tries[-1].wall_s - in_fits, 0.0)
    peak = max(a.peak_rss_mb for a in tries)
    if cut:  # linear in the share, from SHARES[1] on to the whole
        _, small_in_fits, _ = fit_projection(small)
        small_base = max(small[-1].wall_s - small_in_fits, 0.0)
        small_peak = max(a.peak_rss_mb for a in small)
        extra = (1 - SHARES[1]) / (SHARES[1] - SHARES[0])
        base += max(base - small_base, 0.0) * extra
        peak += max(peak - small_peak, 0.0) * extra
    return (
        result
        | {"projected_s": base + fits_s, "peak_rss_mb": peak, "fits": fits, "extrapolated": cut}
        | {"cuda_peak_mb": cuda_peak(small + tries), "gates_skipped": gates_skipped(small + tries)}
    )


def cuda_peak(tries: list[Attempt]) -> float:
    """The largest torch.cuda.max_memory_allocated any attempt recorded (0 on the CPU)."""
    return max([r.get("cuda_peak_mb", 0.0) for a in tries for r in a.measured], default=0.0)


def failure(job: Job, root: Path) -> str:
    """The reason a job failed: the last error line of its logs."""
    name = job.key.replace("/", "__")
    lines = []
    for path in sorted((root / "logs").glob(f"{name}*.log")):
        lines += [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    errors = [line for line in lines if "error" in line.lower() or "Error" in line]
    return (errors or [line for line in lines if line] or ["no output"])[-1][:300]


def _warm_imports(config: dict) -> None:
    """Import every stage's module (and torch) here once, so that each forked job starts as a warm interpreter
    would: jobs then measure their own work, not Python's imports (a real job's start-up is in the runtime margin)."""
    from kx_tasks.core.registry import resolve

    tasks, artefacts = discover(), discover_artefacts()
    for name in settings.enabled_tasks(config, tasks):
        for stage in tasks[name].stages.values():
            resolve(stage.fn, name)
    for artefact in artefacts.values():
        resolve(artefact.build, artefact.name)


def host(device: str) -> dict:
    info = {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "memory_mb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20,
    }
    if device == "cuda":  # asked in a child process, as current_device does
        probe = "import torch; p = torch.cuda.get_device_properties(0); print(p.total_memory // 2**20, p.name)"
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip()
        memory, _, name = out.partition(" ")
        info |= {"gpu": name, "gpu_memory_mb": int(memory)}
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def shakedown(
    config_paths: list[str],
    out: Path | None = None,
    repo: Path = Path("."),
    timeout_s: float = 3600.0,
    only: list[str] | None = None,
):
    """Shake the config down; returns (results per job, calibration file written). See the module docstring.
    only: these tasks (TASK) or runs (TASK/VARIANT) alone; their entries in an existing calibration file are replaced,
    the others kept."""
    config = config_file.load_and_check(config_paths)
    if only:
        config = selected(config, only, config_file.label(config_paths))
    files = config_file.files(config_paths)
    stem = Path(files[-1]).stem
    device = current_device(config)
    config = {**config, "device": device}
    root = Path(out or f"{ROOT}/{stem}")
    if root.exists():
        shutil.rmtree(root)  # a scratch folder: every shake-down starts from nothing
    root.mkdir(parents=True)
    start = time.perf_counter()
    signal.signal(signal.SIGTERM, _terminated)  # so that a job running when the shake-down is stopped is stopped too
    jobs, names = plan(config, root)
    found = dataset_files(config, names, root)
    _warm_imports(config)
    record = {
        "config": files,
        "device": device,
        "host": host(device),
        "code": code_version(),
        "date": time.strftime("%Y-%m-%d"),
        "steps": STEPS,
        "shares": list(SHARES),
        "wall_s": 0.0,
        "jobs": {},
    }
    results: dict[str, dict] = record["jobs"]
    target = calibration.path(stem, device, repo)
    for i, job in enumerate(jobs, 1):
        argv = [_dataset_arg(a, found) for a in job.argv]
        blocked = [k for k in job.needs if results.get(k, {}).get("status") != "passed"]
        if blocked:
            results[job.key] = {"status": "failed", "reason": f"not run: {blocked[0]} did not pass"}
        else:
            log.info("[%d/%d] %s", i, len(jobs), job.key)
            r = measure(Job(job.key, argv, job.out, job.threads, job.needs, job.shares), root, timeout_s)
            r["status"] = "passed" if r["rc"] == 0 else "failed"
            if r["status"] == "failed":
                r["reason"] = "timed out" if r["rc"] == -signal.SIGKILL else failure(job, root)
            results[job.key] = r
        results[job.key] |= {"threads": job.threads, "synthetic": _synthetic(argv, found)}
        print(_line(job.key, results[job.key]), flush=True)
        # Written after every job: a shake-down stopped part-way keeps what it measured, and the earlier entries of
        # the runs it has not reached yet; the selected tasks' entries it did not measure go once it has finished.
        record["wall_s"] = time.perf_counter() - start
        write_json(root / "shakedown.json", record)
        reached = {key.rsplit("/", 1)[0] for key in results}
        if i == len(jobs):  # all done: a whole config's file is this run's alone
            reached = (reached | set(only)) if only else None
        write_calibration(target, calibrated(record), reached)
    return record, target


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


def write_calibration(target: Path, fresh: dict, replaced: set[str] | None) -> None:
    """Write the calibration file over its current entries but those of `replaced` (TASK, TASK/VARIANT,
    artefact/NAME), read again under a lock so that shake-downs of different tasks can run side by side; with
    None, this run's entries alone."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.with_name(target.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if replaced is None:
            write_yaml(target, fresh)
            return
        kept = (read_yaml(target) or {}).get("jobs") or {} if target.exists() else {}
        write_yaml(target, merged(fresh, kept, replaced))


def selected(config: dict, only: list[str], label: str) -> dict:
    """The config with only these tasks (TASK: all its variants) and runs (TASK/VARIANT) enabled."""
    enabled = settings.enabled_tasks(config, discover())
    chosen: dict[str, list[str] | None] = {}
    for item in only:
        name, _, variant = item.partition("/")
        if name not in enabled:
            raise ConfigError(f"--tasks: {name} is not enabled in {label}")
        if not variant:
            chosen[name] = None
            continue
        configured = settings.variants(config, discover()[name])
        if variant not in configured:
            raise ConfigError(f"--tasks: {item}: {name} runs no variant '{variant}' in {label}")
        if name not in chosen or chosen[name] is not None:
            chosen[name] = [*(chosen.get(name) or []), variant]
    tasks = {}
    for name, block in (config.get("tasks") or {}).items():
        tasks[name] = {**block, "enabled": name in chosen}
        if chosen.get(name):
            tasks[name]["variants"] = chosen[name]
    return {**config, "tasks": tasks}


def merged(fresh: dict, kept: dict, replaced: set[str]) -> dict:
    """A calibration of some tasks or runs (--tasks) over an earlier one: the earlier entries except those of the
    tasks, runs and artefacts shaken down now (`replaced`: TASK, TASK/VARIANT, artefact/NAME), then this run's."""
    others = {k: v for k, v in kept.items() if not any(k == p or k.startswith(p + "/") for p in replaced)}
    return fresh | {"jobs": dict(sorted((others | fresh["jobs"]).items()))}


def calibrated(record: dict) -> dict:
    """The calibration file's contents: runtime and mem_mb per passed job, with what they came from."""
    jobs = {}
    for key, r in record["jobs"].items():
        if r["status"] != "passed":
            continue
        name = key.rsplit("/", 1)[0] if key.startswith("artefact/") else key  # every key of an artefact alike
        cuda = r.get("cuda_peak_mb", 0.0)
        entry = {
            "runtime": calibration.runtime_minutes(r["projected_s"]),
            "mem_mb": calibration.mem_mb(r["peak_rss_mb"]),
            "projected_s": round(r["projected_s"], 1),
            "peak_rss_mb": round(r["peak_rss_mb"], 1),
            "threads": r["threads"],
            "step_s": {f["label"]: round(f["step_s"], 5) for f in r.get("fits", [])},
            "steps": {f["label"]: f["total_steps"] for f in r.get("fits", [])},
            "extrapolated_rows": r.get("extrapolated", False),
            "synthetic": r["synthetic"],
        }
        if cuda:
            entry["cuda_peak_mb"] = round(cuda, 1)
        old = jobs.get(name)
        jobs[name] = entry if old is None or old["projected_s"] < entry["projected_s"] else old
    return {
        "written_by": f"kx shakedown {' '.join(record['config'])}",
        "device": record["device"],
        "host": record["host"],
        "code": record["code"],
        "date": record["date"],
        "runtime_rule": f"projected minutes x {calibration.RUNTIME_FACTOR} + {calibration.RUNTIME_MARGIN_MIN}",
        "mem_rule": f"peak RSS MB x {calibration.MEM_FACTOR} + {calibration.MEM_MARGIN_MB}",
        "jobs": dict(sorted(jobs.items())),
    }


def _dataset_arg(arg: str, found: dict) -> str:
    """NAME=@DATASET (a placeholder the plan writes) -> NAME=its prepared or synthetic file."""
    name, sep, value = arg.partition("=")
    return f"{name}={found[value[1:]][0]}" if sep and value.startswith("@") else arg


def _synthetic(argv: list[str], found: dict) -> list[str]:
    return sorted(n for n, (path, how) in found.items() if how == "synthetic" and any(str(path) in a for a in argv))


def _line(key: str, r: dict) -> str:
    if r["status"] != "passed":
        return f"failed  {key}: {r['reason']}"
    fits = "; ".join(f"{f['step_s']:.3g} s/step x {f['total_steps']}" for f in r.get("fits", []))
    note = f" on synthetic {', '.join(r['synthetic'])}" if r["synthetic"] else ""
    note += "".join(f"; quality gate not applied: {g}" for g in r.get("gates_skipped", []))
    return (
        f"passed  {key}: {r['wall_s']:.1f}s, {r['attempts']} attempt(s){', ' + fits if fits else ''}, projected "
        f"{r['projected_s'] / 3600:.3g} h, peak {r['peak_rss_mb']:.0f} MB{note}"
    )


def run_lines(record: dict) -> list[str]:
    """One line per run (TASK/VARIANT) and per artefact: passed, or failed with the first failing job's reason."""
    runs: dict[str, list[tuple[str, dict]]] = {}
    for key, r in record["jobs"].items():
        runs.setdefault(key.rsplit("/", 1)[0], []).append((key, r))
    lines = []
    for run, jobs in runs.items():
        bad = [(k, r) for k, r in jobs if r["status"] != "passed"]
        synthetic = sorted({d for _, r in jobs for d in r["synthetic"]})
        hours = sum(r.get("projected_s", 0.0) for _, r in jobs) / 3600
        note = f" (synthetic {', '.join(synthetic)})" if synthetic else ""
        if bad:
            lines.append(f"failed  {run}: {bad[0][0].rsplit('/', 1)[1]}: {bad[0][1]['reason']}{note}")
        else:
            lines.append(f"passed  {run}: projected {hours:.3g} h{note}")
    return lines
