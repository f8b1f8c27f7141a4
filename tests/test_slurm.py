"""The pipeline on a real SLURM: a one-node cluster on 127.0.0.1 with two fake GPUs (tests/slurm/local-cluster.sh,
Debian's slurm-wlm and munge), driven by snakemake-executor-plugin-slurm through profiles/slurm.

Checks that every job really ran under SLURM (job ids in run.json and in squeue), that a rule asking for a GPU
got CUDA_VISIBLE_DEVICES from its allocation, that the report equals a local run's (same seeds, same metrics),
and that a failing rule makes Snakemake exit non-zero naming the rule. Needs root and apt-get (it installs the
packages); elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import copy_workflow, env, only, snakemake, snakemake_cmd

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parent / "slurm" / "local-cluster.sh"
# Over config/smoke.yaml: det x {float64, float32} x 1 seed (one task keeps the cluster run short).
CONFIG = {"seeds": [0], "datasets": [], "tasks": only("det")}
# The local cluster has no accounting daemon: poll with squeue (the plugin's default, sacct, would hang), start
# polling after 1 s instead of 40 s, and bound the whole run (a hung executor ignores SIGTERM).
SLURM_ARGS = [
    "--profile",
    "profiles/slurm",
    "--jobs",
    "4",
    "--default-resources",
    "mem_mb=500",
    "runtime=10",
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--latency-wait",
    "5",
    "--retries",
    "0",
]


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root to install and start slurm-wlm and munge (apt-get)"
    if shutil.which("apt-get") is None:
        return "needs Debian/Ubuntu apt-get to install slurm-wlm and munge"
    return None


@pytest.fixture(scope="module")
def cluster():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    up = subprocess.run(["bash", str(SCRIPT), "up"], capture_output=True, text=True, timeout=900)
    if up.returncode != 0:
        message = f"could not start the local SLURM cluster:\n{up.stderr[-3000:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield
    subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, text=True, timeout=300)


def run_slurm(work: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    # `timeout -k`: the plugin can wait forever on a status it never gets; the test must end regardless.
    cmd = ["timeout", "-k", "10", str(timeout), *snakemake_cmd(*SLURM_ARGS, *args)]
    return subprocess.run(cmd, cwd=work, env=env(slurm=True), capture_output=True, text=True, timeout=timeout + 30)


def submitted(log: str) -> dict[str, str]:
    """SLURM job id -> rule, from the plugin's 'submitted with SLURM jobid' lines and the rule blocks."""
    ids, rule = {}, None
    for line in log.splitlines():
        m = re.match(r"\s*(?:local)?rule (\w+):", line)
        if m:
            rule = m.group(1)
        m = re.search(r"submitted with SLURM jobid (\d+)", line)
        if m:
            ids[m.group(1)] = rule
    return ids


def test_pipeline_on_slurm_matches_local_run(cluster, tmp_path, capsys):
    slurm_dir, local_dir = (copy_workflow(_mkdir(tmp_path / d)) for d in ("slurm", "local"))
    for work in (slurm_dir, local_dir):
        (work / "ci.yaml").write_text(yaml.safe_dump(CONFIG))

    # The train rule asks for a GPU: SLURM allocates a fake one and exports CUDA_VISIBLE_DEVICES.
    r = run_slurm(slurm_dir, "--configfile", "config/smoke.yaml", "ci.yaml", "--set-resources", "train:gpu=1")
    log = r.stdout + r.stderr
    print(log[-6000:])
    assert r.returncode == 0, log[-4000:]
    jobs = submitted(log)
    with capsys.disabled():  # into CI's log, even when the test passes
        print(f"\nSLURM jobs (sbatch job id -> rule): {jobs}")
    assert sorted(set(jobs.values())) == ["evaluate", "report", "train"], jobs
    assert len(jobs) == 5  # 2 x train, 2 x evaluate, report

    queue = subprocess.run(["squeue", "--states=all", "-h", "-o", "%i %T"], capture_output=True, text=True).stdout
    states = dict(line.split() for line in queue.splitlines())
    assert all(states.get(job) == "COMPLETED" for job in jobs), (jobs, states)

    for record in (slurm_dir / "results/runs").rglob("run.json"):
        rec = json.loads(record.read_text())
        assert rec["slurm_job_id"] in jobs, record
        if rec["stage"] == "train":
            assert jobs[rec["slurm_job_id"]] == "train"
            assert rec["cuda_visible_devices"] in ("0", "1"), rec
        else:
            assert rec["cuda_visible_devices"] is None, rec

    local = snakemake(local_dir, "--cores", "2", "--configfile", "config/smoke.yaml", "ci.yaml")
    assert local.returncode == 0, local.stderr[-3000:]
    on_slurm = pd.read_csv(slurm_dir / "results/report/summary.csv")
    at_home = pd.read_csv(local_dir / "results/report/summary.csv")
    pd.testing.assert_frame_equal(on_slurm, at_home)
    claims = [pd.read_csv(d / "results/report/claims.csv") for d in (slurm_dir, local_dir)]
    pd.testing.assert_frame_equal(*claims)


def test_failing_rule_fails_the_run_naming_the_rule(cluster, tmp_path, capsys):
    work = copy_workflow(_mkdir(tmp_path / "work"))
    bad = work / "bad-data" / "mnist"
    bad.mkdir(parents=True)
    (bad / "train-images-idx3-ubyte.gz").write_bytes(b"not the published file")
    (work / "ci.yaml").write_text(yaml.safe_dump({**CONFIG, "data_dir": str(work / "bad-data")}))
    r = run_slurm(work, "results/data/mnist.npz", "--configfile", "config/smoke.yaml", "ci.yaml", timeout=300)
    log = r.stdout + r.stderr
    print(log[-4000:])
    assert r.returncode != 0
    assert "Error in rule prepare_data" in log
    with capsys.disabled():
        print(f"\nSLURM jobs of the failing run (sbatch job id -> rule): {submitted(log)}")
    assert list(submitted(log).values()) == ["prepare_data"]
    assert not (work / "results/data/mnist.npz").exists()
    job_log = (work / "results/logs/prepare_data/mnist.log").read_text()
    assert "checksum mismatch" in job_log and "train-images-idx3-ubyte.gz" in job_log


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path
