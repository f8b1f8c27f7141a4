"""The report: every run's metrics gathered into summary.csv, every claim judged (claims.csv), and pages rendered
from Jinja2 templates (kx_tasks/core/templates): index.html with the verdict table of every task, one page per task
with its claims, tables and figures, and summary.md, the same tables in Markdown (the docs' blocks come from the same
functions: `kx docs`).

Figures are embedded as base64 PNGs so the pages work offline; each task's figures sit on that task's page only
(the first seed of each variant; every seed's are in results/runs), so no page carries every figure.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import math
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from kx_tasks import __version__
from kx_tasks.core import stages
from kx_tasks.core.claims import (
    CONTRADICTED,
    DECISIONS,
    INCONCLUSIVE,
    NO_EFFECT,
    REPRODUCED,
    VERDICTS,
    BestAmong,
    Summary,
    Verdict,
)
from kx_tasks.core.docs import OVERVIEW
from kx_tasks.core.io import atomic_path, read_json, read_jsonl, read_yaml, write_text
from kx_tasks.core.looks import DEFAULT_MAX_SEEDS, Plan, claim_variants
from kx_tasks.core.plotting import read_caption
from kx_tasks.core.records import TIMINGS, git_commit
from kx_tasks.core.registry import Task, TaskError, resolve
from kx_tasks.core.settings import run_hash
from kx_tasks.core.stats import ALPHA, holm, seeds_to_decide

log = logging.getLogger("kx")

COLUMNS = ["task", "variant", "seed", "metric", "value"]
VERDICT_CLASS = {REPRODUCED: "reproduced", CONTRADICTED: "not", NO_EFFECT: "noeffect", INCONCLUSIVE: "inconclusive"}
CLAIM_COLUMNS = ["claim", "source", "variant", "rule", "measured", "verdict", "reason", "comparison"]
# A comparison's numbers (kx_tasks.core.stats), in claims.csv under these names for tools.
COMPARISON = [
    "effect",
    "effect_low",
    "effect_high",
    "p_improve",
    "p_improve_low",
    "p_improve_high",
    "delta",
    "mde",
    "seeds_needed",
    "sd",
    "p",
    "p_adjusted",
    "look",
    "alpha_look",
    "verdict_unadjusted",
]
VERDICT_OBJECT = "_verdict"  # the judged Verdict, kept beside its row until the multiplicity adjustment
CLAIM_TABLE = [
    "task",
    "claim",
    "source",
    "statement",
    "variant",
    "rule",
    "n",
    "measured",
    "verdict",
    "reason",
    *COMPARISON,
    VERDICT_OBJECT,
]


def stage_hashes(run_dir: Path) -> dict[str, str]:
    """stage -> run hash of every finished stage of a run (see kx_tasks.core.settings.Run.run_hash)."""
    out = {}
    for stage in stages.STAGES:
        d = run_dir / stages.FOLDERS[stage]
        if (d / "run.json").exists():
            record = read_record(d / "run.json")
            if record.get("run_hash"):
                out[stage] = record["run_hash"]
            elif (d / "config.yaml").exists():
                out[stage] = run_hash(read_yaml(d / "config.yaml"))
    return out


def run_problem(run_dir: Path, task: Task) -> tuple[str, str] | None:
    """(stage, what is wrong) when a run has no metrics the report may show: a stage that did not finish, or
    stages produced by different configs (a stale evaluate left behind by a failed rerun); None when it is whole."""
    for stage in task.stage_names():
        if not (run_dir / stages.FOLDERS[stage] / "run.json").exists():
            return stage, "did not finish"
    if not (run_dir / stages.FOLDERS["evaluate"] / "metrics.json").exists():
        return "evaluate", "wrote no metrics"
    hashes = stage_hashes(run_dir)
    if len(set(hashes.values())) > 1:
        return "all", "stages of different configs (" + ", ".join(f"{k} {v}" for k, v in hashes.items()) + ")"
    return None


def parse_run_dir(run_dir: Path) -> dict:
    """task, variant and seed of results/runs/TASK/VARIANT/seedS (for a run that left no record)."""
    if not re.fullmatch(r"seed\d+", run_dir.name) or len(run_dir.parts) < 3:
        raise TaskError(
            f"{run_dir}: not a run folder (the report reads TASK/VARIANT/seedS folders, "
            f"e.g. {stages.RUNS}/det/float64/seed0)"
        )
    return {"task": run_dir.parent.parent.name, "variant": run_dir.parent.name, "seed": int(run_dir.name[4:])}


def check_run_folder(run_dir: Path) -> None:
    """A run folder the report may read: a directory whose stage folders are the pipeline's own (no symbolic link
    that could put another run's stage in its place)."""
    if run_dir.is_symlink() or (run_dir.exists() and not run_dir.is_dir()):
        raise TaskError(f"{run_dir}: not a run folder the pipeline wrote (a symbolic link, or not a directory)")
    for stage in stages.STAGES:
        d = run_dir / stages.FOLDERS[stage]
        if d.is_symlink():
            raise TaskError(
                f"{d}: a symbolic link (to {os.readlink(d)}); the report reads only stage folders the pipeline wrote"
            )


def read_record(path: Path):
    """A run's JSON record or metrics; an unreadable one is a one-line error naming the file."""
    try:
        return read_json(path)
    except (OSError, ValueError) as e:
        raise TaskError(f"{path}: unreadable ({type(e).__name__}: {e}); rerun the stage that wrote it") from None


def collect(run_dirs: list[Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics: one row per run and metric, runs: one row per run with its record and stage wall times), for runs
    that `run_problem` found whole."""
    rows, runs = [], []
    for d in run_dirs:
        evaluated = d / stages.FOLDERS["evaluate"]
        record = read_record(evaluated / "run.json")
        metrics = read_record(evaluated / "metrics.json")
        if (evaluated / TIMINGS).exists():  # timing.* metrics, kept apart by the runner
            metrics.update(read_record(evaluated / TIMINGS))
        key = {"task": record["task"], "variant": record["variant"], "seed": record["seed"]}
        rows += [{**key, "metric": m, "value": v} for m, v in metrics.items()]
        walls, core_s = {}, 0.0
        for stage in stages.STAGES:
            path = d / stages.FOLDERS[stage] / "run.json"
            if path.exists():
                stage_record = read_record(path)
                walls[f"{stage}_s"] = stage_record["wall_time_s"]
                core_s += stage_core_seconds(stage_record)
        runs.append(
            {
                **key,
                "dir": str(evaluated),
                **walls,
                "core_s": core_s,
                "device": record["device"],
                "config_hash": record["config_hash"],
                "run_hash": record.get("run_hash"),
                "git_commit": record["git_commit"],
                "params": (read_yaml(evaluated / "config.yaml") or {}).get("params", {})
                if (evaluated / "config.yaml").exists()
                else {},
            }
        )
    metrics = pd.DataFrame(rows, columns=COLUMNS).sort_values(COLUMNS[:4], ignore_index=True)
    runs = pd.DataFrame(runs, columns=None if runs else ["task", "variant", "seed", "dir", "params"])
    return metrics, runs.sort_values(["task", "variant", "seed"], ignore_index=True)


def stage_core_seconds(record: dict) -> float:
    """A stage's core-seconds: its CPU time (run.json's cpu_time_s), or for a record without one its wall time ×
    threads (which a machine busy with other work inflates)."""
    if record.get("cpu_time_s"):
        return float(record["cpu_time_s"])
    return record["wall_time_s"] * (record.get("threads") or 1)


NO_FINISHED_RUNS = "no finished runs"


def unjudged_claims(tasks: dict[str, Task], run_dirs: list[Path], metrics: pd.DataFrame) -> pd.DataFrame:
    """The claims of variants asked for (a run folder given) that no finished run reports: kept, as inconclusive,
    so that a failure never makes a claim vanish from claims.csv and the page."""
    done = set(zip(metrics["task"], metrics["variant"], strict=True)) if len(metrics) else set()
    asked = dict.fromkeys((k["task"], k["variant"]) for k in map(parse_run_dir, run_dirs))
    out = []
    for name, variant in asked:
        if (name, variant) in done:
            continue
        for claim in tasks[name].claims:
            if claim.variants is None or variant in claim.variants:
                out.append(
                    {
                        "task": name,
                        "claim": claim.id,
                        "source": claim.source,
                        "statement": claim.statement,
                        "variant": variant,
                        "rule": claim.rule(),
                        "n": 0,
                        "measured": NO_FINISHED_RUNS,
                        "verdict": INCONCLUSIVE,
                        "reason": f"no run of {variant} finished (listed under the runs that did not finish)",
                    }
                )
    return pd.DataFrame(out, columns=CLAIM_TABLE)


def comparison(verdict, judge, max_seeds: int = DEFAULT_MAX_SEEDS) -> dict:
    """The comparison columns of a verdict with statistics: effect and interval, P(A > B), δ, mde (at the level it
    was decided at), seeds needed (a fixed-size study at α; "> max_seeds" beyond the task's cap), the p of the
    claim's own test (the family the report adjusts) and the verdict object the adjustment re-reads."""
    st = verdict.stats
    if st is None:
        return {}
    needed = seeds_to_decide(st, verdict.delta) if st.n > 1 else math.inf
    return {
        "effect": st.effect,
        "effect_low": st.effect_low,
        "effect_high": st.effect_high,
        "sd": st.sd,
        "p_improve": st.p_improve,
        "p_improve_low": st.p_improve_low,
        "p_improve_high": st.p_improve_high,
        "delta": verdict.delta,
        "mde": st.mde(getattr(judge, "alpha", ALPHA)),
        "seeds_needed": f"> {max_seeds}" if needed > max_seeds else str(int(needed)),
        "p": verdict.p,
        VERDICT_OBJECT: verdict,
    }


def comparison_text(row) -> str:
    """One cell for the page and summary.md: effect [interval]; P(A>B) [CI]; δ; mde; seeds needed; p → Holm; and,
    for a task with looks, the look it was decided at (or the last it reached) with that look's level."""
    if pd.isna(row.effect):
        return ""
    parts = [
        f"effect {row.effect:+.3g} [{row.effect_low:+.3g}, {row.effect_high:+.3g}]",
        f"P(A>B) {row.p_improve:.2f} [{row.p_improve_low:.2f}, {row.p_improve_high:.2f}]",
    ]
    if not pd.isna(row.delta):
        parts.append(f"δ {row.delta:.3g}")
    parts += [f"mde {row.mde:.3g}", f"seeds needed {row.seeds_needed}"]
    if not pd.isna(row.p):
        parts.append(f"p {row.p:.3g}, Holm {row.p_adjusted:.3g}")
    if not pd.isna(row.alpha_look) and (row.look > 1 or row.alpha_look < ALPHA):
        parts.append(f"look {int(row.look)} (n={int(row.n)}, α {row.alpha_look:.3g})")
    return "; ".join(parts)


def adjust_for_multiplicity(tasks: dict[str, Task], claims: pd.DataFrame) -> pd.DataFrame:
    """Holm over the test of every comparison in the report; each verdict is decided again at its adjusted p (the
    counts everywhere are of these verdicts; `verdict_unadjusted` keeps the raw ones). A comparison decided at a
    look's nominal level α_k enters the family as p·α/α_k (the p on the scale of α: below α exactly when p < α_k)."""
    claims = claims.copy()
    level = claims["alpha_look"].to_numpy(dtype=float)
    scale = np.where(np.isnan(level), 1.0, ALPHA / level)
    claims["p_adjusted"] = holm(np.minimum(1.0, claims["p"].to_numpy(dtype=float) * scale))
    claims["verdict_unadjusted"] = claims["verdict"]
    judges = {(t, c.id): c.judge for t, task in tasks.items() for c in task.claims}
    for i, row in claims.iterrows():
        verdict = row[VERDICT_OBJECT]
        if isinstance(verdict, Verdict) and not pd.isna(row.p_adjusted):
            again = judges[(row.task, row.claim)].adjusted(verdict, float(row.p_adjusted))
            claims.loc[i, ["verdict", "reason"]] = [again.verdict, again.reason]
    return claims.drop(columns=[VERDICT_OBJECT])


def as_run(params: dict, names: tuple[str, ...]) -> str:
    """The values of the parameters a claim's wording depends on, as the runs had them."""
    return "; ".join(f"{k} = {params.get(k)}" for k in names)


def task_plan(name: str, part: pd.DataFrame, plans: dict[str, Plan] | None) -> Plan:
    """The task's plan of looks (the config's, through `kx report --plans`), else one look at the seeds that ran."""
    if plans and name in plans:
        return plans[name]
    return Plan.single(part.groupby("variant")["seed"].agg(lambda s: sorted(set(s))).to_dict())


def judge_claims(
    tasks: dict[str, Task],
    metrics: pd.DataFrame,
    records: pd.DataFrame | None = None,
    plans: dict[str, Plan] | None = None,
    last_look: int | None = None,
) -> pd.DataFrame:
    """One verdict per claim and variant that ran. records: the runs table (collect), whose `params` give the
    settings that claims worded on a parameter (Claim.params) were read at. plans: each task's looks (default one
    look at the seeds that ran): a comparison is judged at each look in turn, on the seeds of that look, at the
    look's nominal level, and stops at the first decision; last_look: judge no further (the judging job)."""
    out = []
    for name, part in metrics.groupby("task"):
        if name not in tasks:
            raise TaskError(f"results hold runs of task '{name}', which is not installed")
        plan = task_plan(name, part, plans)
        present = set(part["variant"])
        for claim in tasks[name].claims:
            for variant in sorted(present):
                if claim.variants is not None and variant not in claim.variants:
                    continue
                statement = claim.statement
                if claim.params and records is not None:  # wording that depends on the run's settings: as they ran
                    ran = records[(records.task == name) & (records.variant == variant)]["params"]
                    said = sorted({as_run(p, claim.params) for p in ran})
                    statement += f" [as run: {' | '.join(said)}]"
                head = {"task": name, "claim": claim.id, "source": claim.source, "statement": statement}
                out.append({**head, **judge_at_looks(claim, variant, part, plan, last_look)})
    return pd.DataFrame(out, columns=CLAIM_TABLE)


def judge_at_looks(claim, variant: str, part: pd.DataFrame, plan: Plan, last_look: int | None = None) -> dict:
    """A claim on one variant through the plan's looks: a comparison on the seeds each look planned, at its nominal
    α, until a look decides it or no further look's runs are there; a threshold on every seed its variant ran."""
    if not hasattr(claim.judge, "adjusted"):
        return judge_one(claim, variant, part, claim.judge)
    names = claim_variants(claim, variant, set(part["variant"]))
    if not all(v in plan.seeds for v in names):  # runs the plan does not know: one look at what ran
        plan = task_plan("", part, None)
    row, seen = None, None
    for look, level in sorted(plan.levels(names).items()):
        if last_look is not None and look > last_look:
            break
        keep = {v: set(plan.seeds_at(v, look)) for v in names}
        mask = [s in keep.get(v, ()) for v, s in zip(part["variant"], part["seed"], strict=True)]
        sub = part[mask]
        ran = frozenset(zip(sub["variant"], sub["seed"], strict=True))
        if row is not None and ran == seen:  # this look's seeds did not run (a partial report): stop here
            break
        seen = ran
        row = judge_one(claim, variant, sub, dataclasses.replace(claim.judge, alpha=level), plan.max_seeds)
        if "effect" not in row:  # no comparison to make (a baseline that did not run, a missing metric)
            return row
        row.update(look=look, alpha_look=level)
        if row["verdict"] in DECISIONS:
            break
    return row


def judge_one(claim, variant: str, part: pd.DataFrame, judge, max_seeds: int = DEFAULT_MAX_SEEDS) -> dict:
    """One claim on one variant from the task's metrics `part` (one row per seed and metric), with `judge` (the
    claim's, or it at a look's level)."""
    table = part[part.variant == variant].pivot(index="seed", columns="metric", values="value")
    row = {"variant": variant, "rule": claim.rule(), "n": len(table)}
    if isinstance(judge, BestAmong):
        rows = part[(part.metric == claim.metric) & part.value.notna()]
        pool = {v: dict(zip(r.seed, r.value, strict=True)) for v, r in rows.groupby("variant")}
        reference = pool.get(judge.reference)
        verdict = judge.judge_pool(pool, claim.delta_for(list(reference.values()) if reference else None))
        measured = Summary.of(table[claim.metric].dropna()).text() if claim.metric in table else "missing"
        n = verdict.stats.n if verdict.stats is not None else row["n"]
        return {
            **row,
            **comparison(verdict, judge, max_seeds),
            "n": n,
            "measured": measured,
            "verdict": verdict.verdict,
            "reason": verdict.reason,
        }
    if claim.metric not in table or table[claim.metric].isna().all():
        return {**row, "measured": "missing", "verdict": INCONCLUSIVE, "reason": f"no run reported '{claim.metric}'"}
    baseline = getattr(judge, "baseline", None)
    other = getattr(judge, "variant", None)  # a baseline from another variant, paired by seed
    source = part[part.variant == other].pivot(index="seed", columns="metric", values="value") if other else table
    base_col = source[baseline].reindex(table.index) if baseline in source else None
    present = table[claim.metric].notna() & (base_col.notna() if base_col is not None else True)
    if not present.any():
        reason = f"no seed reported both '{claim.metric}' and its baseline"
        return {**row, "measured": "missing", "verdict": INCONCLUSIVE, "reason": reason}
    values = table.loc[present, claim.metric].to_numpy()
    base = base_col[present].to_numpy() if base_col is not None else None
    censored = []
    if hasattr(judge, "adjusted"):  # a comparison: judged with its smallest effect of interest
        verdict = judge.judge(values, base, claim.delta_for(base))
        censored = censored_seeds(claim, table.index[present], table, source)
        if censored and verdict.stats is not None:
            reason = (
                f"{verdict.reason}; not decided: censored at the budget ({claim.censored_by} = 0) in seed "
                f"{', '.join(map(str, censored))}, where the value is the budget, not a measurement"
            )
            verdict = Verdict(INCONCLUSIVE, reason, verdict.stats, math.nan, verdict.delta)
    else:
        verdict = judge.judge(values, base)
    measured = Summary.of(values).text()
    gone = [int(seed) for seed in table.index[~present]]
    note = f"missing in seed {', '.join(map(str, gone))}" if gone else ""
    out = {
        **row,
        **comparison(verdict, judge, max_seeds),
        "n": len(values),
        "measured": f"{measured}; {note}" if note else measured,
        "verdict": verdict.verdict,
        "reason": f"{verdict.reason} ({note})" if note else verdict.reason,
    }
    if censored and "seeds_needed" in out:  # more seeds measure the budget again: a longer budget decides it
        out["seeds_needed"] = "censored"
    return out


def judge_look(tasks: dict[str, Task], task: str, plan: Plan, look: int, run_dirs: list[Path], out: Path) -> dict:
    """The judging job after a look (Snakemake's checkpoint `judge`): its runs must all have finished; writes the
    open comparisons and the variants that run the next look's seeds to `out` (JSON)."""
    failed = unfinished_runs(tasks, run_dirs)
    if len(failed):
        names = "; ".join(f"{r.task}/{r.variant}/seed{r.seed}: {r.stage} {r.problem}" for r in failed.itertuples())
        raise TaskError(f"look {look} of {task} cannot be judged: {names}")
    metrics, _ = collect(run_dirs)
    decision = open_variants(tasks, metrics[metrics.task == task], {task: plan}, look)
    write_text(out, json.dumps(decision, indent=1, sort_keys=True) + "\n")
    for row in decision["open"]:
        p = "none" if row["p"] is None else f"{row['p']:.3g}"
        print(f"open after look {look}: {row['claim']} ({row['variant']}, n={row['n']}, p={p})")
    going = ", ".join(decision["continue"]) or "none"
    print(f"look {look} of {task}: {len(decision['open'])} open; the next look runs {going}")
    return decision


def censored_seeds(claim, seeds, table: pd.DataFrame, source: pd.DataFrame) -> list[int]:
    """The seeds where the claim's value or its baseline's is censored (claim.censored_by is 0 in either run)."""
    key = claim.censored_by
    if key is None:
        return []
    out = []
    for seed in seeds:
        flags = [t[key].get(seed) for t in (table, source) if key in t]
        if any(f is not None and not pd.isna(f) and f == 0 for f in flags):
            out.append(int(seed))
    return out


def open_variants(tasks: dict[str, Task], metrics: pd.DataFrame, plans: dict[str, Plan], look: int) -> dict:
    """The judging job's decision after `look`: the comparisons still open there (judged through the looks so far,
    unadjusted: the report's multiplicity adjustment comes after the last look) whose paired seeds grow at a later
    look, and the variants they compare, which run the next look's seeds."""
    claims = judge_claims(tasks, metrics, None, plans, last_look=look)
    still, variants = [], set()
    for row in claims.itertuples():
        if row.verdict != INCONCLUSIVE or pd.isna(row.alpha_look) or pd.isna(row.effect):
            continue  # decided, not a comparison, or one that cannot be made (its baseline's variant did not run)
        plan = plans[row.task]
        claim = next(c for c in tasks[row.task].claims if c.id == row.claim)
        names = claim_variants(claim, row.variant, set(metrics[metrics.task == row.task]["variant"]))
        if all(v in plan.seeds for v in names) and any(k > look for k in plan.levels(names)):
            p = None if pd.isna(row.p) else float(row.p)
            still.append({"claim": row.claim, "variant": row.variant, "n": int(row.n), "p": p})
            variants |= set(names)
    return {"look": look, "open": still, "continue": sorted(variants)}


MEAN_STD = "{mean:.4g} ± {std:.2g}"


def mean_std_table(
    metrics: pd.DataFrame, index: list[str] | str, columns: list[str] | str, fmt: str = MEAN_STD
) -> pd.DataFrame:
    """The shared "mean ± std over seeds" table: rows `index`, columns `columns` (both columns of `metrics`, which
    holds one row per seed in `value`); each cell is `fmt` filled with mean, std (0 for one seed) and n.
    Missing cells are "–"; a cell that some seeds of its variant did not report names them ("missing: seed 2")."""
    index = [index] if isinstance(index, str) else list(index)
    columns = [columns] if isinstance(columns, str) else list(columns)
    metrics = metrics[metrics["value"].notna()]
    g = metrics.groupby(index + columns).agg(
        mean=("value", "mean"), std=("value", "std"), count=("value", "count"), seeds=("seed", lambda x: set(x))
    )
    g = g.reset_index()
    by_variant = "variant" in index + columns and "variant" in metrics
    seeds_of = metrics.groupby("variant")["seed"].agg(set).to_dict() if by_variant else {}
    everyone = set(metrics["seed"]) if "seed" in metrics else set()
    cells = []
    for i, (m, s, n) in enumerate(zip(g["mean"], g["std"].fillna(0.0), g["count"], strict=True)):
        expected = seeds_of.get(g["variant"].iloc[i], everyone) if by_variant else everyone
        gone = sorted(expected - g["seeds"].iloc[i])
        cell = fmt.format(mean=m, std=s, n=n)
        cells.append(f"{cell} (missing: seed {', '.join(map(str, gone))})" if gone else cell)
    g["cell"] = cells
    out = g.pivot(index=index, columns=columns, values="cell")
    out.columns.name = None
    return out.fillna("–")


def variants_table(metrics: pd.DataFrame, shown, fmt: str = MEAN_STD) -> pd.DataFrame:
    """Variants × the metrics `shown` (those reported, in that order), each cell mean ± std over seeds."""
    table = mean_std_table(metrics[metrics.metric.isin(shown)], "variant", "metric", fmt=fmt)
    return table[[m for m in shown if m in table.columns]]


def seed_values(metrics: pd.DataFrame, variant: str, metric: str) -> pd.Series:
    """One variant's values of one metric, indexed by seed."""
    return metrics[(metrics.variant == variant) & (metrics.metric == metric)].set_index("seed")["value"]


def paired_difference(
    metrics: pd.DataFrame, variant: str, baseline: str, metric: str, scale: float = 1.0
) -> Summary | None:
    """`variant` − `baseline` in `metric`, paired by seed (times `scale`, e.g. 100 for points): mean, std and 95%
    t-interval over the seeds both report; None when no seed has both. Numbers: format them only when rendering."""
    diff = (seed_values(metrics, variant, metric) - seed_values(metrics, baseline, metric)).dropna() * scale
    return Summary.of(diff.to_numpy()) if not diff.empty else None


def train_evals(eval_dir: str | Path) -> list[dict]:
    """The evaluation rows (evals.jsonl) of the train stage of the run whose evaluate stage is `eval_dir` (the report's
    runs table gives that folder); [] when the train stage wrote none."""
    path = Path(eval_dir).parent / stages.FOLDERS["train"] / "evals.jsonl"
    return read_jsonl(path) if path.exists() else []


def seed_curves(runs: pd.DataFrame) -> dict[str, dict[str, np.ndarray]]:
    """Per variant of the report's runs table (in order): its seeds' training evaluation curves, cut to the shortest,
    as arrays seeds × checkpoints, one per column of the evaluation rows (`step`, `seconds`, `fd`, …). Variants whose
    runs wrote no evaluation rows are left out."""
    out = {}
    for variant in dict.fromkeys(runs["variant"]):
        found = [c for c in (train_evals(d) for d in runs[runs.variant == variant]["dir"]) if c]
        if found:
            n = min(len(c) for c in found)
            out[variant] = {key: np.array([[r[key] for r in c[:n]] for c in found]) for key in found[0][0]}
    return out


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


MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")  # [text](url) in a table cell, a link on the page


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("kx_tasks.core", "templates"), autoescape=select_autoescape(["html", "html.j2"])
    )
    env.filters["markdown_links"] = lambda df: MARKDOWN_LINK.sub(
        r'<a href="\2">\1</a>', df.to_html(index=False, escape=True, border=0, classes="t", na_rep="–")
    )
    env.filters["inline_markdown"] = lambda text: Markup(
        MARKDOWN_LINK.sub(r'<a href="\2">\1</a>', re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))
    )
    env.filters["table"] = lambda df, index=False: df.to_html(
        index=index, escape=True, border=0, classes="t", na_rep="–"
    )
    env.globals["verdict_class"] = VERDICT_CLASS
    return env


def outcomes(claims: pd.DataFrame) -> pd.DataFrame:
    """The outcome counts the report opens with: every claim and the posts' own (source "post"), each after Holm's
    adjustment (the verdicts) and before it (`verdict_unadjusted`), and how many the adjustment changed."""
    rows = []
    for label, part in (("all claims", claims), ("claims from the posts", claims[claims.source == "post"])):
        for when, column in (("adjusted (Holm)", "verdict"), ("unadjusted", "verdict_unadjusted")):
            counts = counts_of(part.assign(verdict=part[column]))
            rows.append({"claims": label, "verdicts": when, **counts, "total": len(part)})
    table = pd.DataFrame(rows)
    changed = claims[claims.verdict != claims.verdict_unadjusted]
    table.attrs["changed"] = len(changed)
    return table


def outcomes_markdown(claims: pd.DataFrame) -> str:
    table = outcomes(claims)
    return (
        "#### outcomes: the verdicts of this report, counted\n\n"
        + markdown_table(table)
        + f"\n\nHolm's adjustment over the report's {int(claims['p'].notna().sum())} tests changed "
        f"{table.attrs['changed']} verdicts."
    )


def compute_share(task: Task, runs: pd.DataFrame) -> str:
    """The share of the author's training the task's runs are (Task.author_compute: steps, or epochs × images), as
    its range over the variants that ran, with what it is counted on; "–" for a task without training."""
    if task.author_compute is None or not len(runs):
        return "–"
    share = resolve(task.author_compute, f"task '{task.name}', author_compute")
    defaults = task.params().model_dump()  # a run's config.yaml holds every parameter; a hand-made one may not
    found = [share(r.variant, {**defaults, **r.params}) for r in runs.drop_duplicates("variant").itertuples()]
    found = [f for f in found if f is not None]
    if not found:
        return "–"
    low, high = min(f[0] for f in found), max(f[0] for f in found)
    shown = f"{low:.2%}" if low == high else f"{low:.2%}–{high:.2%}"
    return f"{shown} ({'; '.join(dict.fromkeys(f[1] for f in found))})"


def outcome_cell(claims: pd.DataFrame) -> str:
    """A task's posts' claims by outcome: reproduced / contradicted / no effect / inconclusive."""
    counts = counts_of(claims[claims.source == "post"])
    return " / ".join(str(counts[v]) for v in VERDICTS)


def overview(tasks: dict[str, Task], judged: dict[str, tuple[pd.DataFrame, pd.DataFrame]]) -> pd.DataFrame:
    """One row per post (task): for each report in `judged` ({label: (claims, runs)}, e.g. the default run and the
    campaign), its posts' claims by outcome and the share of the author's training its runs are."""
    names = sorted({t for claims, _ in judged.values() for t in claims.task})
    rows = []
    for name in names:
        row = {"post": f"[{name}]({tasks[name].post_url})"}
        for label, (claims, runs) in judged.items():
            part = runs[runs.task == name] if len(runs) else runs
            ran = bool((claims.task == name).any())
            row[f"{label}: the post's claims ({' / '.join(VERDICTS)})"] = (
                outcome_cell(claims[claims.task == name]) if ran else "not run"
            )
            row[f"{label}: share of the author's training"] = compute_share(tasks[name], part)
            if "core_s" in part:
                row[f"{label}: core-hours"] = f"{part['core_s'].sum() / 3600:.2f}" if ran else "–"
        rows.append(row)
    return pd.DataFrame(rows)


def overview_table(
    tasks: dict[str, Task], judged: dict[str, tuple[pd.DataFrame, pd.DataFrame]], page: str = "{}.html"
) -> pd.DataFrame:
    """The table the README and the report open with: overview()'s rows with the post's link, the task's page
    (`page`: "{}.html" in the report, "docs/tasks/{}.md" in the README) and what kx checks of the post."""
    table = overview(tasks, judged)
    names = [re.match(r"\[(\w+)\]", p)[1] for p in table["post"]]  # overview's post column: [task](url)
    urls = [tasks[n].post_url for n in names]
    table["post"] = [f"[{u.split('//')[-1]}]({u})" for u in urls]
    table.insert(1, "task", [f"[{n}]({page.format(n)})" for n in names])
    table["what kx checks"] = [tasks[n].summary for n in names]
    # Every run's claim counts first, side by side, then the shares and core-hours, the description last: the
    # answer stays in view however narrow the window (the table scrolls sideways for the rest).
    kinds = ("the post's claims", "share of the author's training", "core-hours")
    ordered = [c for kind in kinds for c in table.columns if c.endswith(kind) or f": {kind}" in c]
    return table[["post", "task", *ordered, "what kx checks"]]


def side_by_side(
    claims: pd.DataFrame, label: str, beside: dict[str, tuple[pd.DataFrame, pd.DataFrame]]
) -> pd.DataFrame:
    """The posts' claims this report judged, with each other report's verdict of the same claim and variant beside
    this one's (n, measured value, and for a comparison its effect and interval): how the verdicts moved."""
    mine = claims[claims.source == "post"]
    table = mine[["task", "claim", "variant"]].copy()
    for other, (theirs, _) in beside.items():
        found = theirs.drop_duplicates(["claim", "variant"]).set_index(["claim", "variant"])["verdict"]
        table[other] = [found.get((c, v), "not run") for c, v in zip(mine.claim, mine.variant, strict=True)]
    table[label] = mine["verdict"].to_numpy()
    table["n"] = mine["n"].to_numpy()
    table["measured"] = mine["measured"].to_numpy()
    table["comparison"] = mine["comparison"].to_numpy()
    return table.reset_index(drop=True)


def overview_markdown(table: pd.DataFrame, note: str) -> str:
    head = f"#### {OVERVIEW}: each post's claims, decided and at what share of the author's training"
    return "\n\n".join(part for part in (head, markdown_table(table), note) if part)


def counts_of(claims: pd.DataFrame) -> dict[str, int]:
    found = claims["verdict"].value_counts().to_dict() if len(claims) else {}
    return {v: int(found.get(v, 0)) for v in VERDICTS}


def unfinished_runs(tasks: dict[str, Task], run_dirs: list[Path]) -> pd.DataFrame:
    """One row per run without trustworthy metrics: task, variant, seed, the stage, the problem, its log."""
    rows = []
    for d in run_dirs:
        key = parse_run_dir(d)
        check_run_folder(d)
        if key["task"] not in tasks:
            raise TaskError(f"{d}: a run of task '{key['task']}', which is not installed")
        problem = run_problem(d, tasks[key["task"]])
        if problem is not None:
            stage, what = problem
            folder = "train" if stage == "all" else stage
            log_path = f"results/logs/{folder}/{key['task']}/{key['variant']}/seed{key['seed']}.log"
            rows.append({**key, "stage": stage, "problem": what, "log": log_path})
    return pd.DataFrame(rows, columns=["task", "variant", "seed", "stage", "problem", "log"])


def judge_runs(
    tasks: dict[str, Task], run_dirs: list[Path], partial: bool = False, plans: dict[str, Plan] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(failed, metrics, runs, claims) of `run_dirs`: every claim judged look by look, Holm-adjusted, with its
    comparison text (see build for `partial` and `plans`)."""
    failed = unfinished_runs(tasks, run_dirs)
    if len(failed) and not partial:
        names = "; ".join(f"{r.task}/{r.variant}/seed{r.seed}: {r.stage} {r.problem}" for r in failed.itertuples())
        raise TaskError(f"runs the report cannot show: {names}; rerun them, or build a partial report (--partial)")
    bad = {(r.task, r.variant, r.seed) for r in failed.itertuples()}
    metrics, runs = collect([d for d in run_dirs if tuple(parse_run_dir(d).values()) not in bad])
    claims = judge_claims(tasks, metrics, runs, plans)
    claims = pd.concat([claims, unjudged_claims(tasks, run_dirs, metrics)], ignore_index=True)
    claims = adjust_for_multiplicity(tasks, claims)
    claims["comparison"] = [comparison_text(row) for row in claims.itertuples()]
    return failed, metrics, runs, claims


def judge_records(tasks: dict[str, Task], records: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(metrics, runs, claims) of a records folder's published runs, judged at the looks its index recorded."""
    from kx_tasks.core import publish

    index = publish.read_index(Path(records))
    plans = {t: Plan.from_dict(d) for t, d in index["plans"].items()} if index["plans"] else None
    return judge_runs(tasks, publish.run_dirs(Path(records), index), plans=plans)[1:]


def build(
    tasks: dict[str, Task],
    run_dirs: list[Path],
    out_dir: Path,
    partial: bool = False,
    plans: dict[str, Plan] | None = None,
    label: str = "this report",
    beside: dict[str, tuple[pd.DataFrame, pd.DataFrame]] | None = None,
    note: str = "",
) -> pd.DataFrame:
    """The report of `run_dirs`. partial: runs that did not finish (a failed job under --keep-going) are listed as
    failed, with the stage and its log, and a task with none finished is listed as such; otherwise they are an
    error naming them. plans: each task's looks (kx_tasks.core.looks; default one look at the seeds that ran).
    label, beside, note: the overview the report opens with shows this report's posts' claims under `label`, each
    report in `beside` ({label: (claims, runs)}, e.g. the default run's next to a campaign's) before it, and `note`
    (where the runs are) under it."""
    failed, metrics, runs, claims = judge_runs(tasks, run_dirs, partial, plans)
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
        "failed": len(failed),
        "counts": counts_of(claims),
        "post_counts": counts_of(claims[claims.source == "post"]),
        "raw_counts": counts_of(claims.assign(verdict=claims["verdict_unadjusted"])),
        "tests": int(claims["p"].notna().sum()),
        "changed": int((claims["verdict"] != claims["verdict_unadjusted"]).sum()),
    }
    pages, markdown = [], []
    for name in sorted(set(failed.task) - set(runs.task if len(runs) else [])):  # tasks with no finished run
        page = {"task": tasks[name], "claims": claims[claims.task == name], "counts": counts_of(claims[:0])}
        pages.append({**page, "file": None, "failed": failed[failed.task == name].drop(columns=["task"])})
        markdown.append(f"#### {name}: no finished runs\n\n" + markdown_table(failed[failed.task == name]))
    for name, task_runs in runs.groupby("task") if len(runs) else []:
        task = tasks[name]
        task_claims = claims[claims.task == name]
        tables = task_tables(task, metrics)
        figures = []
        if task.report_figures is not None:
            hook = resolve(task.report_figures, f"task '{name}', report_figures")
            for png in hook(metrics[metrics.task == name], task_runs, out_dir / "figures"):
                figures.append({"variant": "all variants", **figure(png)})
        for variant, vr in task_runs.groupby("variant"):
            first = Path(vr.iloc[0]["dir"])  # figures of the first seed; all seeds' are in results/runs
            stage_dirs = [first.parent / stages.FOLDERS[stage] for stage in stages.STAGES]  # augment's too
            figures += [{"variant": variant, **figure(png)} for d in stage_dirs for png in sorted(d.glob("*.png"))]
        page = {"task": task, "claims": task_claims, "counts": counts_of(task_claims), "file": f"{name}.html"}
        page["failed"] = failed[failed.task == name].drop(columns=["task"])
        pages.append(page)
        write_text(
            out_dir / page["file"],
            env.get_template("task.html.j2").render(
                meta=meta, page=page, tables=tables, figures=figures, runs=task_runs.drop(columns=["task", "params"])
            ),
        )
        markdown.append(task_markdown(task, task_claims, tables, page["failed"]))
    table = overview_table(tasks, {**(beside or {}), label: (claims, runs)})
    index = env.get_template("index.html.j2").render(meta=meta, pages=pages, overview=table, note=note)
    write_text(out_dir / "index.html", index)
    sections = [overview_markdown(table, note), outcomes_markdown(claims), *markdown]
    if beside:
        moved = side_by_side(claims, label, beside)
        with atomic_path(out_dir / "side_by_side.csv", suffix=".csv") as tmp:
            moved.to_csv(tmp, index=False)
        heading = f"#### {OVERVIEW}: the posts' claims, {label} next to {', '.join(beside)}"
        sections.insert(1, heading + "\n\n" + markdown_table(moved.drop(columns=["task"])))
    write_text(out_dir / "summary.md", "\n\n".join(sections) + "\n")
    for row in claims.itertuples():
        print(f"{row.claim:24s} {row.variant:10s} {row.verdict:15s} {row.measured}  [{row.rule}] {row.reason}")
    log.info("report: %d runs, %d claims -> %s", len(runs), len(claims), out_dir / "index.html")
    return claims


def task_markdown(
    task: Task, claims: pd.DataFrame, tables: dict[str, pd.DataFrame], failed=None, prefix: str | None = None
) -> str:
    """The task's section of summary.md: its claims and its tables, headed `#### <prefix>: <title>` (prefix: the
    task's name, or e.g. the published run a docs page shows), and its runs that did not finish, if any."""
    prefix = prefix or task.name
    shown = claims[CLAIM_COLUMNS].copy()
    shown["claim"] = [f"`{c}`" for c in shown["claim"]]
    shown["rule"] = [f"`{r}`" for r in shown["rule"]]
    shown["verdict"] = [f"**{v}**" for v in shown["verdict"]]
    parts = [f"#### {prefix}: claims", markdown_table(shown)]
    for title, table in tables.items():
        parts += [f"#### {prefix}: {title}", markdown_table(table)]
    if failed is not None and len(failed):
        parts += [f"#### {prefix}: runs that did not finish (not in the numbers above)", markdown_table(failed)]
    return "\n\n".join(parts)
