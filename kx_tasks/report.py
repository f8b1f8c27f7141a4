"""The report: every run's metrics gathered into summary.csv, every claim judged, one self-contained HTML page.

Figures are embedded as base64 PNGs so index.html works offline and can be mailed as one file.
"""

from __future__ import annotations

import base64
import html
import logging
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from kx_tasks import __version__
from kx_tasks.claims import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, Summary
from kx_tasks.io import atomic_path, read_json, write_text
from kx_tasks.plotting import read_caption
from kx_tasks.records import git_commit
from kx_tasks.registry import Task, TaskError

log = logging.getLogger("kx")

COLUMNS = ["task", "variant", "seed", "metric", "value"]


def collect(eval_dirs: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics: one row per run and metric, runs: one row per run with its record)."""
    rows, runs = [], []
    for d in eval_dirs:
        record = read_json(d / "run.json")
        metrics = read_json(d / "metrics.json")
        key = {"task": record["task"], "variant": record["variant"], "seed": record["seed"]}
        rows += [{**key, "metric": m, "value": v} for m, v in metrics.items()]
        train = d.parent / "train" / "run.json"
        train_s = read_json(train)["wall_time_s"] if train.exists() else float("nan")
        runs.append(
            {
                **key,
                "dir": str(d),
                "train_s": train_s,
                "evaluate_s": record["wall_time_s"],
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
                    out.append(
                        {
                            **row,
                            "measured": "missing",
                            "verdict": INCONCLUSIVE,
                            "reason": f"no run reported '{claim.metric}'",
                        }
                    )
                    continue
                values = table[claim.metric].to_numpy()
                baseline = getattr(claim.judge, "baseline", None)
                base = table[baseline].to_numpy() if baseline in table else None
                verdict = claim.judge.judge(values, base)
                out.append(
                    {
                        **row,
                        "measured": Summary.of(values).text(),
                        "verdict": verdict.verdict,
                        "reason": verdict.reason,
                    }
                )
    return pd.DataFrame(out)


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    caption = html.escape(read_caption(path))
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(path.name)}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _table(df: pd.DataFrame, index: bool = False) -> str:
    return df.to_html(index=index, escape=True, border=0, classes="t", na_rep="–")


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table.t{border-collapse:collapse;margin:.6em 0;font-size:13px} .t td,.t th{padding:3px 8px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top} .t th{background:#f5f5f5}
.reproduced{color:#176f2c;font-weight:600} .not{color:#b3261e;font-weight:600}
.inconclusive{color:#8a6d00;font-weight:600}
figure{display:inline-block;margin:.5em 1em .5em 0;max-width:520px} figure img{max-width:100%}
figcaption{font-size:12px;color:#555} .meta{color:#666;font-size:12px}
"""

VERDICT_CLASS = {REPRODUCED: "reproduced", NOT_REPRODUCED: "not", INCONCLUSIVE: "inconclusive"}


def render(tasks: dict[str, Task], metrics: pd.DataFrame, runs: pd.DataFrame, claims: pd.DataFrame) -> str:
    counts = claims["verdict"].value_counts().to_dict() if len(claims) else {}
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>kx report</title><style>{STYLE}</style></head><body>",
        "<h1>kx: Scientific Spaces reproductions</h1>",
        f"<p class='meta'>kx {__version__}, commit {html.escape(str(git_commit()))}, generated "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}. {len(runs)} runs. Claims: "
        + ", ".join(f"{counts.get(v, 0)} {v}" for v in (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE))
        + ". Every number below is read from the runs' metrics.json files.</p>",
    ]
    for name, task_runs in runs.groupby("task"):
        task = tasks[name]
        parts.append(f"<h2 id='{name}'>{html.escape(name)}: {html.escape(task.summary)}</h2>")
        parts.append(f"<p>Post: <a href='{html.escape(task.post_url)}'>{html.escape(task.post_url)}</a></p>")
        c = claims[claims.task == name].copy()
        if len(c):
            c["verdict"] = [f"<span class='{VERDICT_CLASS[v]}'>{v}</span>" for v in c["verdict"]]
            shown = c[["claim", "source", "statement", "variant", "rule", "measured", "verdict", "reason"]]
            # Text columns were escaped by _escape_claims; only the verdict carries markup.
            parts.append("<h3>Claims</h3>" + shown.to_html(index=False, escape=False, border=0, classes="t"))
        hook = getattr(task, "report_tables", None)
        if hook is not None:
            for title, table in hook(metrics[metrics.task == name]).items():
                parts.append(f"<h3>{html.escape(title)}</h3>" + _table(table, index=True))
        parts.append("<h3>Figures</h3>")
        for _, vr in task_runs.groupby("variant"):
            first = Path(vr.iloc[0]["dir"])  # figures of the first seed; all seeds' are in results/runs
            for png in sorted(first.glob("*.png")):
                parts.append(_img(png))
        parts.append("<h3>Runs</h3>" + _table(task_runs.drop(columns=["task"])))
    parts.append("</body></html>")
    return "\n".join(parts)


def _escape_claims(claims: pd.DataFrame) -> pd.DataFrame:
    out = claims.copy()
    for col in ("statement", "rule", "measured", "reason"):
        out[col] = out[col].map(html.escape)
    return out


def build(tasks: dict[str, Task], eval_dirs: list[Path], out_dir: Path) -> pd.DataFrame:
    metrics, runs = collect(eval_dirs)
    claims = judge_claims(tasks, metrics)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "summary.csv", suffix=".csv") as tmp:
        metrics.to_csv(tmp, index=False, float_format="%.10g")
    with atomic_path(out_dir / "claims.csv", suffix=".csv") as tmp:
        claims.to_csv(tmp, index=False)
    write_text(
        out_dir / "index.html",
        render(tasks, metrics, runs, _escape_claims(claims) if len(claims) else claims),
    )
    for row in claims.itertuples():
        print(f"{row.claim:24s} {row.variant:10s} {row.verdict:15s} {row.measured}  [{row.rule}] {row.reason}")
    log.info("report: %d runs, %d claims -> %s", len(runs), len(claims), out_dir / "index.html")
    return claims
