"""The kx command: list, info, a whole run outside Snakemake, and errors that name what is wrong."""

import json

import pytest
from conftest import REPO

from kx_tasks.core.cli import main


def test_list_and_info(capsys):
    assert main(["list"]) == 0
    assert "det" in capsys.readouterr().out
    assert main(["info", "det"]) == 0
    out = capsys.readouterr().out
    assert "variants:  float64, float32" in out and "det.square" in out and "train -> evaluate" in out


@pytest.mark.slow
def test_run_one_task_outside_snakemake(tmp_path, capsys):
    out = tmp_path / "det"
    code = main(
        [
            "run",
            "det",
            "--variant",
            "float32",
            "--seed",
            "1",
            "--config",
            str(REPO / "config/smoke.yaml"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert json.loads(capsys.readouterr().out) == metrics
    assert (out / "eval" / "relative_error.png").is_file() and (out / "train" / "errors.csv").is_file()


def test_errors_name_the_problem(tmp_path, capsys):
    assert main(["info", "nope"]) == 2
    assert "unknown task 'nope'" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("tasks:\n  det:\n    params:\n      samplez: 3\n")
    assert main(["run", "det", "--config", str(bad), "--out", str(tmp_path / "x")]) == 2
    assert "tasks.det.params.samplez" in capsys.readouterr().err
    assert main(["run", "det", "--variant", "float16", "--out", str(tmp_path / "y")]) == 2
    assert "unknown variant 'float16'" in capsys.readouterr().err
    assert main(["data", "cifar", "--out", str(tmp_path / "c.npz")]) == 2
    assert "unknown dataset 'cifar'" in capsys.readouterr().err
