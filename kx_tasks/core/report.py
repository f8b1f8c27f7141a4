"""The report: every run's metrics gathered into summary.csv, every claim judged (claims.csv), and pages rendered
from Jinja2 templates (kx_tasks/core/templates): index.html with the verdict table of every task, one page per task
with its claims, tables and figures, and summary.md, the same tables in Markdown for the README (`kx readme`).

Figures are embedded as base64 PNGs so the pages work offline; each task's figures sit on that task's page only
(the first seed of each variant; every seed's are in results/runs), so no page carries every figure.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from kx_tasks import __version__
from kx_tasks.core import stages
from kx_tasks.core.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Summary
from kx_tasks.core.io import atomic_path, read_json, write_text
from kx_tasks.core.records import TIMINGS, git_commit
from kx_tasks.core.registry import Task, TaskError, resolve
from kx_tasks.shared.plotting import read_caption

log = logging.getLogger("kx")

COLUMNS = ["task", "variant", "seed", "metric", "value"]
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
VERDICT_CLASS = {REPRODUCED: "reproduced", NOT_REPRODUCED: "not", INCONCLUSIVE: "inconclusive"}
CLAIM_COLUMNS = ["claim", "source", "variant", "rule", "measured", "verdict", "reason"]


def collect(run_dirs: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics: one row per run and metric, runs: one row per run with its record and stage wall times)."""
    rows, runs = [], []
    for d in run_dirs:
        evaluated = d / stages.FOLDERS["evaluate"]
        record = read_json(evaluated / "run.json")
        metrics = read_json(evaluated / "metrics.json")
        if (evaluated / TIMINGS).exists():  # timing.* metrics, kept apart by the runner
            metrics.update(read_json(evaluated / TIMINGS))
        key = {"task": record["task"], "variant": record["variant"], "seed": record["seed"]}
        rows += [{**key, "metric": m, "value": v} for m, v in metrics.items()]
        walls = {}
        for stage in stages.STAGES:
            path = d / stages.FOLDERS[stage] / "run.json"
            if path.exists():
                walls[f"{stage}_s"] = read_json(path)["wall_time_s"]
        runs.append(
            {
                **key,
                "dir": str(evaluated),
                **walls,
                "device": record["device"],
                "config_hash": record["config_hash"],
                "git_commit": record["git_commit"],
            }
        )
    metrics = pd.DataFrame(rows, columns=COLUMNS).sort_values(COLUMNS[:4], ignore_index=True)
    return metrics, pd.DataFrame(runs).sort_values(["task", "variant", "seed"], ignore_index=True)


def judge_claims(tasks: dict[str, Task], metrics: pd.DataFrame) -> pd.DataFrame:
    out = []
    for name, part in metrics.groupby("task"):
        if name not in tasks:
            raise TaskError(f"results hold runs of task '{name}', which is not installed")
        for claim in tasks[name].claims:
            for variant, runs in part.groupby("variant"):
                if claim.variants is not None and variant not in claim.variants:
                    continue
                table = runs.pivot(index="seed", columns="metric", values="value")
                row = {
                    "task": name,
                    "claim": claim.id,
                    "source": claim.source,
                    "statement": claim.statement,
                    "variant": variant,
                    "rule": claim.rule(),
                    "n": len(table),
                }
                if claim.metric not in table:
                    reason = f"no run reported '{claim.metric}'"
                    out.append({**row, "measured": "missing", "verdict": INCONCLUSIVE, "reason": reason})
                    continue
                values = table[claim.metric].to_numpy()
                baseline = getattr(claim.judge, "baseline", None)
                base = table[baseline].to_numpy() if baseline in table else None
                verdict = claim.judge.judge(values, base)
                measured = Summary.of(values).text()
                out.append({**row, "measured": measured, "verdict": verdict.verdict, "reason": verdict.reason})
    return pd.DataFrame(
        out,
        columns=["task", "claim", "source", "statement", "variant", "rule", "n", "measured"] + ["verdict", "reason"],
    )


MEAN_STD = "{mean:.4g} ± {std:.2g}"


def mean_std_table(
    metrics: pd.DataFrame, index: list[str] | str, columns: list[str] | str, fmt: str = MEAN_STD
) -> pd.DataFrame:
    """The shared "mean ± std over seeds" table: rows `index`, columns `columns` (both columns of `metrics`, which
    holds one row per seed in `value`); each cell is `fmt` filled with mean, std (0 for one seed) and n.
    Missing cells are "–"."""
    index = [index] if isinstance(index, str) else list(index)
    columns = [columns] if isinstance(columns, str) else list(columns)
    g = metrics.groupby(index + columns)["value"].agg(["mean", "std", "count"]).reset_index()
    g["cell"] = [
        fmt.format(mean=m, std=s, n=n) for m, s, n in zip(g["mean"], g["std"].fillna(0.0), g["count"], strict=True)
    ]
    out = g.pivot(index=index, columns=columns, values="cell")
    out.columns.name = None
    return out.fillna("–")


def markdown_table(df: pd.DataFrame, index: bool = False) -> str:
    """A GitHub-flavoured Markdown table ('|' in cells escaped)."""
    df = df.reset_index() if index else df
    cells = [[str(c) for c in df.columns]] + [[str(v) for v in row] for row in df.itertuples(index=False)]
    cells = [[c.replace("|", "\\|").replace("\n", " ") for c in row] for row in cells]
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells[1:]])


def task_tables(task: Task, metrics: pd.DataFrame) -> dict[str, pd.DataFrame]:
    if task.report_tables is None:
        return {}
    hook = resolve(task.report_tables, f"task '{task.name}', report_tables")
    tables = hook(metrics[metrics.task == task.name])
    # Row labels become columns, so the HTML and Markdown tables show them the same way.
    return {t: df if isinstance(df.index, pd.RangeIndex) else df.reset_index() for t, df in tables.items()}


def figure(path: Path) -> dict:
    return {
        "name": path.stem,
        "data": base64.b64encode(path.read_bytes()).decode(),
        "caption": read_caption(path),
    }


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("kx_tasks.core", "templates"), autoescape=select_autoescape(["html", "html.j2"])
    )
    env.filters["table"] = lambda df, index=False: df.to_html(
        index=index, escape=True, border=0, classes="t", na_rep="–"
    )
    env.globals["verdict_class"] = VERDICT_CLASS
    return env


def counts_of(claims: pd.DataFrame) -> dict[str, int]:
    found = claims["verdict"].value_counts().to_dict() if len(claims) else {}
    return {v: int(found.get(v, 0)) for v in VERDICTS}


def build(tasks: dict[str, Task], run_dirs: list[Path], out_dir: Path) -> pd.DataFrame:
    metrics, runs = collect(run_dirs)
    claims = judge_claims(tasks, metrics)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "summary.csv", suffix=".csv") as tmp:
        metrics.to_csv(tmp, index=False, float_format="%.10g")
    with atomic_path(out_dir / "claims.csv", suffix=".csv") as tmp:
        claims.to_csv(tmp, index=False)

    env = environment()
    meta = {
        "version": __version__,
        "commit": git_commit(),
        "generated": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}",
        "runs": len(runs),
        "counts": counts_of(claims),
    }
    pages, markdown = [], []
    for name, task_runs in runs.groupby("task"):
        task = tasks[name]
        task_claims = claims[claims.task == name]
        tables = task_tables(task, metrics)
        figures = []
        for variant, vr in task_runs.groupby("variant"):
            first = Path(vr.iloc[0]["dir"])  # figures of the first seed; all seeds' are in results/runs
            figures += [{"variant": variant, **figure(png)} for png in sorted(first.glob("*.png"))]
        page = {"task": task, "claims": task_claims, "counts": counts_of(task_claims), "file": f"{name}.html"}
        pages.append(page)
        write_text(
            out_dir / page["file"],
            env.get_template("task.html.j2").render(
                meta=meta, page=page, tables=tables, figures=figures, runs=task_runs.drop(columns=["task"])
            ),
        )
        markdown.append(task_markdown(task, task_claims, tables))
    write_text(out_dir / "index.html", env.get_template("index.html.j2").render(meta=meta, pages=pages))
    write_text(out_dir / "summary.md", "\n\n".join(markdown) + "\n")
    for row in claims.itertuples():
        print(f"{row.claim:24s} {row.variant:10s} {row.verdict:15s} {row.measured}  [{row.rule}] {row.reason}")
    log.info("report: %d runs, %d claims -> %s", len(runs), len(claims), out_dir / "index.html")
    return claims


def task_markdown(task: Task, claims: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> str:
    """The task's section of summary.md: its claims and its tables, as the README shows them."""
    shown = claims[CLAIM_COLUMNS].copy()
    shown["claim"] = [f"`{c}`" for c in shown["claim"]]
    shown["rule"] = [f"`{r}`" for r in shown["rule"]]
    shown["verdict"] = [f"**{v}**" for v in shown["verdict"]]
    parts = [f"#### {task.name}: claims", markdown_table(shown)]
    for title, table in tables.items():
        parts += [f"#### {task.name}: {title}", markdown_table(table)]
    return "\n\n".join(parts)
