"""The Snakemake workflow end to end, in a temporary copy of the repository's workflow files:
dry runs of every shipped config, lint, fail-fast config validation, the smoke pipeline and its report, a no-op
rerun, and a separately installed plugin joining `kx list` and the DAG."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, shared_data_dir

BIN = Path(sys.executable).parent


def copy_workflow(dest: Path) -> Path:
    for name in ("Snakefile", "environment.yml"):
        shutil.copy(REPO / name, dest / name)
    shutil.copytree(REPO / "workflow", dest / "workflow")
    shutil.copytree(REPO / "config", dest / "config")
    return dest


def env(extra_pythonpath: Path | None = None, data_dir: Path | None = None) -> dict:
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"  # the rules call this environment's `kx`
    e.pop("KX_DATA_DIR", None)
    if data_dir:
        e["KX_DATA_DIR"] = str(data_dir)
    if extra_pythonpath:
        e["PYTHONPATH"] = str(extra_pythonpath)
    return e


def snakemake(workdir: Path, *args: str, pythonpath: Path | None = None, data_dir: Path | None = None, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        env=env(pythonpath, data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def workdir(tmp_path) -> Path:
    return copy_workflow(tmp_path)


@pytest.mark.parametrize("config", ["config.yaml", "smoke.yaml", "paper.yaml"])
def test_dry_run(workdir, config):
    r = snakemake(workdir, "-n", "--configfile", f"config/{config}")
    assert r.returncode == 0, r.stderr
    assert "rule report" in r.stdout + r.stderr


def test_lint_is_clean(workdir):
    r = snakemake(workdir, "--lint")
    assert r.returncode == 0 and "Lints for" not in r.stdout + r.stderr, r.stdout + r.stderr


@pytest.mark.parametrize(
    "bad, named",
    [
        ({"seedz": [0]}, "seedz"),
        ({"seeds": "zero"}, "seeds"),
        ({"device": "tpu"}, "device"),
        ({"tasks": {"dett": {}}}, "tasks.dett"),
        ({"tasks": {"det": {"params": {"sampels": 3}}}}, "tasks.det.params.sampels"),
        ({"tasks": {"det": {"params": {"samples": "ten"}}}}, "tasks.det.params.samples"),
        ({"tasks": {"det": {"variantz": ["float64"]}}}, "variantz"),
    ],
)
def test_bad_config_fails_before_any_job(workdir, bad, named):
    (workdir / "bad.yaml").write_text(yaml.safe_dump(bad))
    r = snakemake(workdir, "--cores", "1", "--configfile", "bad.yaml")
    assert r.returncode != 0
    assert named in r.stdout + r.stderr
    assert not (workdir / "results").exists()


@pytest.mark.slow
def test_smoke_pipeline_report_and_noop_rerun(workdir):
    configs = ["config/smoke.yaml"]
    data_dir = shared_data_dir()
    if data_dir is not None:  # exercise prepare_data on the real files too, found through $KX_DATA_DIR
        (workdir / "data.yaml").write_text(yaml.safe_dump({"datasets": ["mnist"]}))
        configs.append("data.yaml")
    r = snakemake(workdir, "--cores", "2", "--configfile", *configs, data_dir=data_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    results = workdir / "results"
    html = (results / "report" / "index.html").read_text()
    assert "id='det'" in html and "det.square" in html and "data:image/png;base64," in html
    claims = pd.read_csv(results / "report" / "claims.csv")
    det = claims[claims.task == "det"]
    assert set(det.variant) == {"float64", "float32"} and (det.n == 2).all()
    assert det.verdict.isin(["reproduced", "not reproduced", "inconclusive"]).all()
    # The stable method and the definition checks are exact statements; they hold on any seed.
    held = det.set_index(["claim", "variant"]).verdict
    assert held["det.kvolume", "float64"] == "reproduced"
    assert held["det.qr_stable", "float64"] == "reproduced"
    summary = pd.read_csv(results / "report" / "summary.csv")
    assert set(summary.columns) == {"task", "variant", "seed", "metric", "value"}
    assert len(summary.groupby(["task", "variant", "seed"])) == 4
    for run in (results / "runs" / "det").glob("*/seed*"):
        for f in ("eval/metrics.json", "eval/run.json", "eval/config.yaml", "train/run.json"):
            assert (run / f).is_file(), run / f
    assert list((results / "logs" / "train" / "det").rglob("*.log"))
    assert list((results / "benchmarks" / "train" / "det").rglob("*.tsv"))
    if data_dir is not None:
        assert (results / "data" / "mnist.npz").is_file()
    again = snakemake(workdir, "--cores", "2", "--configfile", *configs, data_dir=data_dir)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr


TOY = '''
"""A throwaway kx plugin, installed from a wheel by the tests."""
from dataclasses import dataclass

from kx_tasks.claims import AtLeast, Claim
from kx_tasks.registry import TaskSpec


@dataclass(frozen=True)
class ToyConfig:
    scale: float = 2.0


def augment(run, inputs, out_dir):
    (out_dir / "x.txt").write_text(str(run.seed * run.params.scale))


def train(run, inputs, out_dir):
    (out_dir / "v.txt").write_text(str(float((inputs["augment"] / "x.txt").read_text()) + 1))


def evaluate(run, inputs, out_dir):
    return {"value": float((inputs["train"] / "v.txt").read_text())}


TASK = TaskSpec(
    name="toy",
    summary="a throwaway plugin from another distribution",
    post_url="https://example.org/toy",
    variants=("plain",),
    config=ToyConfig,
    augment=augment,
    train=train,
    evaluate=evaluate,
    claims=(Claim("toy.value", "the value is at least 1", "value", AtLeast(1.0, every_seed=True)),),
)
'''


def build_wheel(dest: Path) -> Path:
    """A real wheel (dist-info with entry_points.txt and a RECORD), written by hand: no build backend needed."""
    files = {
        "kx_toy/__init__.py": TOY,
        "kx_toy-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: kx-toy\nVersion: 0.1\n",
        "kx_toy-0.1.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: kx-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        "kx_toy-0.1.dist-info/entry_points.txt": "[kx_tasks.tasks]\ntoy = kx_toy:TASK\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("kx_toy-0.1.dist-info/RECORD,,")
    files["kx_toy-0.1.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = dest / "kx_toy-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return wheel


@pytest.mark.slow
def test_separately_installed_plugin_joins_list_and_dag(workdir, tmp_path):
    target = tmp_path / "site"
    wheel = build_wheel(tmp_path)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--target", str(target)]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True, timeout=300)
    assert (target / "kx_toy-0.1.dist-info" / "entry_points.txt").is_file()

    listed = subprocess.run([BIN / "kx", "list"], env=env(target), capture_output=True, text=True, check=True)
    assert "toy" in listed.stdout and "det" in listed.stdout

    dry = snakemake(workdir, "-n", "--configfile", "config/smoke.yaml", pythonpath=target)
    assert dry.returncode == 0, dry.stderr
    assert "results/runs/toy/plain/seed0/augment" in dry.stdout

    (workdir / "toy.yaml").write_text(yaml.safe_dump({"tasks": {"det": {"enabled": False}}}))
    r = snakemake(workdir, "--cores", "2", "--configfile", "config/smoke.yaml", "toy.yaml", pythonpath=target)
    assert r.returncode == 0, r.stderr[-3000:]
    claims = pd.read_csv(workdir / "results" / "report" / "claims.csv")
    assert claims.claim.tolist() == ["toy.value"] and claims.verdict.tolist() == ["reproduced"]
    assert "id='toy'" in (workdir / "results" / "report" / "index.html").read_text()
