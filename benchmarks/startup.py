"""Per-job start-up overhead of the pipeline: Snakemake's measured job time (results/benchmarks/*.tsv) minus the
stage's own wall time (run.json), i.e. process start, imports, seeding, records and the atomic rename.

    python benchmarks/startup.py [--results results] [--results /other/checkout/results] [--kx .venv/bin/kx]

With two --results folders (e.g. before and after a change) the table shows them side by side. It also times
`kx list` (no stage: entry points and task declarations only) as the floor of every job.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import time
from pathlib import Path

import pandas as pd

FOLDERS = {"augment": "augment", "train": "train", "evaluate": "eval"}


def overheads(results: Path) -> pd.DataFrame:
    rows = []
    for rule, folder in FOLDERS.items():
        for tsv in sorted((results / "benchmarks" / rule).glob("*/*/*.tsv")):
            task, variant, seed = tsv.parts[-3], tsv.parts[-2], tsv.stem
            record = results / "runs" / task / variant / seed / folder / "run.json"
            if not record.exists():
                continue
            job_s = float(pd.read_csv(tsv, sep="\t")["s"].iloc[0])
            stage_s = json.loads(record.read_text())["wall_time_s"]
            rows.append({"rule": rule, "task": task, "job_s": job_s, "stage_s": stage_s, "overhead_s": job_s - stage_s})
    report = results / "benchmarks" / "report.tsv"
    if report.exists():
        rows.append({"rule": "report", "task": "all", "job_s": float(pd.read_csv(report, sep="\t")["s"].iloc[0])})
    return pd.DataFrame(rows)


def time_command(cmd: list[str], repeats: int = 5) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, action="append", help="a results/ folder (repeatable)")
    p.add_argument("--kx", action="append", default=[], help="a kx executable to time `kx list` with (repeatable)")
    args = p.parse_args()
    folders = args.results or [Path("results")]
    tables = []
    for folder in folders:
        df = overheads(folder)
        if df.empty:
            raise SystemExit(f"{folder}: no benchmark files with run records (run the pipeline first)")
        g = df.groupby(["rule", "task"])
        t = pd.DataFrame(
            {"jobs": g.size(), "overhead_s (median)": g["overhead_s"].median().round(2)}
            | {"job_s (median)": g["job_s"].median().round(2)}
        )
        t.columns = pd.MultiIndex.from_product([[str(folder)], t.columns])
        tables.append(t)
        total = df["overhead_s"].sum()
        print(f"{folder}: {len(df)} jobs, summed per-job overhead {total:.0f} s (CPU-seconds of start-up)")
    print(pd.concat(tables, axis=1).to_string())
    for kx in args.kx:
        print(f"{kx} list: {time_command([kx, 'list']):.2f} s (median of 5)")


if __name__ == "__main__":
    main()
