"""Published runs (kx_tasks/core/publish.py) and `kx verify`'s comparison (kx_tasks/core/verify.py): what a record
holds, and which differences between a record and a rerun count. End to end (the smoke pipeline publishing, the
report from the records, kx verify): tests/test_workflow.py; one run of the recorded campaign: below."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import shared_data_dir
from helpers import BIN, env

from kx_tasks.core import publish, verify
from kx_tasks.core.registry import TaskError

REPO = Path(__file__).resolve().parents[1]


def stage_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "run.json").write_text('{"run_hash": "abc", "wall_time_s": 1.0}\n')
    (root / "config.yaml").write_text("params: {a: 1}\n")
    (root / "metrics.json").write_text('{"acc": 0.5}\n')
    (root / "history.jsonl").write_text('{"loss": 1.0, "seconds": 2.0, "images_per_s": 10.0, "step": 1}\n')
    (root / "model.pt").write_bytes(b"\0" * 1000)
    (root / "figure.png").write_bytes(b"\x89PNG" + b"\0" * 100)
    (root / "big.json").write_text(json.dumps({"x": "y" * (publish.MAX_BYTES + 1)}))
    return root


def test_a_published_folder_holds_the_text_and_names_what_it_left_out(tmp_path):
    src = stage_folder(tmp_path / "train")
    publish.publish_folder(src, tmp_path / "out" / "train")
    out = tmp_path / "out" / "train"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["run.json", "config.yaml", "metrics.json", "history.jsonl", publish.MANIFEST]
    )
    manifest = json.loads((out / publish.MANIFEST).read_text())
    assert set(manifest["left_out_bytes"]) == {"model.pt", "figure.png", "big.json"}
    assert manifest["left_out_bytes"]["model.pt"] == 1000
    assert manifest["copied"]["metrics.json"] == publish.sha256(src / "metrics.json")


def test_an_unfinished_stage_is_not_published(tmp_path):
    src = stage_folder(tmp_path / "train")
    (src / "run.json").unlink()
    with pytest.raises(TaskError, match="did not finish"):
        publish.publish_folder(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_verify_compares_every_value_but_the_clock_readings(tmp_path):
    record = stage_folder(tmp_path / "record")
    publish.publish_folder(record, tmp_path / "published")
    rerun = stage_folder(tmp_path / "rerun")
    # another wall clock: run.json, the rows' seconds and rates, timing.* keys: all equal
    (rerun / "run.json").write_text('{"run_hash": "abc", "wall_time_s": 9.0}\n')
    (rerun / "history.jsonl").write_text('{"loss": 1.0, "seconds": 7.0, "images_per_s": 3.0, "step": 1}\n')
    assert verify.compare(tmp_path / "published", rerun) == []
    (rerun / "metrics.json").write_text('{"acc": 0.5000001}\n')
    (rerun / "history.jsonl").write_text('{"loss": 1.5, "seconds": 2.0, "images_per_s": 10.0, "step": 1}\n')
    found = verify.compare(tmp_path / "published", rerun)
    assert any("metrics.json: acc: 0.5 recorded, 0.5000001 rerun" in d for d in found), found
    assert any("history.jsonl: row 1, loss" in d for d in found), found


def test_a_timing_key_of_a_json_table_is_a_clock_reading(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text('{"share": 1, "timing.augment_share": 0.1}\n')
    b.write_text('{"share": 1, "timing.augment_share": 0.2}\n')
    assert verify.first_difference(a, b) is None
    b.write_text('{"share": 2, "timing.augment_share": 0.1}\n')
    assert "share: 1 recorded, 2 rerun" in verify.first_difference(a, b)
    a.write_text('{"acc": 0.9, "train_seconds": 100.2}\n')  # a classifier's own record of its training time
    b.write_text('{"acc": 0.9, "train_seconds": 117.9}\n')
    assert verify.first_difference(a, b) is None


def test_kx_verify_refuses_what_is_not_a_published_run(tmp_path):
    r = subprocess.run([str(BIN / "kx"), "verify", str(tmp_path)], env=env(), capture_output=True, text=True)
    assert r.returncode == 2 and "not a published run" in r.stderr


PUBLISHED = [p.parent for p in sorted((REPO / "records").glob("*/index.json"))]


@pytest.mark.slow
@pytest.mark.skipif(not PUBLISHED, reason="no published records folder")
def test_the_cheapest_published_run_verifies(tmp_path):
    """The cheapest run of every records folder (by its recorded wall time; a run that reads an artefact counts its
    rebuild as 1,000 s), rerun from scratch with `kx verify`: every stage equal to its record. One run, so that CI
    stays short as campaigns are published; `kx verify` checks any other run by hand."""

    def cost(run: Path) -> float:
        stage_records = [json.loads(p.read_text()) for p in run.glob("*/run.json")]
        reads_artefact = any("--expect" in r.get("argv", []) for r in stage_records)
        return sum(r["wall_time_s"] for r in stage_records) + 1000.0 * reads_artefact

    runs = [run for records in PUBLISHED for run in publish.run_dirs(records)]
    if shared_data_dir() is None:  # tests never download: only runs that read no dataset
        runs = [r for r in runs if not any("results/data/" in p.read_text() for p in r.glob("*/run.json"))]
    cheapest = min(runs, key=cost)
    r = subprocess.run(
        [
            str(BIN / "kx"),
            "verify",
            str(cheapest),
            "--out",
            str(tmp_path / "rerun"),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        env=env(data_dir=shared_data_dir()),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    lines = [line.split() for line in r.stdout.splitlines() if line and not line.startswith(" ")]
    assert lines and all(words[-1] == "equal" for words in lines), r.stdout


def test_a_run_of_a_campaign_still_running_is_a_published_run(tmp_path):
    """A records folder without its index yet (the campaign runs on) still has published runs `kx verify` can check;
    a folder that is not a published stage is refused."""
    run = tmp_path / "records" / "campaign" / "runs" / "det" / "float64" / "seed0"
    (run / "train").mkdir(parents=True)
    with pytest.raises(TaskError, match="not a published run"):
        publish.records_of(run)
    (run / "train" / publish.MANIFEST).write_text("{}")
    assert publish.records_of(run) == tmp_path / "records" / "campaign"
    with pytest.raises(TaskError, match="not a published run"):
        publish.records_of(tmp_path / "records" / "campaign" / "det" / "float64" / "seed0")
