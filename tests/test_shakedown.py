"""The shake-down (kx shakedown): a short run stops after each fit's first checkpoint and resumes from it, measures
its steps, evaluates on cut test arrays; synthetic stand-ins have the published shapes and never feed a real run;
the calibration file is what the rules and `kx info` read; a whole config is shaken down end to end."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest
import yaml
from helpers import BIN, copy_workflow, env, only, snakemake
from test_engine import linear_problem

from kx_tasks.core import calibration, short_run
from kx_tasks.core.data import DataError, catalogue, synthetic


@pytest.fixture
def short(tmp_path, monkeypatch):
    """This process as a short run: 3 steps per short epoch, one warm-up step; returns the measurement log."""
    log = tmp_path / "measure.jsonl"
    monkeypatch.setenv(short_run.ENV, json.dumps({"steps": 3, "warmup": 1, "share": 0.25, "log": str(log)}))
    return log


def rows_of(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_short_fit_stops_after_its_checkpoint_then_resumes_and_finishes(tmp_path, short):
    evaluated = []
    _, train = linear_problem()
    with pytest.raises(short_run.Stopped, match="stopped after the checkpoint at step 3"):
        train(epochs=50, checkpoint_dir=tmp_path / "ckpt", evaluate=lambda loop: evaluated.append(loop.step) or {})
    assert [p.name for p in (tmp_path / "ckpt").glob("step*.pt")] == ["step000000003.pt"]
    _, train = linear_problem()  # a new process: fresh model and optimiser, resumed from the checkpoint
    log = train(epochs=50, checkpoint_dir=tmp_path / "ckpt", eval_every=100, evaluate=lambda loop: {"probe": 1.0})
    assert log.loop.step == 6 and log.loop.epoch == 2, "one more short epoch after the resume, then done"
    first, second = rows_of(short)
    assert (first["resumed"], second["resumed"]) == (False, True)
    assert second["total_steps"] == 50 * 4 and second["evaluations"] == 2 and second["eval_s"] > 0
    assert len(first["steps_s"]) == len(second["steps_s"]) == 2, "the warm-up step is left out of the timing"
    assert [r["step"] for r in log.evaluations] == [6], "the short run's one evaluation is a real evaluation row"


def test_only_a_jobs_first_attempt_stops_and_later_fits_take_one_short_epoch(tmp_path, short, monkeypatch):
    monkeypatch.setenv(short_run.ENV, json.dumps({"steps": 3, "log": str(short), "stop": False}))
    for fold in range(3):  # e.g. cross-validation folds: each a fit of its own, none stopping the job
        _, train = linear_problem()
        log = train(epochs=50, checkpoint_dir=tmp_path / f"fold{fold}")
        assert log.loop.step == 3
    assert [r["total_steps"] for r in rows_of(short)] == [200, 200, 200]


def test_a_real_run_is_untouched_by_the_short_run_code(tmp_path):
    _, train = linear_problem()
    log = train(epochs=3, checkpoint_dir=tmp_path)
    assert log.loop.step == 12 and len(log.history) == 3


def test_evaluate_does_its_share_of_test_rows_and_counts_and_keeps_training_arrays_whole(short, monkeypatch):
    arrays = {"x_train": np.zeros((20, 2)), "x_test": np.zeros((20, 2)), "text_test": np.zeros(3, np.uint8)}
    cut = short_run.cut_rows(arrays, "d.npz")
    assert [len(cut[k]) for k in arrays] == [20, 5, 1], "a quarter of each test array, rounded up"
    assert short_run.share_of(2000, "test pairs") == 500 and short_run.share_of(1, "one") == 1
    assert rows_of(short) == [
        {"event": "cut", "what": "d.npz:x_test", "count": 20, "cut": 5},
        {"event": "cut", "what": "d.npz:text_test", "count": 3, "cut": 1},
        {"event": "cut", "what": "test pairs", "count": 2000, "cut": 500},
    ]
    monkeypatch.delenv(short_run.ENV)
    assert short_run.share_of(2000, "test pairs") == 2000 and short_run.cut_rows(arrays, "d.npz") is arrays


def test_a_loop_without_a_fit_takes_a_few_repetitions_and_projects_its_full_count(short):
    import torch

    from kx_tasks.det.config import DetConfig
    from kx_tasks.det.measure import sweep

    cfg = DetConfig(shapes=((3, 2), (8, 4)), log10_conds=(0, 4, 8), samples=40, digits=41)
    errors, _ = sweep(cfg, torch.float64, torch.Generator().manual_seed(0))
    assert errors.groupby(["n", "k", "log10_cond"])["sample"].nunique().eq(3).all(), "3 matrices per case, not 40"
    rows = rows_of(short)
    assert [(r["label"], r["total_steps"], len(r["steps_s"])) for r in rows] == [
        ("det sweep 3x2", 120, 3),
        ("det sweep 8x4", 120, 3),
    ]
    assert all(t > 0 for r in rows for t in r["steps_s"])


def test_a_synthetic_stand_in_has_the_published_shapes_and_never_feeds_a_real_run(tmp_path, monkeypatch):
    path = synthetic.write("trec", tmp_path / "trec.npz", catalogue.facts_of)
    monkeypatch.delenv(short_run.ENV, raising=False)
    with pytest.raises(DataError, match="synthetic stand-in written by kx shakedown"):
        catalogue.load(path)
    monkeypatch.setenv(short_run.ENV, json.dumps({"steps": 1, "log": str(tmp_path / "m.jsonl")}))
    arrays = catalogue.load(path)
    for name, (shape, dtype, labels) in synthetic.SHAPES["trec"].items():
        assert arrays[name].shape == shape and str(arrays[name].dtype) == dtype, name
        if labels:
            assert set(np.unique(arrays[name])) == set(range(labels[0], labels[1] + 1)), "every label appears"


def test_every_dataset_has_a_shape_card():
    assert set(synthetic.SHAPES) == set(catalogue.DATASETS)


def write_calibration(root, stem, device, jobs):
    path = calibration.path(stem, device, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"device": device, "jobs": jobs}))
    return path


def test_the_calibration_read_is_the_config_devices_and_a_gpu_config_falls_back_to_the_cpu_one(tmp_path):
    job = {"mixup/mnist.erm/train": {"runtime": 7, "mem_mb": 900}}
    none = calibration.for_config({"device": "cpu"}, ["config/paper.yaml"], tmp_path)
    assert none.value("mixup/mnist.erm/train", "runtime", 60) == 60 and "declared" in none.note
    cpu = write_calibration(tmp_path, "paper", "cpu", job)
    for device in ("cpu", "cuda", "auto"):
        cal = calibration.for_config({"device": device}, ["config/paper.yaml"], tmp_path)
        assert cal.file == cpu and cal.value("mixup/mnist.erm/train", "runtime", 60) == 7
        assert cal.value("mixup/mnist.erm/evaluate", "mem_mb", 2000) == 2000, "a job it does not name: declared"
        assert ("upper bounds" in cal.note) == (device != "cpu")
    gpu = write_calibration(tmp_path, "paper", "cuda", {"mixup/mnist.erm/train": {"runtime": 2, "mem_mb": 3000}})
    cal = calibration.for_config({"device": "cuda"}, ["config/paper.yaml"], tmp_path)
    assert cal.file == gpu and cal.value("mixup/mnist.erm/train", "mem_mb", 1) == 3000
    assert cal.source("mixup/mnist.erm/train") == str(gpu) and cal.source("det/x/train") == "declared"
    assert calibration.for_config({"device": "cpu"}, ["other.yaml"], tmp_path).file is None
    mine = {"runtime": 90}  # a config block's own runtime wins over the calibration
    assert cal.value("mixup/mnist.erm/train", "runtime", 60, mine) == 90
    assert cal.value("mixup/mnist.erm/train", "mem_mb", 1, mine) == 3000
    assert cal.source("mixup/mnist.erm/train", mine) == f"runtime:config,{gpu}"


def test_runtime_and_memory_carry_the_stated_safety_factors():
    assert calibration.runtime_minutes(600) == 10 * 1.5 + 5
    assert calibration.mem_mb(1000) == 1000 * 1.25 + 256


TINY = {
    "seeds": [0],
    "pilot": True,
    "datasets": [],
    "tasks": only(
        "det",
        "mixup",
        det={"variants": ["float64"], "params": {"shapes": [[3, 1]], "log10_conds": [0], "samples": 2}},
        mixup={"variants": ["fashion_mnist.erm"], "params": {"train_size": 200, "epochs": 2, "batch_size": 50}},
    ),
}


def shake(work, timeout: str) -> subprocess.CompletedProcess:
    """`kx shakedown config/tiny.yaml` in the workflow copy `work`, each attempt limited to `timeout` seconds."""
    cmd = [str(BIN / "kx"), "shakedown", "config/tiny.yaml", "--timeout", timeout]
    return subprocess.run(cmd, cwd=work, env=env(), capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_config_is_shaken_down_calibrated_and_read_by_the_rules(tmp_path):
    work = copy_workflow(tmp_path)
    (work / "config" / "calibration").mkdir(exist_ok=True)
    (work / "config" / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    done = shake(work, "300")
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("passed  det/float64") for line in lines)
    assert any(
        line.startswith("passed  mixup/fashion_mnist.erm") and "synthetic fashion_mnist" in line for line in lines
    )
    record = json.loads((work / "results/scratch/shakedown/tiny/shakedown.json").read_text())
    train = record["jobs"]["mixup/fashion_mnist.erm/train"]
    assert train["attempts"] == 2, "stopped after the checkpoint, then resumed"
    (fit,) = train["fits"]
    assert fit["total_steps"] == 2 * 4 and fit["step_s"] > 0
    assert record["jobs"]["mixup/fashion_mnist.erm/evaluate"]["extrapolated"], "10,000 test rows cut to 250, 1,000"
    cal = yaml.safe_load((work / "config/calibration/tiny.cpu.yaml").read_text())
    assert set(cal["jobs"]) == set(record["jobs"])
    dry = snakemake(work, "-n", "--configfile", "config/tiny.yaml", "--cores", "1")
    want = cal["jobs"]["mixup/fashion_mnist.erm/train"]
    assert f"runtime={want['runtime']}," in dry.stdout and f"mem_mb={want['mem_mb']}," in dry.stdout
    assert "calibration=config/calibration/tiny.cpu.yaml" in dry.stdout
    info = subprocess.run(
        [str(BIN / "kx"), "info", "mixup", "--config", "config/tiny.yaml"], cwd=work, capture_output=True, text=True
    )
    assert (
        f"train: runtime={want['runtime']}min mem_mb={want['mem_mb']} (config/calibration/tiny.cpu.yaml)" in info.stdout
    )


def test_a_job_past_its_time_fails_with_the_reason(tmp_path):
    work = copy_workflow(tmp_path)
    tiny = {**TINY, "tasks": only("det", det=TINY["tasks"]["det"])}
    (work / "config" / "tiny.yaml").write_text(yaml.safe_dump(tiny))
    done = shake(work, "0.01")
    assert done.returncode == 1
    assert "failed  det/float64: train: timed out" in done.stdout


def test_the_projection_counts_every_seed_and_flags_what_does_not_fit(tmp_path):
    from kx_tasks.core import config_file, docs
    from kx_tasks.core.registry import discover, discover_artefacts

    (tmp_path / "c.yaml").write_text(yaml.safe_dump({**TINY, "seeds": [0, 1, 2], "pilot": False}))
    config = config_file.load_and_check([str(tmp_path / "c.yaml")])
    job = {"threads": 2, "synthetic": []}
    data = {
        "device": "cpu",
        "host": {"cpu": "Test CPU", "cpus": 2, "memory_mb": 4096},
        "written_by": "kx shakedown c.yaml",
        "date": "2026-12-07",
        "code": "abc",
        "runtime_rule": "r",
        "mem_rule": "m",
        "jobs": {
            "det/float64/train": job | {"projected_s": 3600.0, "peak_rss_mb": 100.0},
            "det/float64/evaluate": job | {"projected_s": 1800.0, "peak_rss_mb": 5000.0},
            "mixup/fashion_mnist.erm/augment": job | {"projected_s": 60.0, "peak_rss_mb": 10.0},
        },
    }
    rows = {r["task"]: r for r in calibration.projection(config, discover(), discover_artefacts(), data)}
    assert rows["det"]["seeds"] == 3 and rows["det"]["hours_per_seed"] == 1.5
    assert rows["det"]["hours"] == 1.5 * 2 * 3, "hours x threads x seeds"
    assert rows["det"]["fits"] is False, "5,000 MB on a 4,096 MB machine"
    assert rows["mixup"]["hours"] is None, "train and evaluate not measured: unknown, not zero"
    text = docs.projection_markdown(list(rows.values()), data, "config/calibration/c.cpu.yaml")
    assert "| det | 1 x 3 seeds | 9.0 |" in text and "float64" in text and "not measured" in text


def test_a_quality_gate_fails_a_real_run_and_is_noted_in_a_short_one(tmp_path, monkeypatch):
    monkeypatch.delenv(short_run.ENV, raising=False)
    short_run.quality_gate(True, "fine")
    with pytest.raises(RuntimeError, match="accuracy 0.70 is below 0.985"):
        short_run.quality_gate(False, "accuracy 0.70 is below 0.985")
    log = tmp_path / "m.jsonl"
    monkeypatch.setenv(short_run.ENV, json.dumps({"steps": 3, "log": str(log)}))
    short_run.quality_gate(False, "accuracy 0.70 is below 0.985")  # a few steps never reach the floor: noted only
    assert rows_of(log) == [{"event": "quality_gate_skipped", "message": "accuracy 0.70 is below 0.985"}]


def test_a_shakedown_of_some_tasks_replaces_their_entries_and_keeps_the_others():
    from kx_tasks.core.shakedown import merged

    kept = {"det/f/train": 1, "mixup/a/train": 2, "artefact/mnist_classifier": 3, "artefact/bert_mlm15": 4}
    fresh = {"device": "cpu", "jobs": {"mixup/b/train": 5, "artefact/mnist_classifier": 6}}
    jobs = merged(fresh, kept, {"mixup", "artefact/mnist_classifier"})["jobs"]
    assert jobs == {"det/f/train": 1, "artefact/bert_mlm15": 4, "mixup/b/train": 5, "artefact/mnist_classifier": 6}
    # One run of a task (--tasks mixup/b): the task's other runs keep their entries.
    jobs = merged(fresh, kept, {"mixup/b", "artefact/mnist_classifier"})["jobs"]
    assert jobs["mixup/a/train"] == 2 and jobs["mixup/b/train"] == 5


def test_a_shakedown_can_select_runs_and_names_a_wrong_one():
    from kx_tasks.core.config_file import load_and_check
    from kx_tasks.core.params import ConfigError
    from kx_tasks.core.shakedown import selected

    config = load_and_check(["config/paper.yaml"])
    one = selected(config, ["vae_cluster/mnist.dec2018", "det"], "paper.yaml")
    assert {n for n, b in one["tasks"].items() if b["enabled"]} == {"vae_cluster", "det"}
    assert one["tasks"]["vae_cluster"]["variants"] == ["mnist.dec2018"]
    assert one["tasks"]["det"]["variants"] == config["tasks"]["det"]["variants"]
    with pytest.raises(ConfigError, match="vae_cluster/mnist.dec2019: vae_cluster runs no variant 'mnist.dec2019'"):
        selected(config, ["vae_cluster/mnist.dec2019"], "paper.yaml")
    with pytest.raises(ConfigError, match="--tasks: nope is not enabled"):
        selected(config, ["nope"], "paper.yaml")


def test_a_stopped_shakedown_stops_its_running_job(tmp_path):
    """SIGTERM to the shake-down (a scheduler's cancel, kill): the job it was running is killed too, not left behind."""
    import signal
    import sys
    import time

    pids = tmp_path / "job.pid"
    script = f"""
import os, time
from pathlib import Path
from kx_tasks.core import cli, shakedown
def fake_job(argv):
    Path({str(pids)!r}).write_text(str(os.getpid()))
    time.sleep(60)
cli.main = fake_job
import signal
signal.signal(signal.SIGTERM, shakedown._terminated)
shakedown.run_child(["stage"], {{"steps": 3, "log": "m.jsonl"}}, Path({str(tmp_path / "job.log")!r}), 120)
"""
    driver = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path)
    for _ in range(200):
        if pids.exists() and pids.read_text():
            break
        time.sleep(0.05)
    job = int(pids.read_text())
    driver.send_signal(signal.SIGTERM)
    assert driver.wait(timeout=30) == 128 + signal.SIGTERM
    with pytest.raises(ProcessLookupError):
        os.kill(job, 0)


def test_the_calibration_keeps_the_runs_a_shakedown_has_not_reached_until_it_finishes(tmp_path):
    from kx_tasks.core.shakedown import write_calibration

    target = tmp_path / "paper.cpu.yaml"
    target.write_text(yaml.safe_dump({"jobs": {"fvae/a/train": 1, "fvae/b/train": 2, "det/f/train": 3}}))
    write_calibration(target, {"jobs": {"fvae/a/train": 10}}, {"fvae/a"})  # --tasks fvae, stopped after run a
    assert yaml.safe_load(target.read_text())["jobs"] == {"fvae/a/train": 10, "fvae/b/train": 2, "det/f/train": 3}
    write_calibration(target, {"jobs": {"fvae/a/train": 10}}, {"fvae/a", "fvae"})  # finished: b is not in it now
    assert yaml.safe_load(target.read_text())["jobs"] == {"fvae/a/train": 10, "det/f/train": 3}
    write_calibration(target, {"jobs": {"fvae/a/train": 11}}, None)  # a whole config, finished: its runs alone
    assert yaml.safe_load(target.read_text())["jobs"] == {"fvae/a/train": 11}
