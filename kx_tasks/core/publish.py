"""Published runs: the small text files of a run or an artefact, copied from results/ under a records folder
(config key `records_dir`, e.g. records/campaign-cpu), and the folder's index. A published run is what the report
reads (config.yaml, run.json, metrics.json, timings.json, the JSON-lines histories and evaluations, JSON tables) and
what `kx verify` compares a rerun with; weights and images stay in results/ and are only named, with their size.

Layout, mirroring results/:  RECORDS/runs/TASK/VARIANT/seedS/STAGE/…,  RECORDS/artefacts/NAME/KEY/…,
RECORDS/index.json (the config, each task's looks and the judging decisions, every run and artefact, the size).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from kx_tasks.core import stages
from kx_tasks.core.io import atomic_dir, read_json, write_json
from kx_tasks.core.registry import TaskError

KEPT = (".json", ".jsonl", ".yaml")  # text the report and kx verify read
MAX_BYTES = 200_000  # a kept file larger than this is named, not copied (a published folder stays a few MB)
MANIFEST = "published.json"  # per published folder: what was copied and what was left out
INDEX = "index.json"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish_folder(src: Path, dst: Path) -> dict:
    """Copy the kept files of one stage or artefact folder `src` to `dst` (written whole or not at all), with a
    manifest naming every file left out (weights, images, anything over MAX_BYTES) and its size."""
    src, dst = Path(src), Path(dst)
    if not (src / "run.json").exists():
        raise TaskError(f"{src}: no run.json (the stage did not finish); nothing to publish")
    copied, left_out = {}, {}
    files = sorted(p for p in src.rglob("*") if p.is_file() and not p.name.startswith("."))
    with atomic_dir(dst) as tmp:
        for p in files:
            name = p.relative_to(src).as_posix()
            size = p.stat().st_size
            if p.suffix in KEPT and size <= MAX_BYTES:
                (tmp / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(p, tmp / name)
                copied[name] = sha256(p)
            else:
                left_out[name] = size
        write_json(tmp / MANIFEST, {"from": src.as_posix(), "copied": copied, "left_out_bytes": left_out})
    return {"copied": len(copied), "left_out": len(left_out)}


def publish_run(run_dir: Path, dst: Path) -> None:
    """Every stage folder of a finished run (results/runs/TASK/VARIANT/seedS) under `dst`."""
    run_dir, dst = Path(run_dir), Path(dst)
    folders = [run_dir / stages.FOLDERS[s] for s in stages.STAGES if (run_dir / stages.FOLDERS[s]).is_dir()]
    if not folders:
        raise TaskError(f"{run_dir}: no stage folders; not a finished run")
    with atomic_dir(dst) as tmp:
        for folder in folders:
            publish_folder(folder, tmp / folder.name)


def folder_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())


def write_index(records: Path, config: dict, plans: dict, look_files: list[Path]) -> dict:
    """RECORDS/index.json: the config the runs came from, each task's plan of looks, the judging decisions (read
    from results/looks), the published runs and artefacts, and the folder's size."""
    records = Path(records)
    looks = {}
    for path in sorted(look_files):
        decision = read_json(path)
        looks.setdefault(path.parent.name, {})[path.stem] = decision
    runs = sorted(p.relative_to(records / "runs").as_posix() for p in (records / "runs").glob("*/*/seed*"))
    artefacts = sorted(p.relative_to(records / "artefacts").as_posix() for p in (records / "artefacts").glob("*/*"))
    index = {
        "records": records.name,
        "config": config,
        "plans": plans,
        "looks": looks,
        "runs": runs,
        "artefacts": artefacts,
        "bytes": folder_bytes(records / "runs") + folder_bytes(records / "artefacts"),
    }
    write_json(records / INDEX, index)
    return index


def read_index(records: Path) -> dict:
    path = Path(records) / INDEX
    if not path.exists():
        raise TaskError(
            f"{records}: no {INDEX}; not a records folder (one is written by the pipeline of a config with "
            "records_dir, e.g. `make campaign`)"
        )
    return read_json(path)


def run_dirs(records: Path, index: dict | None = None) -> list[Path]:
    """The published run folders of a records folder, in the order of its index (read here unless given)."""
    return [Path(records) / "runs" / r for r in (index or read_index(records))["runs"]]


def records_of(run_record: Path) -> Path:
    """The records folder a published run (RECORDS/runs/TASK/VARIANT/seedS, its stages each with a published.json)
    belongs to. Its index is not needed: a campaign's runs can be verified while it is still running."""
    run_record = Path(run_record)
    root = run_record.parent.parent.parent
    if root.name != "runs" or not list(run_record.glob(f"*/{MANIFEST}")):
        raise TaskError(
            f"{run_record}: not a published run (expected RECORDS/runs/TASK/VARIANT/seedS, its stage folders "
            f"written by the pipeline with their {MANIFEST})"
        )
    return root.parent


def artefact_core_hours(records: Path) -> float:
    """Core-hours of the published artefacts' builds (CPU time, else wall time × threads, of each run.json)."""
    from kx_tasks.core.report import stage_core_seconds

    paths = sorted((Path(records) / "artefacts").glob("*/*/run.json"))
    return sum(stage_core_seconds(read_json(p)) for p in paths) / 3600
