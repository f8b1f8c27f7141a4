"""The `kx` command: list and describe tasks, run one outside Snakemake, and the entry points the rules call.

kx list
kx info TASK [--config FILE]     variants, stages and their resources (calibrated under FILE), parameters, claims
kx schema TASK                   the JSON Schema of the task's parameters
kx run TASK [--variant V] [--seed S] [--config FILE ...] [--out DIR] [--data-dir DIR]
kx check CONFIG [CONFIG ...]     the config checked as the pipeline checks it (`make run` runs this first)
kx docs [--check]                regenerate (or check) every generated block of README.md and docs/
kx readme --file PAGE --block B --summary summary.md     paste a side run's report into a docs page's block
kx lock --check                  requirements.lock pins what pyproject.toml asks for (`make lint`)
kx data DATASET --out FILE [--source DIR] [--downloads DIR]                              (rule prepare_data)
kx stage STAGE TASK --variant V --seed S --out DIR [--params JSON] [--input NAME=PATH ...] [--expect A=HASH ...]
kx artefact NAME --key seedS|shared --out DIR [--params JSON] [--input NAME=PATH ...]     (rule artefact)
kx report --out DIR [--partial] [--plans JSON] RUN_DIR ...                      (rule report, onerror)
kx report --records records/NAME [--out DIR]       the report of a records folder, from its published files alone
kx verify records/NAME/runs/TASK/VARIANT/seedS     rerun one published run from scratch; equal / different per stage
kx publish run|artefact|index ... --out DIR        copy a run's small files under records/NAME (rules publish*)
kx judge TASK --look K --plan JSON --out FILE RUN_DIR ...       after a look: the variants of open claims (rule judge)
kx shakedown CONFIG [CONFIG ...]   every variant at full size, a few steps, a resume; writes config/calibration/

Only what a command needs is imported: `kx list` and `kx info` load no torch, pandas or scipy.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path

from kx_tasks.core import looks, settings, short_run, stages
from kx_tasks.core.data.fetch import DataError
from kx_tasks.core.docs import DocsError
from kx_tasks.core.looks import Plan
from kx_tasks.core.params import ConfigError
from kx_tasks.core.registry import TaskError, discover, discover_artefacts, get_task

log = logging.getLogger("kx")


def cmd_list(args) -> None:
    for name, task in discover().items():
        print(f"{name:16s} {task.summary}")
    for name, artefact in discover_artefacts().items():
        print(f"{name:16s} (artefact) {artefact.summary}")


def cmd_info(args) -> None:
    from kx_tasks.core.params import rows

    task = get_task(args.task)
    print(f"{task.name}: {task.summary}")
    print(f"post:      {task.post_url}")
    print(f"variants:  {', '.join(task.variants)}")
    if task.default_variants:
        print(f"  run when the config lists none: {', '.join(task.default_variants)}")
    for variant, pins in task.variant_params.items():
        judged = [f"{c.id}: {c.statement} ({c.rule()})" for c in task.claims if c.variants and variant in c.variants]
        print(f"  {variant}: pins " + ", ".join(f"{k}={v}" for k, v in pins.items()))
        if judged:
            print(f"  {' ' * len(variant)}  judged by " + "; ".join(judged))
    print("datasets:  " + ("; ".join(f"{v}: {', '.join(task.datasets_for(v)) or 'none'}" for v in task.variants)))
    print(f"stages:    {' -> '.join(task.stage_names())}")
    for name in task.stage_names():
        stage, r = task.stages[name], task.stages[name].resources
        reads = f" artefacts={','.join(sorted(stage.all_artefacts()))}" if stage.artefacts else ""
        print(f"  {name:9s} threads={r.threads} mem_mb={r.mem_mb} runtime={r.runtime}min gpu={r.gpu}{reads} (declared)")
    if args.config:
        print_calibration(task, args.config)
    print(f"parameters (tasks.{task.name}.params):")
    for row in rows(task.params):
        kind = row["type"].replace("\\", "") + (f", {row['bounds']}" if row["bounds"] else "")
        print(f"  {row['key']} = {row['default'].strip('`')}  [{kind}] {row['meaning']}")
    print("claims:")
    for claim in task.claims:
        print(f"  [{claim.source}] {claim.id}: {claim.statement}  ({claim.rule()})")


def print_calibration(task, paths: list[str]) -> None:
    """Each job's runtime and mem_mb under a config, as the rules will ask for them, and where they came from."""
    from kx_tasks.core import calibration, config_file

    config = config_file.load_and_check(paths)
    cal = calibration.for_config(config, config_file.files(paths))
    print(f"resources under {config_file.label(paths)}: {cal.note}")
    if task.name not in settings.enabled_tasks(config, discover()):
        print("  (the task is not enabled there)")
        return
    for variant in settings.variants(config, task):
        for name in task.stage_names():
            key, block = calibration.job_key(task.name, variant, name), settings.task_block(config, task.name)
            r = settings.stage_resources(config, task, name)
            runtime, mem = cal.value(key, "runtime", r.runtime, block), cal.value(key, "mem_mb", r.mem_mb, block)
            print(f"  {variant} {name}: runtime={runtime}min mem_mb={mem} ({cal.source(key, block)})")


def cmd_schema(args) -> None:
    from kx_tasks.core.params import json_schema

    print(json.dumps(json_schema(get_task(args.task).params), indent=2, ensure_ascii=False))


def cmd_docs(args) -> None:
    from kx_tasks.core import docs

    if args.check:
        problems = docs.stale(Path(args.repo), discover())
        if problems:
            raise DocsError("; ".join(problems) + "; run `kx docs` (or `make docs`)")
        print("README.md and docs/: every generated block is up to date")
    else:
        changed = docs.write(Path(args.repo), discover())
        print("regenerated: " + (", ".join(map(str, changed)) or "nothing changed"))


def cmd_readme(args) -> None:
    from kx_tasks.core import docs

    docs.paste(Path(args.file), Path(args.summary), args.block)
    print(f"{args.file}: block '{args.block}' pasted from {args.summary}")


def cmd_lock(args) -> None:
    from kx_tasks.core import lockfile

    problems = lockfile.problems(Path(args.pyproject), Path(args.lock))
    if problems:
        raise ConfigError("; ".join(problems))
    print(f"{args.lock} agrees with {args.pyproject}")


def cmd_check(args) -> None:
    from kx_tasks.core import config_file

    config = config_file.load_and_check(args.config)
    tasks = discover()
    runs = settings.runs(config, tasks)
    print(f"{config_file.label(args.config)}: ok ({len(runs)} runs at the first look)")
    for name in settings.enabled_tasks(config, tasks):
        plan = looks.plan(config, tasks[name])
        if plan.count > 1:
            levels = ", ".join(
                f"{n} seeds at α {a:.4g}" for n, a in zip(plan.looks, looks.boundaries(plan.looks), strict=True)
            )
            print(f"{name}: looks {levels} (O'Brien-Fleming-type spending of α {plan.alpha:g})")
    last = Path(config.get("report_dir") or "results/report") / "claims.csv"
    if last.exists():
        enabled = {name: tasks[name] for name in settings.enabled_tasks(config, tasks)}
        notes = looks.power_notes(config, enabled, last)
        if notes:
            print(f"the smallest effects these seeds detect (power 0.8, α 0.05), at the spread in {last}:")
            print("\n".join(notes))


def prepared(name: str, config: dict, data_dir: Path) -> Path:
    from kx_tasks.core import data

    return data.prepared(name, data_dir, config.get("data_dir"))


def cmd_run(args) -> None:
    """All stages of one run, into --out (a scratch directory); datasets and artefacts are prepared first when
    missing."""
    from kx_tasks.core import config_file, scratch

    task = get_task(args.task)
    config = config_file.load_and_check(args.config)
    variant = args.variant or task.variants[0]
    if variant not in task.variants:
        raise ConfigError(f"task '{task.name}': unknown variant '{variant}' (known: {', '.join(task.variants)})")
    if task.name not in settings.enabled_tasks(config, discover()):
        log.info("%s: not enabled in %s; running it as asked", task.name, config_file.label(args.config))
    block = {**settings.task_block(config, task.name), "variants": [variant], "enabled": True}
    settings.check_config({**config, "tasks": {**config["tasks"], task.name: block}}, discover(), discover_artefacts())
    out = Path(args.out) if args.out else scratch.default_out(task.name, variant, args.seed)
    what = {"task": task.name, "variant": variant, "seed": args.seed, "config": config_file.files(args.config)}
    with scratch.claim(out, what):
        metrics = run_all(task, variant, args.seed, config, out, Path(args.data_dir))
    print(json.dumps(metrics, indent=2, sort_keys=True))


def run_all(task, variant: str, seed: int, config: dict, out: Path, data_dir: Path) -> dict | None:
    from kx_tasks.core import runner

    base = {name: prepared(name, config, data_dir) for name in task.datasets_for(variant)}
    artefacts = discover_artefacts()
    metrics = None
    previous: dict[str, Path] = {}
    for stage in task.stage_names():
        inputs = {**base, **previous}
        # Artefacts kx run builds stay in its own directory, as its runs do (the pipeline's are Snakemake's).
        for name, path in settings.artefact_inputs(
            task, stage, variant, seed, artefacts, str(out / "artefacts")
        ).items():
            inputs[name] = Path(path)
            artefact = artefacts[name]
            build = settings.make_artefact_run(config, artefact, Path(path).name)
            if inputs[name].exists() and runner.built_by(inputs[name]) != build.run_hash():
                # Built under other parameters by an earlier kx run into this directory: rebuilt, never reused.
                log.info(
                    "%s: built under other parameters (run hash %s, now %s); rebuilding",
                    path,
                    runner.built_by(inputs[name]),
                    build.run_hash(),
                )
                shutil.rmtree(inputs[name])
            if not inputs[name].exists():
                deps = {d: prepared(d, config, data_dir) for d in settings.artefact_datasets(config, artefact)}
                runner.build_artefact(artefact, build, deps, path)
        stage_dir = out / stages.FOLDERS[stage]
        run = settings.make_run(config, task, variant, seed, stage)
        metrics = runner.run_stage(task, stage, run, inputs, stage_dir)
        previous[stage] = stage_dir
    return metrics


def parse_pairs(items: list[str], flag: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"{flag}: expected NAME=VALUE, got {item!r}")
        pairs[name] = value
    return pairs


def parse_inputs(items: list[str]) -> dict[str, Path]:
    return {name: Path(path) for name, path in parse_pairs(items, "--input").items()}


def cmd_stage(args) -> None:
    from kx_tasks.core import runner

    task = get_task(args.task)
    params = json.loads(args.params) if args.params else None
    config = {"device": args.device, "tasks": {task.name: {"params": params, "threads": args.threads}}}
    run = settings.make_run(config, task, args.variant, args.seed, args.stage)
    expected = parse_pairs(args.expect, "--expect")
    runner.run_stage(task, args.stage, run, parse_inputs(args.input), args.out, artefacts=expected)


def cmd_artefact(args) -> None:
    from kx_tasks.core import runner

    artefacts = discover_artefacts()
    if args.name not in artefacts:
        raise TaskError(f"unknown artefact '{args.name}' (installed: {', '.join(artefacts) or 'none'})")
    artefact = artefacts[args.name]
    params = json.loads(args.params) if args.params else None
    config = {"device": args.device, "artefacts": {artefact.name: {"params": params, "threads": args.threads}}}
    run = settings.make_artefact_run(config, artefact, args.key)
    runner.build_artefact(artefact, run, parse_inputs(args.input), args.out)


def cmd_data(args) -> None:
    from kx_tasks.core import data

    if args.dataset not in data.DATASETS:
        raise data.DataError(f"unknown dataset '{args.dataset}' (known: {', '.join(data.DATASETS)})")
    source = data.local_data_dir(args.source)
    data.prepare(data.DATASETS[args.dataset], args.out, source, args.downloads)


def cmd_report(args) -> None:
    from kx_tasks.core import publish, report  # pandas/matplotlib/scipy/jinja2 only for the command that needs them

    def as_plans(plans: dict | None) -> dict | None:
        return {t: Plan.from_dict(d) for t, d in plans.items()} if plans else None

    tasks = discover()
    beside = {}
    for other in args.beside:  # another records folder's verdicts, shown next to this report's in the overview
        _, runs, claims = report.judge_records(tasks, Path(other))
        beside[Path(other).name] = (claims, runs)
    if args.records:
        if args.run_dirs:
            raise TaskError("--records reads the runs a records folder names; give no run folders with it")
        if args.partial and not (Path(args.records) / publish.INDEX).exists():
            # A campaign still running: the runs published so far, each comparison judged at one look.
            log.warning("%s: no %s yet; the runs published so far, one look each", args.records, publish.INDEX)
            run_dirs, plans = sorted((Path(args.records) / "runs").glob("*/*/seed*")), None
        else:
            index = publish.read_index(Path(args.records))
            run_dirs, plans = publish.run_dirs(Path(args.records), index), index["plans"]
        label = Path(args.records).name
        out = Path(args.out or f"results/report_records/{Path(args.records).name}")
        note = (
            f"The runs of {label} are published in `{args.records}` (configs, run records, metrics, "
            f"histories): `kx report --records {args.records}` rebuilds this report from them, `kx verify "
            f"{args.records}/runs/TASK/VARIANT/seedS` reruns any one of them and compares it with its record. "
            f"Core-hours: each run's stages (CPU time; wall time × threads where a record has none); the "
            f"artefacts its runs read took "
            f"{publish.artefact_core_hours(Path(args.records)):.2f} more."
        )
    else:
        if not args.run_dirs or not args.out:
            raise TaskError("kx report needs --out and run folders (or --records DIR)")
        run_dirs, out, label, note = [Path(p) for p in args.run_dirs], Path(args.out), "this report", ""
        plans = json.loads(args.plans) if args.plans else None
    report.build(
        tasks, run_dirs, out, partial=args.partial, plans=as_plans(plans), label=label, beside=beside, note=note
    )


def cmd_publish(args) -> None:
    from kx_tasks.core import publish

    if args.what == "index":
        config, plans = json.loads(args.config), json.loads(args.plans)
        index = publish.write_index(Path(args.out), config, plans, [Path(p) for p in args.paths])
        print(f"{args.out}: {len(index['runs'])} runs, {len(index['artefacts'])} artefacts, {index['bytes']:,} bytes")
    elif args.what == "run":
        publish.publish_run(Path(args.paths[0]), Path(args.out))
    else:
        publish.publish_folder(Path(args.paths[0]), Path(args.out))


def cmd_verify(args) -> int:
    from kx_tasks.core import publish, scratch, verify

    record = Path(args.run)
    out = Path(args.out) if args.out else Path(scratch.SCRATCH) / "verify" / record.relative_to(record.parents[2])
    publish.records_of(record)  # a published run, or a one-line error
    print("\n".join(verify.provenance_lines(record)), file=sys.stderr)  # stdout: the table of equal / different
    with scratch.claim(out, {"verify": str(record)}):
        results = verify.verify(record, out, Path(args.data_dir))
    for part, differences in results.items():
        print(f"{part:32s} {'equal' if not differences else 'different'}")
        for d in differences:
            print(f"    {d}")
    return 0 if not any(results.values()) else 1


def cmd_judge(args) -> None:
    from kx_tasks.core import report

    tasks = discover()
    if args.task not in tasks:
        raise TaskError(f"unknown task '{args.task}' (installed: {', '.join(tasks)})")
    plan = Plan.from_dict(json.loads(args.plan))
    report.judge_look(tasks, args.task, plan, args.look, [Path(p) for p in args.run_dirs], Path(args.out))


def cmd_shakedown(args) -> int:
    from kx_tasks.core import shakedown

    only = [t for t in (args.tasks or "").split(",") if t]
    out = Path(args.out) if args.out else None
    record, written = shakedown.shakedown(args.config, out, Path(args.repo), args.timeout, only)
    runs = shakedown.run_lines(record)
    print(
        f"\nshake-down of {' '.join(record['config'])} on {record['device']} ({record['host']['cpu']}), "
        f"{record['wall_s'] / 60:.1f} min:"
    )
    print("\n".join(runs))
    print(f"calibrated resources: {written}")
    return 0 if all(line.startswith("passed") for line in runs) else 1


def add_job_args(s: argparse.ArgumentParser) -> None:
    s.add_argument("--params", help="parameters as JSON")
    s.add_argument("--device", default="cpu", choices=stages.DEVICES)
    s.add_argument("--threads", type=int, default=None)
    s.add_argument("--input", action="append", default=[], help="NAME=PATH, repeatable")
    s.add_argument("--out", required=True)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kx", description="Reproductions of Scientific Spaces posts.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="installed tasks and artefacts").set_defaults(fn=cmd_list)
    for name, fn, text in (
        ("info", cmd_info, "a task's variants, stages, parameters and claims"),
        ("schema", cmd_schema, "the JSON Schema of a task's parameters"),
    ):
        s = sub.add_parser(name, help=text)
        s.add_argument("task")
        if name == "info":
            s.add_argument("--config", action="append", help="also each job's resources under this config (repeatable)")
        s.set_defaults(fn=fn)

    s = sub.add_parser("check", help="check a config as the pipeline does, before any job")
    s.add_argument("config", nargs="+", help="config files, merged in order as --configfile merges them")
    s.set_defaults(fn=cmd_check)

    s = sub.add_parser("docs", help="regenerate (or check) every generated block of README.md and docs/")
    s.add_argument("--repo", default=".", help="the checkout (README.md, docs/, records/, config/paper.yaml)")
    s.add_argument("--check", action="store_true", help="only check that every block is up to date")
    s.set_defaults(fn=cmd_docs)

    s = sub.add_parser("readme", help="paste a side run's report (summary.md) into a block of a docs page")
    s.add_argument("--file", required=True, help="the page, e.g. docs/tasks/vae_cluster.md")
    s.add_argument("--summary", required=True, help="the report's summary.md")
    s.add_argument("--block", required=True, help="the block (kx:BLOCK:begin ... kx:BLOCK:end)")
    s.set_defaults(fn=cmd_readme)

    s = sub.add_parser("lock", help="check that requirements.lock pins what pyproject.toml asks for")
    s.add_argument("--check", action="store_true", required=True)
    s.add_argument("--pyproject", default="pyproject.toml")
    s.add_argument("--lock", default="requirements.lock")
    s.set_defaults(fn=cmd_lock)

    s = sub.add_parser("run", help="run one task outside Snakemake (same code path as the rules)")
    s.add_argument("task")
    s.add_argument("--variant")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--config",
        action="append",
        help="a kx config YAML (e.g. config/smoke.yaml), repeatable (merged in order); default config/config.yaml",
    )
    s.add_argument("--out", help="run directory (default results/scratch/TASK/VARIANT/seedS; never results/runs)")
    s.add_argument("--data-dir", default="results/data", help="where prepared .npz datasets live")
    s.set_defaults(fn=cmd_run)

    s = sub.add_parser("stage", help="run one stage (used by the Snakemake rules)")
    s.add_argument("stage", choices=stages.STAGES)
    s.add_argument("task")
    s.add_argument("--variant", required=True)
    s.add_argument("--seed", type=int, required=True)
    s.add_argument(
        "--expect", action="append", default=[], help="ARTEFACT=RUNHASH: the run hash an artefact input must carry"
    )
    add_job_args(s)
    s.set_defaults(fn=cmd_stage)

    s = sub.add_parser("artefact", help="build one artefact (used by the Snakemake rule artefact)")
    s.add_argument("name")
    s.add_argument("--key", required=True, help="seed<S> or shared")
    add_job_args(s)
    s.set_defaults(fn=cmd_artefact)

    s = sub.add_parser("data", help="fetch, verify and convert one dataset to .npz")
    s.add_argument("dataset")
    s.add_argument("--out", required=True)
    s.add_argument("--source", help="local directory with the published files (default: $KX_DATA_DIR)")
    s.add_argument("--downloads", default="results/downloads")
    s.set_defaults(fn=cmd_data)

    s = sub.add_parser("report", help="gather metrics, judge claims, write the report pages and tables")
    s.add_argument("--out", help="the report's folder (with --records: default results/report_records/NAME)")
    s.add_argument("run_dirs", nargs="*", help="results/runs/TASK/VARIANT/seedS directories")
    s.add_argument("--records", help="a records folder (records/NAME): its published runs, looks and plans")
    s.add_argument(
        "--beside", action="append", default=[], help="another records folder whose verdicts the overview shows too"
    )
    s.add_argument("--partial", action="store_true", help="list runs without metrics as failed (after --keep-going)")
    s.add_argument("--plans", help="each task's looks as JSON (kx_tasks.core.looks.Plan; default one look)")
    s.set_defaults(fn=cmd_report)

    s = sub.add_parser("publish", help="copy a run's or artefact's small files under a records folder (rules publish*)")
    s.add_argument("what", choices=("run", "artefact", "index"))
    s.add_argument(
        "paths", nargs="*", help="run: results/runs/TASK/VARIANT/seedS; artefact: its folder; index: look files"
    )
    s.add_argument("--out", required=True, help="the published folder (index: the records folder)")
    s.add_argument("--config", help="index: the config the runs came from, as JSON")
    s.add_argument("--plans", help="index: each task's looks as JSON")
    s.set_defaults(fn=cmd_publish)

    s = sub.add_parser("verify", help="rerun one published run from scratch and compare it with its record")
    s.add_argument("run", help="a published run: records/NAME/runs/TASK/VARIANT/seedS")
    s.add_argument("--out", help="where the rerun writes (default results/scratch/verify/TASK/VARIANT/seedS)")
    s.add_argument("--data-dir", default="results/data", help="where prepared .npz datasets live")
    s.set_defaults(fn=cmd_verify)

    s = sub.add_parser("judge", help="decide after a look which variants run the next look's seeds (rule judge)")
    s.add_argument("task")
    s.add_argument("--look", type=int, required=True, help="the look just finished (1-based)")
    s.add_argument("--plan", required=True, help="the task's looks as JSON (kx_tasks.core.looks.Plan)")
    s.add_argument("--out", required=True)
    s.add_argument("run_dirs", nargs="+", help="the look's runs: results/runs/TASK/VARIANT/seedS")
    s.set_defaults(fn=cmd_judge)

    s = sub.add_parser("shakedown", help="every variant of a config at full size for a few steps; calibrates resources")
    s.add_argument("config", nargs="+", help="config files, merged in order as --configfile merges them")
    s.add_argument("--out", help=f"scratch folder (default {stages.RUNS.split('/')[0]}/scratch/shakedown/STEM)")
    s.add_argument("--repo", default=".", help="the checkout whose config/calibration/ gets the resources file")
    s.add_argument("--timeout", type=float, default=3600.0, help="seconds one attempt of one job may take")
    s.add_argument(
        "--tasks",
        help="only these tasks or runs, comma-separated: TASK or TASK/VARIANT (the others' calibrations are kept)",
    )
    s.set_defaults(fn=cmd_shakedown)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        code = args.fn(args)
    except (ConfigError, TaskError, DataError, DocsError) as e:
        print(f"kx: error: {e}", file=sys.stderr)
        return 2
    except short_run.Stopped as e:  # a shake-down's planned stop after a checkpoint: the next attempt resumes
        print(f"kx: {e}", file=sys.stderr)
        return short_run.STOPPED_EXIT
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
