"""No silent wrong result, tried as a hostile user would: a table of bad configs that must each stop before any
job naming the file, key or value (no traceback); a table of damaged prepared datasets that must each fail naming
the path; checkpoints of another config, code or run that must not be resumed; a `kx run` that cannot write into
the pipeline's tree or a stranger's directory, nor beside another `kx run`; a diverged or non-finite stage that
writes nothing; a report that names what is missing; files a group can read. All in seconds."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

from kx_tasks.core import checkpoints, data, report, runner, settings
from kx_tasks.core.cli import main
from kx_tasks.core.registry import Stage, TaskError, discover

TASKS = discover()

# (YAML text of a config file, a string the one-line error must contain). Every class a hostile user tried.
BAD_CONFIGS = [
    # YAML syntax and top-level shape: the file and the line
    ("seeds: [0, 1\ndevice: cpu\n", ":2:"),
    ("tasks:\n  det:\n\tparams: {}\n", ":3:"),
    ("seeds: [0]\n  device: cpu\n", ":2:"),
    ("- seeds\n- tasks\n", "top level must be a mapping"),
    ("just a string\n", "top level must be a mapping"),
    ("42\n", "top level must be a mapping"),
    # top-level keys and values
    ("seedz: [0]\n", "seedz: not a known key"),
    ("Seeds: [0]\n", "Seeds: not a known key"),
    ("task:\n  det: {}\n", "task: not a known key"),
    ("seeds: []\n", "seeds: [] should be non-empty"),
    ("seeds: [0, 1, 1]\n", "seeds: repeated items"),
    ("seeds: [-1]\n", "seeds[0]: -1 is less than the minimum of 0"),
    ("seeds: zero\n", "seeds: 'zero' is not of type 'array'"),
    ("seeds: [0.5]\n", "seeds[0]: 0.5 is not of type 'integer'"),
    ("device: tpu\n", "device: 'tpu' is not one of"),
    ("data_dir: 3\n", "data_dir: 3 is not of type 'string'"),
    ("datasets: [mnist, mnist]\n", "datasets: repeated items"),
    ("datasets: [cifar100]\n", "unknown dataset 'cifar100'"),
    # task blocks
    ("tasks:\n  dett: {}\n", "tasks.dett: unknown task"),
    ("tasks: [det]\n", "tasks: ['det'] is not of type 'object'"),
    ("tasks:\n  det:\n    enabled: 'no'\n", "tasks.det.enabled: 'no' is not of type 'boolean'"),
    ("tasks:\n  det:\n    threads: 0\n", "tasks.det.threads: 0 is less than the minimum of 1"),
    ("tasks:\n  det:\n    threads: -2\n", "tasks.det.threads: -2 is less than the minimum of 1"),
    ("tasks:\n  det:\n    threads: '2'\n", "tasks.det.threads: '2' is not of type 'integer'"),
    ("tasks:\n  det:\n    variants: []\n", "tasks.det.variants: [] should be non-empty"),
    ("tasks:\n  det:\n    variants: [float64, float64]\n", "tasks.det.variants: repeated items"),
    ("tasks:\n  det:\n    variants: [float16]\n", "unknown variant 'float16'"),
    ("tasks:\n  det:\n    seeds: [2, 2]\n", "tasks.det.seeds: repeated items"),
    ("tasks:\n  det:\n    variantz: [float64]\n", "tasks.det.variantz: not a known key"),
    ("tasks:\n  det:\n    params: [1, 2]\n", "tasks.det.params: [1, 2] is not of type 'object'"),
    # parameters: unknown, wrong type, not finite, out of bounds, empty, inconsistent
    ("tasks:\n  det:\n    params:\n      sampels: 3\n", "tasks.det.params.sampels: not a parameter"),
    ("tasks:\n  det:\n    params:\n      samples: ten\n", "tasks.det.params.samples: must be a valid integer"),
    ("tasks:\n  det:\n    params:\n      samples: 2.5\n", "tasks.det.params.samples: must be a valid integer"),
    ("tasks:\n  det:\n    params:\n      samples: 0\n", "tasks.det.params.samples: must be >= 1, got 0"),
    (
        "tasks:\n  det:\n    params:\n      shapes: []\n",
        "params.shapes: must have at least 1 item(s), got []",
    ),
    ("tasks:\n  det:\n    params:\n      log10_conds: [15]\n", "digits: 50 is too few"),
    ("tasks:\n  det:\n    params:\n      log10_conds: [400]\n", "log10_conds: κ = 1e400 cannot be generated"),
    ("tasks:\n  vae_cluster:\n    params:\n      lr: .nan\n", "tasks.vae_cluster.params.lr: must be a finite number"),
    ("tasks:\n  vae_cluster:\n    params:\n      lr: .inf\n", "tasks.vae_cluster.params.lr: must be a finite number"),
    ("tasks:\n  vae_cluster:\n    params:\n      recon_weight: -.inf\n", "recon_weight: must be a finite number"),
    ("tasks:\n  vae_cluster:\n    params:\n      lr: -1e-3\n", "tasks.vae_cluster.params.lr: must be > 0"),
    ("tasks:\n  vae_cluster:\n    params:\n      lr: fast\n", "tasks.vae_cluster.params.lr: must be a valid number"),
    ("tasks:\n  vae_cluster:\n    params:\n      arch: resnet\n", "tasks.vae_cluster.params.arch"),
    ("tasks:\n  vae_cluster:\n    params:\n      epochs: 0\n", "tasks.vae_cluster.params.epochs: must be >= 1"),
    ("tasks:\n  vae_cluster:\n    params:\n      train_size: 100000\n", "train_size: must be <= 60000, got 100000"),
    ("tasks:\n  vae_cluster:\n    params:\n      train_size: 50\n", "batch_size: 100 is more than the 50"),
    ("tasks:\n  vae_cluster:\n    params:\n      volume_points: 20000\n", "volume_points: must be <= 10000"),
    ("tasks:\n  gillespie:\n    params:\n      burn_in: 200\n", "burn_in: must be < t_end"),
    ("tasks:\n  gillespie:\n    params:\n      t_end: .nan\n", "tasks.gillespie.params.t_end: must be a finite"),
    ("tasks:\n  gillespie:\n    params:\n      eps_sweep: [0.01, 1.5]\n", "eps_sweep: every ε must be in (0, 1)"),
    ("tasks:\n  gillespie:\n    params:\n      fsp_max_count: 100\n", "fsp_max_count: 100 cannot hold"),
    ("tasks:\n  gillespie:\n    params:\n      event_t_end: 10\n", "event_t_end: must exceed burn_in"),
    ("artefacts:\n  features: {}\n", "artefacts.features: unknown artefact"),
]


def check(tmp_path: Path, text: str, *extra: str) -> tuple[int, str, Path]:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return main(["check", str(path), *extra]), str(path), path


@pytest.mark.parametrize("text, named", BAD_CONFIGS, ids=range(len(BAD_CONFIGS)))
def test_bad_config_stops_before_any_job_naming_file_and_key(tmp_path, capsys, text, named):
    rc, where, _ = check(tmp_path, text)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert named in err and where in err, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) <= 3, "one line per problem, not the schema"


def test_the_table_covers_every_class():
    assert len(BAD_CONFIGS) >= 40


def test_kx_run_validates_as_the_pipeline_does(tmp_path, capsys, monkeypatch):
    """The cases `kx run` used to ignore: a top-level typo, threads 0, enabled "no"; nothing is created."""
    monkeypatch.chdir(tmp_path)
    for text in ("seedz: [0]\n", "tasks:\n  det:\n    threads: 0\n", "tasks:\n  det:\n    enabled: 'no'\n"):
        (tmp_path / "c.yaml").write_text(text)
        assert main(["run", "det", "--config", "c.yaml"]) == 2
        assert "c.yaml" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("text, value", [("lr: 1e-3", 1e-3), ("lr: 5E-4", 5e-4), ("lr: +2e-3", 2e-3)])
def test_yaml11_exponent_floats_are_the_numbers_users_mean(tmp_path, capsys, text, value):
    rc, _, path = check(tmp_path, f"tasks:\n  vae_cluster:\n    params:\n      {text}\n")
    assert rc == 0, capsys.readouterr().err
    import yaml  # Snakemake's loader (YAML 1.1) hands the string on: the parameter model reads it the same way

    raw = yaml.safe_load(path.read_text())["tasks"]["vae_cluster"]["params"]
    assert isinstance(raw["lr"], str)
    assert settings.build_params(TASKS["vae_cluster"].params, raw, "x").lr == value


# --- prepared datasets --------------------------------------------------------------------------------------------


@pytest.fixture
def prepared_npz(tmp_path) -> Path:
    """A small dataset prepared exactly as prepare_data writes one (facts included)."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (200, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 200, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (50, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 50, dtype=np.uint8),
    }
    dataset = data.Dataset("tiny", {}, lambda files: arrays)
    out = tmp_path / "tiny.npz"
    data.prepare(dataset, out, None, tmp_path / "dl")
    return out


def _resave(path: Path, change) -> None:
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    change(arrays)
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def _shuffle_labels(a: dict) -> None:
    a["y_train"] = np.random.default_rng(1).permutation(a["y_train"])


def _label_11(a: dict) -> None:
    a["y_test"] = np.where(a["y_test"] == 0, 11, a["y_test"])


def _flip(a: dict) -> None:
    a["x_train"] = a["x_train"].copy()
    a["x_train"][0, 0, 0] ^= 1


DAMAGES = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "empty": lambda p: p.write_bytes(b""),
    "not a zip": lambda p: p.write_text("x_train,y_train\n"),
    "labels shuffled": lambda p: _resave(p, _shuffle_labels),
    "label out of range": lambda p: _resave(p, _label_11),
    "one pixel flipped": lambda p: _resave(p, _flip),
    "array dropped": lambda p: _resave(p, lambda a: a.pop("x_test")),
    "array added": lambda p: _resave(p, lambda a: a.update(extra=np.zeros(3))),
    "facts removed": lambda p: _resave(p, lambda a: a.pop(data.catalogue.FACTS)),
    "dtype changed": lambda p: _resave(p, lambda a: a.update(y_train=a["y_train"].astype(np.int64))),
    "reshaped": lambda p: _resave(p, lambda a: a.update(x_train=a["x_train"].reshape(200, 784))),
    "missing": lambda p: p.unlink(),
}


def test_a_prepared_dataset_loads(prepared_npz):
    arrays = data.load(prepared_npz)
    assert set(arrays) == {"x_train", "y_train", "x_test", "y_test"} and arrays["x_train"].shape == (200, 28, 28)


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_dataset_fails_naming_the_path(prepared_npz, damage):
    DAMAGES[damage](prepared_npz)
    with pytest.raises(data.DataError) as e:
        data.load(prepared_npz)
    assert str(prepared_npz) in str(e.value)


def reads_dataset(run, inputs, out_dir):
    data.load(inputs["tiny"])


def test_a_stage_on_a_damaged_dataset_leaves_nothing_behind(prepared_npz, tmp_path):
    DAMAGES["labels shuffled"](prepared_npz)
    task = dataclasses.replace(
        TASKS["det"], stages={**TASKS["det"].stages, "train": Stage("test_reliability:reads_dataset")}
    )
    run = settings.make_run({}, task, "float64", 0)
    with pytest.raises(data.DataError, match=str(prepared_npz)):
        runner.run_stage(task, "train", run, {"tiny": prepared_npz}, tmp_path / "run" / "train")
    assert list((tmp_path / "run").iterdir()) == [], "no output, no temporary and no empty checkpoint folder"


# --- resume only what matches ---------------------------------------------------------------------------------------

MINE = {"config_hash": "aaaa", "code": "c1"}
KILL_AND_CHANGE = {
    "another config (lr 3e-3 -> 1e-4)": {"config_hash": "bbbb", "code": "c1"},
    "other code": {"config_hash": "aaaa", "code": "c2"},
}


def _killed_run(directory: Path, provenance: dict) -> None:
    checkpoints.claim(directory, provenance)
    checkpoints.save({"model": {"w": torch.ones(2)}}, directory, 10)


@pytest.mark.parametrize("case", KILL_AND_CHANGE)
def test_checkpoints_of_another_config_or_code_are_not_resumed(tmp_path, case):
    _killed_run(tmp_path / "ckpt", KILL_AND_CHANGE[case])
    assert checkpoints.claim(tmp_path / "ckpt", MINE) is True, "the rerun must say it starts over"
    assert checkpoints.load_latest(tmp_path / "ckpt") is None and not list((tmp_path / "ckpt").glob("step*.pt"))


def test_same_config_resumes(tmp_path):
    _killed_run(tmp_path / "ckpt", MINE)
    assert checkpoints.claim(tmp_path / "ckpt", MINE) is False
    assert checkpoints.load_latest(tmp_path / "ckpt")["step"] == 10


def test_a_checkpoint_copied_from_another_run_is_refused(tmp_path):
    _killed_run(tmp_path / "other", KILL_AND_CHANGE["other code"])
    checkpoints.claim(tmp_path / "ckpt", MINE)
    (tmp_path / "ckpt" / "step000000010.pt").write_bytes((tmp_path / "other" / "step000000010.pt").read_bytes())
    assert checkpoints.load_latest(tmp_path / "ckpt") is None


def test_a_changed_config_in_the_runner_starts_over(tmp_path):
    """Through the runner, as `kx stage train` runs it: a kill left checkpoints under lr A; the rerun has lr B."""
    task = TASKS["det"]
    old = settings.make_run({"tasks": {"det": {"params": {"samples": 2}}}}, task, "float64", 0)
    new = settings.make_run({"tasks": {"det": {"params": {"samples": 3}}}}, task, "float64", 0)
    ckpt = tmp_path / ".train.checkpoints"
    from kx_tasks.core.records import code_version

    _killed_run(ckpt, {"config_hash": old.config_hash(), "code": code_version()})
    seen = {}
    task = dataclasses.replace(task, stages={**task.stages, "train": Stage("test_reliability:sees_checkpoints")})
    runner.run_stage(task, "train", new, {"seen": seen}, tmp_path / "train")
    assert seen["latest"] is None


def sees_checkpoints(run, inputs, out_dir):
    inputs["seen"]["latest"] = checkpoints.load_latest(inputs["checkpoints"])


def test_evaluate_refuses_a_train_stage_of_another_config(tmp_path):
    task = TASKS["det"]
    small = {"tasks": {"det": {"params": {"shapes": [[3, 1]], "log10_conds": [0], "samples": 1}}}}
    other = {"tasks": {"det": {"params": {"shapes": [[3, 1]], "log10_conds": [0], "samples": 2}}}}
    runner.run_stage(task, "train", settings.make_run(small, task, "float64", 0), {}, tmp_path / "train")
    with pytest.raises(TaskError, match=r"train was produced by another config .*samples: 1 there, 2 here"):
        runner.run_stage(
            task,
            "evaluate",
            settings.make_run(other, task, "float64", 0, "evaluate"),
            {"train": tmp_path / "train"},
            tmp_path / "eval",
        )
    assert not (tmp_path / "eval").exists()


# --- diverged and non-finite ----------------------------------------------------------------------------------------


def diverges(run, inputs, out_dir):
    from kx_tasks.core.engine import NonFiniteLoss

    raise NonFiniteLoss("train: loss term 'kl' is not finite at step 7 (epoch 1)")


def nan_metric(run, inputs, out_dir):
    return {"purity": float("nan"), "acc": 0.5}


def test_diverged_training_is_a_failure_naming_term_step_and_config(tmp_path):
    task = dataclasses.replace(
        TASKS["det"], stages={**TASKS["det"].stages, "train": Stage("test_reliability:diverges")}
    )
    run = settings.make_run({}, task, "float64", 0)
    with pytest.raises(TaskError, match=r"'kl' is not finite at step 7") as e:
        runner.run_stage(task, "train", run, {}, tmp_path / "train")
    assert run.config_hash() in str(e.value) and not (tmp_path / "train").exists()


def test_non_finite_metrics_are_never_written(tmp_path):
    task = dataclasses.replace(
        TASKS["det"], stages={**TASKS["det"].stages, "evaluate": Stage("test_reliability:nan_metric")}
    )
    run = settings.make_run({}, task, "float64", 0, "evaluate")
    with pytest.raises(TaskError, match="non-finite metrics purity"):
        runner.run_stage(task, "evaluate", run, {}, tmp_path / "eval")
    assert not (tmp_path / "eval").exists()


# --- kx run is safe -------------------------------------------------------------------------------------------------

SMALL = "tasks:\n  det:\n    params:\n      shapes: [[3, 1]]\n      log10_conds: [0]\n      samples: 1\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.yaml").write_text(SMALL)
    return tmp_path


def test_kx_run_writes_to_scratch_not_the_pipeline_tree(project, capsys):
    assert main(["run", "det", "--config", "small.yaml"]) == 0
    assert (project / "results/scratch/det/float64/seed0/eval/metrics.json").exists()
    assert not (project / "results/runs").exists()
    assert main(["run", "det", "--config", "small.yaml", "--out", "results/runs/det/float64/seed0"]) == 2
    assert "only Snakemake writes" in capsys.readouterr().err


def test_kx_run_refuses_a_directory_it_did_not_create(project, capsys):
    mine = project / "thesis"
    mine.mkdir()
    (mine / "train").write_text("my notes")
    assert main(["run", "det", "--config", "small.yaml", "--out", str(mine)]) == 2
    assert "did not create" in capsys.readouterr().err
    assert (mine / "train").read_text() == "my notes"
    assert main(["run", "det", "--config", "small.yaml", "--out", "fresh"]) == 0
    assert main(["run", "det", "--config", "small.yaml", "--out", "fresh"]) == 0, "its own directory it may redo"


def test_two_kx_runs_into_one_directory_cannot_interleave(project, capsys):
    out = project / "shared_out"
    out.mkdir()
    (out / ".kx-run").write_text("{}")
    with open(out / ".kx-run.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a first `kx run` holds it while it works
        assert main(["run", "det", "--config", "small.yaml", "--out", str(out)]) == 2
    assert "another kx run is writing there" in capsys.readouterr().err
    assert not (out / "train").exists()


# --- the report -----------------------------------------------------------------------------------------------------


def _run(root: Path, seed: int, metrics: dict | None, hashes=("h", "h")) -> Path:
    run = root / "det" / "float64" / f"seed{seed}"
    for stage, h in zip(("train", "eval"), hashes, strict=True):
        (run / stage).mkdir(parents=True)
        record = {"task": "det", "variant": "float64", "seed": seed, "wall_time_s": 1.0, "device": "cpu"}
        (run / stage / "run.json").write_text(
            json.dumps(record | {"config_hash": h, "run_hash": h, "git_commit": None})
        )
    if metrics is None:
        (run / "eval" / "run.json").unlink()
    else:
        (run / "eval" / "metrics.json").write_text(json.dumps(metrics))
    return run


def test_a_metric_missing_in_a_seed_is_named_not_nan(tmp_path):
    runs = [_run(tmp_path, 0, {"square_ratio_max": 0.1}), _run(tmp_path, 1, {"other": 1.0})]
    claims = report.build(TASKS, runs, tmp_path / "report").set_index("claim")
    row = claims.loc["det.square"]
    assert "nan" not in row.measured and "missing in seed 1" in row.measured and row.n == 1


def test_stages_of_different_configs_are_refused_naming_the_run(tmp_path):
    runs = [_run(tmp_path, 0, {"square_ratio_max": 0.1}, hashes=("h1", "h2"))]
    with pytest.raises(TaskError, match=r"seed0: all stages of different configs"):
        report.build(TASKS, runs, tmp_path / "report")


def test_partial_report_lists_failed_runs_and_tasks_with_none(tmp_path):
    runs = [_run(tmp_path, 0, {"square_ratio_max": 0.1}), _run(tmp_path, 1, None)]
    runs.append(tmp_path / "vae_cluster" / "mnist" / "seed0")  # never started
    with pytest.raises(TaskError, match="runs the report cannot show"):
        report.build(TASKS, runs, tmp_path / "report")
    report.build(TASKS, runs, tmp_path / "report", partial=True)
    index = (tmp_path / "report" / "index.html").read_text()
    assert 'vae_cluster: <span class="not">no finished runs</span>' in index and "did not finish" in index
    assert "#### vae_cluster: no finished runs" in (tmp_path / "report" / "summary.md").read_text()


# --- files a team can share -----------------------------------------------------------------------------------------


def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        import importlib

        from kx_tasks.core import io

        importlib.reload(io)  # UMASK is read at import
        task = TASKS["det"]
        small = {"tasks": {"det": {"params": {"shapes": [[3, 1]], "log10_conds": [0], "samples": 1}}}}
        io.write_text(tmp_path / "f.txt", "x")
        with io.atomic_dir(tmp_path / "d") as d:
            (d / "a").write_text("a")
        runner.run_stage(task, "train", settings.make_run(small, task, "float64", 0), {}, tmp_path / "train")
    finally:
        os.umask(old)
        importlib.reload(io)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "train").stat().st_mode) == 0o755
    assert {stat.S_IMODE(f.stat().st_mode) for f in (tmp_path / "train").iterdir()} == {0o644}
