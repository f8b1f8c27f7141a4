"""`kx verify RECORDS/runs/TASK/VARIANT/seedS`: rerun one published run from scratch with its recorded config
(and the artefacts it reads, from their recorded configs) and compare what each stage writes with the record.

Compared: every file the record holds (metrics.json, config.yaml, the JSON-lines histories and evaluations, JSON
tables) byte for byte, except what reads a clock: run.json (wall time, host), timings.json, the keys of a JSON
table named timing.*, seconds, ..._seconds or ..._per_s, and the same columns of the JSON-lines rows (the
engine's `seconds` and rates among them). Same config and seed on a CPU give identical files, so a difference is
a real one: other code, other library versions or another kind of machine (run.json names commit, versions, device).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from kx_tasks.core import data, publish, settings, stages
from kx_tasks.core.io import read_json, read_jsonl, read_yaml
from kx_tasks.core.records import TIMING, TIMINGS
from kx_tasks.core.registry import TaskError, discover, discover_artefacts

log = logging.getLogger(__name__)

NOT_COMPARED = ("run.json", TIMINGS, publish.MANIFEST)


def first_difference(recorded: Path, rerun: Path) -> str | None:
    """None when the rerun's file equals the record (clock columns aside), else where they first differ."""
    if not rerun.exists():
        return f"{rerun.name}: not written by the rerun"
    if recorded.suffix == ".jsonl":
        old = [without_timings(row) for row in read_jsonl(recorded)]
        new = [without_timings(row) for row in read_jsonl(rerun)]
        if len(old) != len(new):
            return f"{recorded.name}: {len(old)} rows recorded, {len(new)} rerun"
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            key = first_differing_key(a, b)
            if key is not None:
                return f"{recorded.name}: row {i + 1}, {key}: {a.get(key)!r} recorded, {b.get(key)!r} rerun"
        return None
    if recorded.read_bytes() == rerun.read_bytes():
        return None
    if recorded.suffix == ".json":
        a, b = read_json(recorded), read_json(rerun)
        if isinstance(a, dict) and isinstance(b, dict):
            key = first_differing_key(without_timings(a), without_timings(b))
            if key is None:
                return None  # only clock readings (timing.*) differ
            return f"{recorded.name}: {key}: {a.get(key)!r} recorded, {b.get(key)!r} rerun"
    return f"{recorded.name}: bytes differ"


def first_differing_key(a: dict, b: dict) -> str | None:
    """The first key (sorted) whose values differ as JSON (so NaN equals NaN, as its bytes do); None if none."""
    return next((k for k in sorted(set(a) | set(b)) if json.dumps(a.get(k)) != json.dumps(b.get(k))), None)


def is_clock_reading(key: str) -> bool:
    """A key that holds a clock reading: timing.* (kx_tasks.core.records.TIMING), seconds, ..._seconds, ..._per_s."""
    return key.startswith(TIMING) or key == "seconds" or key.endswith(("_seconds", "_per_s"))


def without_timings(values: dict) -> dict:
    """A JSON table without its clock readings."""
    return {k: v for k, v in values.items() if not is_clock_reading(str(k))}


def compare(record: Path, rerun: Path) -> list[str]:
    """Every difference between a published stage or artefact folder and the rerun's folder."""
    manifest = read_json(record / publish.MANIFEST)
    names = [n for n in manifest["copied"] if Path(n).name not in NOT_COMPARED]
    return [d for n in names if (d := first_difference(record / n, rerun / n))]


def provenance_lines(run_record: Path) -> list[str]:
    """What the record was made with (commit, package versions) and, where this checkout differs, what the rerun
    is made with: the first place to look when a rerun differs."""
    from kx_tasks.core.records import git_commit, package_versions

    first = sorted(Path(run_record).glob("*/run.json"))[0]
    record = read_json(first)
    here = package_versions()
    lines = [f"recorded at commit {record.get('git_commit')} on {record.get('device')}; rerun at {git_commit()}"]
    changed = {k: (v, here.get(k)) for k, v in (record.get("versions") or {}).items() if here.get(k) != v}
    lines += [f"  {name}: {old} recorded, {new} here" for name, (old, new) in sorted(changed.items())]
    return lines


def recorded_run(folder: Path) -> dict:
    """The resolved run a published stage or artefact folder records (config.yaml: task, variant, seed, device,
    threads, params) and the run hash its run.json names."""
    if not (folder / "config.yaml").exists():
        raise TaskError(f"{folder}: no config.yaml; not a published stage or artefact")
    return {**read_yaml(folder / "config.yaml"), "run_hash": read_json(folder / "run.json").get("run_hash")}


def check_same_run(run, recorded: dict, where: Path) -> None:
    if run.run_hash() != recorded["run_hash"]:
        raise TaskError(
            f"{where}: this code resolves the recorded config to run hash {run.run_hash()}, the record says "
            f"{recorded['run_hash']} (a parameter was added, renamed or given another default since); "
            "check out the commit its run.json names"
        )


def verify_artefact(name: str, key: str, records: Path, out: Path, data_dir: Path) -> tuple[Path, list[str]]:
    """Rebuild one artefact a run reads from its recorded config; (its folder, the differences)."""
    artefact = discover_artefacts()[name]
    record = records / "artefacts" / name / key
    if not record.is_dir():
        raise TaskError(f"{record}: the run reads artefact {name} ({key}), which the records do not hold")
    recorded = recorded_run(record)
    config = {
        "device": recorded["device"],
        "artefacts": {name: {"params": recorded["params"], "threads": recorded["threads"]}},
    }
    build = settings.make_artefact_run(config, artefact, key)
    check_same_run(build, recorded, record)
    folder = out / "artefacts" / name / key
    if not folder.exists():
        deps = {d: data.prepared(d, data_dir) for d in settings.artefact_datasets(config, artefact)}
        from kx_tasks.core import runner

        runner.build_artefact(artefact, build, deps, folder)
    return folder, compare(record, folder)


def verify(run_record: Path, out: Path, data_dir: Path) -> dict[str, list[str]]:
    """Rerun the published run `run_record` into `out`; {stage or artefact: differences} in the order run."""
    from kx_tasks.core import runner

    run_record = Path(run_record)
    records = publish.records_of(run_record)
    key = {"task": run_record.parent.parent.name, "variant": run_record.parent.name, "seed": int(run_record.name[4:])}
    tasks = discover()
    if key["task"] not in tasks:
        raise TaskError(f"{run_record}: task '{key['task']}' is not installed (installed: {', '.join(tasks)})")
    task = tasks[key["task"]]
    results: dict[str, list[str]] = {}
    previous: dict[str, Path] = {}
    base = {name: data.prepared(name, data_dir) for name in task.datasets_for(key["variant"])}
    for stage in task.stage_names():
        record = run_record / stages.FOLDERS[stage]
        recorded = recorded_run(record)
        config = {
            "device": recorded["device"],
            "tasks": {task.name: {"params": recorded["params"], "threads": recorded["threads"]}},
        }
        run = settings.make_run(config, task, key["variant"], key["seed"], stage)
        check_same_run(run, recorded, record)
        inputs = {**base, **previous}
        for name in task.stages[stage].artefacts_for(key["variant"]):
            akey = stages.artefact_key(discover_artefacts()[name].per_seed, key["seed"])
            folder, differences = verify_artefact(name, akey, records, out, data_dir)
            results.setdefault(f"artefact {name} {akey}", differences)
            inputs[name] = folder
        folder = out / stages.FOLDERS[stage]
        if folder.exists():  # an earlier verify into this (claimed) folder: rerun from scratch
            shutil.rmtree(folder)
        log.info("verify: %s %s seed %d, %s", task.name, key["variant"], key["seed"], stage)
        runner.run_stage(task, stage, run, inputs, folder)
        results[stage] = compare(record, folder)
        previous[stage] = folder
    return results
