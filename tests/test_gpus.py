"""GPU assignment: a scheduler's CUDA_VISIBLE_DEVICES is respected; on one machine concurrent jobs lock
distinct GPUs, and a killed job's GPU is free again."""

import json
import os
import subprocess
import sys
import time

import pytest

from kx_tasks.core import gpus

HOLD = """
import json, sys, time
from kx_tasks.core import gpus
with gpus.claim(1, poll_s=0.05) as ids:
    print(json.dumps({"ids": ids, "env": __import__("os").environ["CUDA_VISIBLE_DEVICES"]}), flush=True)
    time.sleep(float(sys.argv[1]))
"""


@pytest.fixture
def fake_machine(tmp_path, monkeypatch):
    monkeypatch.setenv(gpus.ENV_IDS, "0,1")
    monkeypatch.setenv(gpus.ENV_LOCK_DIR, str(tmp_path / "locks"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return tmp_path


def holder(seconds: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, str(seconds)], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )


def test_concurrent_jobs_get_distinct_gpus(fake_machine):
    procs = [holder(1.5) for _ in range(2)]
    got = [json.loads(p.stdout.readline()) for p in procs]
    for p in procs:
        p.wait(timeout=30)
    assert sorted(g["ids"][0] for g in got) == ["0", "1"]
    assert all(g["env"] == g["ids"][0] for g in got)


def test_third_job_waits_for_a_free_gpu(fake_machine):
    first = [holder(1.0) for _ in range(2)]
    for p in first:
        p.stdout.readline()
    start = time.monotonic()
    third = holder(0)
    got = json.loads(third.stdout.readline())
    assert time.monotonic() - start > 0.5  # it had to wait for one of the first two
    assert got["ids"][0] in ("0", "1")
    for p in [*first, third]:
        p.wait(timeout=30)


def test_killed_job_frees_its_gpu(fake_machine):
    p = holder(60)
    taken = json.loads(p.stdout.readline())["ids"][0]
    p.kill()
    p.wait()
    with gpus.claim(2, poll_s=0.05, timeout_s=5) as ids:
        assert sorted(ids) == ["0", "1"] and taken in ids


def test_scheduler_assignment_is_respected(fake_machine, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with gpus.claim(1) as ids:
        assert ids == ["3"]
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"
    assert not (fake_machine / "locks").exists()


def test_no_gpus_changes_nothing(monkeypatch):
    monkeypatch.setenv(gpus.ENV_IDS, "")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with gpus.claim(1) as ids:
        assert ids == [] and "CUDA_VISIBLE_DEVICES" not in os.environ
