"""The `kx` command: list and describe tasks, run one outside Snakemake, and the entry points the rules call.

kx list
kx info TASK
kx run TASK [--variant V] [--seed S] [--config FILE] [--out DIR] [--data-dir DIR]
kx data DATASET --out FILE [--source DIR] [--downloads DIR]          (rule prepare_data)
kx stage STAGE TASK --variant V --seed S --out DIR [--params JSON] [--input NAME=PATH ...]   (rules)
kx report --out DIR EVAL_DIR ...                                      (rule report)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from pathlib import Path

from kx_tasks import data, runner, settings
from kx_tasks.io import read_yaml
from kx_tasks.registry import TaskError, discover, get_task

log = logging.getLogger("kx")


def cmd_list(args) -> None:
    for name, task in discover().items():
        print(f"{name:16s} {task.summary}")


def cmd_info(args) -> None:
    task = get_task(args.task)
    print(f"{task.name}: {task.summary}")
    print(f"post:      {task.post_url}")
    print(f"datasets:  {', '.join(task.datasets) or 'none'}")
    print(f"variants:  {', '.join(task.variants)}")
    print(f"stages:    {' -> '.join(runner.stages_of(task))}")
    r = task.resources
    print(f"resources: threads={r.threads} mem_mb={r.mem_mb} runtime={r.runtime}min gpu={r.gpu}")
    print("defaults:")
    for f in dataclasses.fields(task.config):
        print(f"  {f.name} = {f.default!r}")
    print("claims:")
    for claim in task.claims:
        print(f"  [{claim.source}] {claim.id}: {claim.statement}  ({claim.rule()})")


def load_config(path: str | None) -> dict:
    if path is None:
        return {}
    config = read_yaml(path) or {}
    if not isinstance(config, dict):
        raise settings.ConfigError(f"{path}: expected a mapping at the top level")
    settings.check_config(config, discover())
    return config


def cmd_run(args) -> None:
    """All stages of one run, into --out; datasets are prepared into --data-dir first when missing."""
    task = get_task(args.task)
    config = load_config(args.config)
    variant = args.variant or task.variants[0]
    run = settings.make_run(config, task, variant, args.seed)
    out = Path(args.out or f"results/runs/{task.name}/{variant}/seed{args.seed}")
    inputs = {}
    for name in task.datasets:
        path = Path(args.data_dir) / f"{name}.npz"
        if not path.exists():
            source = data.local_data_dir(config.get("data_dir"))
            data.prepare(data.DATASETS[name], path, source, Path(args.data_dir) / "downloads")
        inputs[name] = path
    metrics = None
    for stage in runner.stages_of(task):
        stage_dir = out / ("eval" if stage == "evaluate" else stage)
        metrics = runner.run_stage(task, stage, run, inputs, stage_dir)
        inputs[stage] = stage_dir
    print(json.dumps(metrics, indent=2, sort_keys=True))


def cmd_stage(args) -> None:
    task = get_task(args.task)
    params = json.loads(args.params) if args.params else None
    config = {"device": args.device, "tasks": {task.name: {"params": params, "threads": args.threads}}}
    run = settings.make_run(config, task, args.variant, args.seed)
    inputs = {}
    for item in args.input:
        name, sep, path = item.partition("=")
        if not sep:
            raise settings.ConfigError(f"--input: expected NAME=PATH, got {item!r}")
        inputs[name] = Path(path)
    runner.run_stage(task, args.stage, run, inputs, args.out)


def cmd_data(args) -> None:
    if args.dataset not in data.DATASETS:
        raise data.DataError(f"unknown dataset '{args.dataset}' (known: {', '.join(data.DATASETS)})")
    source = data.local_data_dir(args.source)
    data.prepare(data.DATASETS[args.dataset], args.out, source, args.downloads)


def cmd_report(args) -> None:
    from kx_tasks import report  # pandas/matplotlib/scipy only for the command that needs them

    report.build(discover(), [Path(p) for p in args.eval_dirs], Path(args.out))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kx", description="Reproductions of Scientific Spaces posts.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="installed tasks").set_defaults(fn=cmd_list)
    s = sub.add_parser("info", help="a task's variants, defaults and claims")
    s.add_argument("task")
    s.set_defaults(fn=cmd_info)

    s = sub.add_parser("run", help="run one task outside Snakemake (same code path as the rules)")
    s.add_argument("task")
    s.add_argument("--variant")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--config", help="a kx config YAML (e.g. config/smoke.yaml); its tasks.TASK block is used")
    s.add_argument("--out", help="run directory (default results/runs/TASK/VARIANT/seedS)")
    s.add_argument("--data-dir", default="results/data", help="where prepared .npz datasets live")
    s.set_defaults(fn=cmd_run)

    s = sub.add_parser("stage", help="run one stage (used by the Snakemake rules)")
    s.add_argument("stage", choices=runner.PIPELINE)
    s.add_argument("task")
    s.add_argument("--variant", required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument("--params", help="the task's parameters as JSON")
    s.add_argument("--device", default="cpu")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--input", action="append", default=[], help="NAME=PATH, repeatable")
    s.add_argument("--out", required=True)
    s.set_defaults(fn=cmd_stage)

    s = sub.add_parser("data", help="fetch, verify and convert one dataset to .npz")
    s.add_argument("dataset")
    s.add_argument("--out", required=True)
    s.add_argument("--source", help=f"local directory with the published files (default: ${data.ENV_DATA_DIR})")
    s.add_argument("--downloads", default="results/downloads")
    s.set_defaults(fn=cmd_data)

    s = sub.add_parser("report", help="gather metrics, judge claims, write summary.csv and index.html")
    s.add_argument("--out", required=True)
    s.add_argument("eval_dirs", nargs="+")
    s.set_defaults(fn=cmd_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        args.fn(args)
    except (settings.ConfigError, TaskError, data.DataError) as e:
        print(f"kx: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
