"""Safe regeneration, as a user meets it: a config change reruns only the changed task, deleting one run's
outputs regenerates only that run, a training job killed mid-way leaves nothing that looks complete and the
rerun resumes from its last checkpoint, and a second Snakemake on the same results directory refuses to start."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import copy_workflow, env, install_toy_plugin, only, planned_outputs, snakemake, snakemake_cmd

pytestmark = pytest.mark.slow

BASE = {
    "seeds": [0],
    "datasets": [],
    "tasks": {
        **only(
            "det",
            det={"variants": ["float64"], "params": {"shapes": [[3, 1], [4, 4]], "log10_conds": [0, 6], "samples": 2}},
        ),
        "toy": {"variants": ["plain"], "params": {"steps": 3}},
    },
}
TOY_RUN = Path("results/runs/toy/plain/seed0")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A workflow copy with the toy plugin installed and everything built once; the tests below run in order
    and each starts from the base config fully built (the killed and locked runs change the toy's params)."""
    tmp_path = tmp_path_factory.mktemp("regeneration")
    (tmp_path / "work").mkdir()
    work = copy_workflow(tmp_path / "work")
    site = install_toy_plugin(tmp_path)
    write_config(work, BASE)
    r = snakemake(work, "--cores", "2", "--configfile", "run.yaml", pythonpath=site)
    assert r.returncode == 0, r.stderr[-3000:]
    return work, site


def write_config(work: Path, config: dict) -> None:
    (work / "run.yaml").write_text(yaml.safe_dump(config))


def start_snakemake(work: Path, site: Path) -> subprocess.Popen:
    """Snakemake in the background, output collected, for tests that act while it runs."""
    cmd = snakemake_cmd("--cores", "2", "--configfile", "run.yaml")
    return subprocess.Popen(cmd, cwd=work, env=env(site), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def dry_run(work: Path, site: Path) -> list[str]:
    r = snakemake(work, "-n", "--cores", "2", "--configfile", "run.yaml", pythonpath=site)
    assert r.returncode == 0, r.stderr
    return planned_outputs(r.stdout)


def test_param_change_reruns_only_that_task_and_the_report(project):
    work, site = project
    changed = json.loads(json.dumps(BASE))
    changed["tasks"]["toy"]["params"]["steps"] = 4
    write_config(work, changed)
    planned = dry_run(work, site)
    assert any("runs/toy/plain/seed0/train" in p for p in planned)
    assert any("report/index.html" in p for p in planned)
    assert not [p for p in planned if "runs/det/" in p], planned


def test_deleting_one_run_regenerates_just_that_run(project):
    work, site = project
    write_config(work, BASE)
    shutil.rmtree(work / "results/runs/det/float64/seed0/eval")
    planned = dry_run(work, site)
    runs = sorted({p for p in planned if "/runs/" in p})
    assert runs == ["results/runs/det/float64/seed0/eval"]
    r = snakemake(work, "--cores", "2", "--configfile", "run.yaml", pythonpath=site)
    assert r.returncode == 0 and (work / "results/runs/det/float64/seed0/eval/metrics.json").is_file()


def kill_training_at_step_4(work: Path, site: Path, toy_params: dict) -> str:
    """Snakemake with these toy parameters, its train job SIGKILLed (an OOM kill, a preemption) once checkpoint 4
    is written; returns Snakemake's output."""
    slow = json.loads(json.dumps(BASE))
    slow["tasks"]["toy"]["params"] = toy_params
    write_config(work, slow)
    checkpoints = work / TOY_RUN / ".train.checkpoints"
    job = start_snakemake(work, site)
    deadline = time.monotonic() + 120
    while not (checkpoints / "step000000004.pt").exists():
        assert time.monotonic() < deadline and job.poll() is None, "training never got going"
        time.sleep(0.1)
    os.kill(int((checkpoints / "pid").read_text()), signal.SIGKILL)
    return job.communicate(timeout=120)[0]


def test_killed_training_leaves_nothing_complete_and_resumes(project):
    work, site = project
    write_config(work, BASE)
    assert json.loads((work / TOY_RUN / "eval/metrics.json").read_text())["value"] == 0 + 1 + 2 + 3
    checkpoints = work / TOY_RUN / ".train.checkpoints"
    out = kill_training_at_step_4(work, site, {"steps": 30, "step_s": 0.2})
    assert "Error in rule train" in out
    assert not (work / TOY_RUN / "train").exists(), "a killed stage must not leave its output directory"
    # (eval still holds the previous config's run; Snakemake reruns it after train, as the dry run shows)
    assert "results/runs/toy/plain/seed0/eval" in dry_run(work, site)
    assert sorted(checkpoints.glob("step*.pt")), "the checkpoints of the killed attempt are kept for the rerun"

    r = snakemake(work, "--cores", "2", "--configfile", "run.yaml", pythonpath=site)
    assert r.returncode == 0, r.stderr[-3000:]
    log = (work / "results/logs/train/toy/plain/seed0.log").read_text()
    resumed = int(log.split("resuming from step ")[1].split()[0])
    assert resumed >= 4
    assert json.loads((work / TOY_RUN / "eval/metrics.json").read_text())["value"] == sum(range(31))
    assert not checkpoints.exists(), "checkpoints are removed once the stage has finished"
    assert not list((work / TOY_RUN).glob(".train.*.part")), "the killed attempt's temporary directory is gone"


def test_kill_change_config_rerun_starts_over(project):
    """The case found by a hostile user: killed at step >= 4 with one config, rerun with another; the rerun must
    not resume the old optimiser state under the new config's name."""
    work, site = project
    kill_training_at_step_4(work, site, {"steps": 32, "step_s": 0.2})
    changed = json.loads(json.dumps(BASE))
    changed["tasks"]["toy"]["params"] = {"steps": 6}  # another config: old checkpoints hold steps 1..k of 32
    write_config(work, changed)
    r = snakemake(work, "--cores", "2", "--configfile", "run.yaml", pythonpath=site)
    assert r.returncode == 0, r.stderr[-3000:]
    log = (work / "results/logs/train/toy/plain/seed0.log").read_text()
    assert "starting over" in log and "resuming" not in log
    assert json.loads((work / TOY_RUN / "eval/metrics.json").read_text())["value"] == sum(range(7))


def test_failed_task_under_keep_going_rebuilds_the_report(project):
    """One task fails for good: the report is rebuilt for what finished and lists the failed run, instead of the
    old page showing verdicts whose runs are gone."""
    work, site = project
    failing = json.loads(json.dumps(BASE))
    failing["tasks"]["toy"]["params"] = {"fail": True}
    write_config(work, failing)
    before = (work / "results/report/index.html").stat().st_mtime
    r = snakemake(work, "--cores", "2", "--configfile", "run.yaml", "--keep-going", pythonpath=site)
    assert r.returncode != 0
    assert "kx: partial report (failed runs listed)" in r.stdout + r.stderr, (
        work / "results/logs/report.log"
    ).read_text()
    index = (work / "results/report/index.html").read_text()
    assert (work / "results/report/index.html").stat().st_mtime > before
    assert 'toy: <span class="not">no finished runs</span>' in index and "results/logs/train/toy/plain" in index
    claims = pd.read_csv(work / "results/report/claims.csv")
    toy = claims[claims.task == "toy"]  # its claims stay, undecided: no verdict of a run that is gone
    assert len(toy) and set(toy.verdict) == {"inconclusive"} and set(toy.measured) == {"no finished runs"}
    assert "no finished runs" in (work / "results/report/summary.md").read_text()
    write_config(work, BASE)
    r = snakemake(work, "--cores", "2", "--configfile", "run.yaml", pythonpath=site)
    assert r.returncode == 0, r.stderr[-3000:]


def test_second_pipeline_on_the_same_results_refuses(project):
    work, site = project
    slow = json.loads(json.dumps(BASE))
    slow["tasks"]["toy"]["params"] = {"steps": 40, "step_s": 0.25}
    write_config(work, slow)
    first = start_snakemake(work, site)
    deadline = time.monotonic() + 60
    while not list((work / ".snakemake/locks").glob("*")):
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.1)
    # Even told to take over incomplete outputs, the second run meets the first one's lock and stops.
    second = snakemake(work, "--cores", "2", "--configfile", "run.yaml", "--rerun-incomplete", pythonpath=site)
    assert second.returncode != 0
    assert "cannot be locked" in second.stdout + second.stderr
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0, out[-3000:]
    assert json.loads((work / TOY_RUN / "eval/metrics.json").read_text())["value"] == sum(range(41))
