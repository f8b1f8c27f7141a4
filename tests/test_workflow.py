"""The Snakemake workflow end to end, in a temporary copy of the repository's workflow files:
dry runs of every shipped config, lint, fail-fast config validation, the smoke pipeline and its report, a no-op
rerun, and a separately installed plugin joining `kx list` and the DAG."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import shared_data_dir
from helpers import BIN, copy_workflow, env, install_toy_plugin, job_blocks, only, snakemake


@pytest.fixture
def workdir(tmp_path) -> Path:
    return copy_workflow(tmp_path)


@pytest.fixture
def no_torch(tmp_path) -> Path:
    """A directory whose `torch` fails to import: put first on the path, any import of torch fails loudly."""
    (tmp_path / "no_torch" / "torch").mkdir(parents=True)
    (tmp_path / "no_torch" / "torch" / "__init__.py").write_text(
        "raise ImportError('building the DAG imported torch')\n"
    )
    return tmp_path / "no_torch"


@pytest.mark.parametrize(
    "config", ["config.yaml", "smoke.yaml", "paper.yaml", "mask40.yaml", "paper_cpu.yaml", "campaign_cpu.yaml"]
)
def test_dry_run(workdir, config, no_torch):
    # Building the DAG (every task and artefact declared, every config checked) must import no torch.
    r = snakemake(workdir, "-n", "--configfile", f"config/{config}", pythonpath=no_torch)
    assert r.returncode == 0, r.stderr
    assert "rule report" in r.stdout + r.stderr
    # a side experiment's report goes to its own folder (report_dir), never over the default's
    own = yaml.safe_load((workdir / "config" / config).read_text()).get("report_dir", "results/report")
    assert f"{own}/index.html" in r.stdout
    assert ("results/report/index.html" in r.stdout) == (own == "results/report")
    # A task with looks: its judging job is in the DAG, the next look's runs are not (they wait on its decision).
    plans = {
        name: block["looks"]
        for name, block in (yaml.safe_load((workdir / "config" / config).read_text()).get("tasks") or {}).items()
        if (block or {}).get("looks")
    }
    for name, looks in plans.items():
        assert f"results/looks/{name}/look1.json" in r.stdout
        assert f"results/runs/{name}/" in r.stdout and f"/seed{looks[0]}/train" not in r.stdout.split("judge")[0]
    assert ("DAG of jobs will be updated after completion" in r.stdout) == bool(plans)


@pytest.mark.parametrize("config", ["config.yaml", "campaign_cpu.yaml"])  # the campaign's: the publish rules too
def test_lint_is_clean(workdir, config):
    r = snakemake(workdir, "--lint", "--configfile", f"config/{config}")
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
        ({"report_dir": "results/rep $(touch PWNED)"}, "report_dir"),
        ({"report_dir": "it's"}, "report_dir"),
        ({"tasks": {"mixup": {"params": {"alpha": 5.0}}}}, "tasks.mixup.params.alpha: 5.0 would be ignored"),
        ({"records_dir": "records/x; rm -rf ~"}, "records_dir"),
        ({"records_dir": "results/runs/published"}, "records_dir"),
    ],
)
def test_bad_config_fails_before_any_job(workdir, bad, named):
    (workdir / "bad.yaml").write_text(yaml.safe_dump(bad))
    r = snakemake(workdir, "--cores", "1", "--configfile", "bad.yaml")
    assert r.returncode != 0
    assert named in r.stdout + r.stderr
    assert not (workdir / "results").exists() and not (workdir / "PWNED").exists()


def test_snakemake_reads_a_config_as_kx_does(workdir):
    """One reading (config_file.resolve): every job gets the parameters kx check and kx run resolve for its variant,
    from the file alone (not merged over config/config.yaml: rsgan's tau_factor stays the model's)."""
    from kx_tasks.core import config_file, settings

    r = snakemake(workdir, "-n", "-p", "--configfile", "config/smoke.yaml")
    assert r.returncode == 0, r.stderr
    config = config_file.resolve([workdir / "config" / "smoke.yaml"])
    expected = settings.user_params(config["tasks"]["rsgan"], "mnist.rsgan_sn")
    assert "tau_factor" not in expected
    line = next(x for x in r.stdout.splitlines() if "kx stage train rsgan --variant mnist.rsgan_sn" in x)
    assert f"--params '{json.dumps(expected, sort_keys=True)}'" in line, line


@pytest.mark.slow
def test_smoke_pipeline_report_and_noop_rerun(workdir):
    configs = ["config/smoke.yaml"]
    data_dir = shared_data_dir()
    # Every run is published too (records_dir; workflow/rules/publish.smk), as a campaign publishes its runs.
    if data_dir is not None:  # exercise prepare_data on the real files too, found through $KX_DATA_DIR
        (workdir / "data.yaml").write_text(yaml.safe_dump({"datasets": ["mnist"], "records_dir": "records/smoke"}))
    else:  # tests never download: the tasks that read datasets sit out
        extra = {"tasks": only("det", "gillespie"), "records_dir": "records/smoke"}
        (workdir / "data.yaml").write_text(yaml.safe_dump(extra))
    configs.append("data.yaml")
    r = snakemake(workdir, "--cores", "2", "--configfile", *configs, data_dir=data_dir)
    assert r.returncode == 0, r.stderr[-3000:]
    results = workdir / "results"
    html = (results / "report" / "index.html").read_text()
    det_page = (results / "report" / "det.html").read_text()
    assert 'id="det"' in html and "det.square" in html and 'href="det.html"' in html
    assert "data:image/png;base64," in det_page and "data:image/png" not in html, "figures live on the task pages"
    assert "#### det: claims" in (results / "report" / "summary.md").read_text()
    claims = pd.read_csv(results / "report" / "claims.csv")
    det = claims[claims.task == "det"]
    assert set(det.variant) == {"float64", "float32"} and (det.n == 2).all()
    assert det.verdict.isin(["reproduced", "contradicted", "no effect", "inconclusive"]).all()
    # The stable method and the definition checks are exact statements; they hold on any seed.
    held = det.set_index(["claim", "variant"]).verdict
    assert held["det.kvolume", "float64"] == "reproduced"
    assert held["det.qr_stable", "float64"] == "reproduced"
    summary = pd.read_csv(results / "report" / "summary.csv")
    assert set(summary.columns) == {"task", "variant", "seed", "metric", "value"}
    assert len(summary[summary.task == "det"].groupby(["variant", "seed"])) == 4
    for run in (results / "runs" / "det").glob("*/seed*"):
        for f in ("eval/metrics.json", "eval/run.json", "eval/config.yaml", "train/run.json"):
            assert (run / f).is_file(), run / f
    assert list((results / "logs" / "train" / "det").rglob("*.log"))
    assert list((results / "benchmarks" / "train" / "det").rglob("*.tsv"))
    if data_dir is not None:
        assert (results / "data" / "mnist.npz").is_file()
        vae = claims[claims.task == "vae_cluster"]
        # The post's purity numbers are judged only on the author's scripts (mnist.sep2018, mnist.dec2018, ...)
        assert set(vae.claim) == {
            "vae_cluster.beats_kmeans",
            "vae_cluster.beats_two_step",
            "vae_cluster.beats_two_step_gmm",
        }, vae
        eval_dir = results / "runs" / "vae_cluster" / "mnist" / "seed0" / "eval"
        for f in ("clusters.png", "samples.png", "confusion.png", "volume_line.png", "metrics.json"):
            assert (eval_dir / f).is_file(), f
        assert "clustering of the test set" in (results / "report" / "vae_cluster.html").read_text()
        # mixup's second look (config/smoke.yaml, looks [2, 3]): the judging job's decision, and seed 2 run for
        # exactly the variants it kept; each mixup comparison says at which look it was decided.
        decision = json.loads((results / "looks" / "mixup" / "look1.json").read_text())
        assert decision["look"] == 1 and set(decision["continue"]) <= {"fashion_mnist.erm", "fashion_mnist.mixup"}
        for variant in ("fashion_mnist.erm", "fashion_mnist.mixup"):
            ran = (results / "runs" / "mixup" / variant / "seed2" / "eval" / "metrics.json").is_file()
            assert ran == (variant in decision["continue"]), (variant, decision)
        compared = claims[(claims.task == "mixup") & claims.effect.notna()]
        assert len(compared) and compared.look.isin([1, 2]).all() and compared.alpha_look.notna().all()
        assert (compared[compared.look == 2].n == 3).all() and (compared[compared.look == 1].n == 2).all()
    check_records(workdir, claims, data_dir)
    again = snakemake(workdir, "--cores", "2", "--configfile", *configs, data_dir=data_dir)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr


def check_records(workdir: Path, claims: pd.DataFrame, data_dir: Path | None) -> None:
    """The smoke run's records (records_dir): every run and artefact published, text only; the report rebuilt from
    the records alone has the pipeline's claims to the byte; kx verify reruns a run and finds it equal, and finds a
    record whose metric was changed different."""
    records = workdir / "records" / "smoke"
    index = json.loads((records / "index.json").read_text())
    ran = sorted(
        p.relative_to(workdir / "results" / "runs").as_posix() for p in (workdir / "results/runs").glob("*/*/seed*")
    )
    assert index["runs"] == ran
    assert index["plans"] and index["config"]["records_dir"] == "records/smoke"
    if data_dir is not None:
        assert "mnist_classifier/shared" in index["artefacts"] and "mixup" in index["looks"]
    kept = {p.suffix for p in records.rglob("*") if p.is_file() and not p.name.startswith(".")}
    assert kept <= {".json", ".jsonl", ".yaml"}, kept
    assert index["bytes"] < 2_000_000
    kx = str(BIN / "kx")
    r = subprocess.run(
        [kx, "report", "--records", "records/smoke"], cwd=workdir, env=env(), capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr[-3000:]
    rebuilt = pd.read_csv(workdir / "results" / "report_records" / "smoke" / "claims.csv")
    pd.testing.assert_frame_equal(rebuilt, claims)
    if data_dir is not None:  # figures across runs are redrawn from the records' metrics and JSON-lines
        for task in ("mixup", "vae_cluster", "rsgan"):
            page = workdir / "results" / "report_records" / "smoke" / f"{task}.html"
            assert "data:image/png;base64," in page.read_text(), task
    # A campaign still running has no index.json yet: --partial previews the runs published so far.
    shutil.copytree(records / "runs", workdir / "records" / "preview" / "runs")
    r = subprocess.run([kx, "report", "--records", "records/preview"], cwd=workdir, env=env(), capture_output=True)
    assert r.returncode == 2, "without --partial, a folder without index.json is refused"
    r = subprocess.run(
        [kx, "report", "--records", "records/preview", "--partial"], cwd=workdir, env=env(), capture_output=True
    )
    assert r.returncode == 0 and (workdir / "results" / "report_records" / "preview" / "claims.csv").is_file()
    run = "records/smoke/runs/det/float64/seed1"
    r = subprocess.run([kx, "verify", run], cwd=workdir, env=env(), capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.split() == ["train", "equal", "evaluate", "equal"], r.stdout + r.stderr
    metrics = workdir / run / "eval" / "metrics.json"
    changed = json.loads(metrics.read_text())
    name = sorted(changed)[0]
    changed[name] += 1.0
    metrics.write_text(json.dumps(changed, indent=2, sort_keys=True) + "\n")
    r = subprocess.run([kx, "verify", run], cwd=workdir, env=env(), capture_output=True, text=True)
    assert r.returncode == 1 and "evaluate" in r.stdout and "different" in r.stdout and name in r.stdout, r.stdout


@pytest.mark.slow
def test_separately_installed_plugin_joins_list_and_dag(workdir, tmp_path):
    target = install_toy_plugin(tmp_path)
    assert (target / "kx_toy-0.1.dist-info" / "entry_points.txt").is_file()

    listed = subprocess.run([BIN / "kx", "list"], env=env(target), capture_output=True, text=True, check=True)
    assert "toy" in listed.stdout and "det" in listed.stdout

    dry = snakemake(workdir, "-n", "--configfile", "config/smoke.yaml", pythonpath=target)
    assert dry.returncode == 0, dry.stderr
    assert "results/runs/toy/plain/seed0/augment" in dry.stdout
    # One artefact job per seed feeds the train jobs of all three variants of that seed (other tasks' artefacts,
    # e.g. rsgan's mnist_classifier, are built once for all seeds).
    toy_builds = [b for b in job_blocks(dry.stdout) if b.startswith("rule artefact:") and "toy_base" in b]
    assert len(toy_builds) == 2, toy_builds  # smoke.yaml: seeds 0 and 1
    blocks = [b for b in job_blocks(dry.stdout) if b.startswith("rule train:") and "runs/toy/" in b]
    assert len(blocks) == 6 and all("results/artefacts/toy_base/seed" in b for b in blocks)

    only_toy = {"tasks": only()}  # the toy plugin is not installed in this process: it stays enabled
    (workdir / "toy.yaml").write_text(yaml.safe_dump(only_toy))
    r = snakemake(workdir, "--cores", "2", "--configfile", "config/smoke.yaml", "toy.yaml", pythonpath=target)
    assert r.returncode == 0, r.stderr[-3000:]
    claims = pd.read_csv(workdir / "results" / "report" / "claims.csv")
    assert set(claims.claim) == {"toy.value"} and (claims.verdict == "reproduced").all() and len(claims) == 3
    assert 'id="toy"' in (workdir / "results" / "report" / "index.html").read_text()
    summary = pd.read_csv(workdir / "results" / "report" / "summary.csv")
    base = summary[summary.metric == "base"].set_index(["variant", "seed"]).value
    assert base.to_dict() == {(v, s): 100.0 + s for v in ("plain", "triplet", "twin") for s in (0, 1)}
    built = sorted(p.relative_to(workdir).as_posix() for p in (workdir / "results" / "artefacts").glob("*/*"))
    assert built == ["results/artefacts/toy_base/seed0", "results/artefacts/toy_base/seed1"]


@pytest.mark.slow
def test_slurm_profile_requests_gpus_per_stage(workdir):
    r = snakemake(workdir, "--profile", "profiles/slurm", "-n", "--configfile", "config/paper.yaml")
    assert r.returncode == 0, r.stderr
    blocks = job_blocks(r.stdout)

    def asks_gpu(rule: str, task: str) -> set[bool]:
        return {"gpu=1" in b for b in blocks if b.startswith(f"rule {rule}:") and f"output: results/runs/{task}/" in b}

    assert asks_gpu("train", "det") == {True} and asks_gpu("evaluate", "det") == {False}  # CPU-only evaluate
    assert asks_gpu("train", "vae_cluster") == asks_gpu("evaluate", "vae_cluster") == {True}
    assert asks_gpu("train", "gillespie") == asks_gpu("evaluate", "gillespie") == {False}
    cpu_only = [b for b in blocks if "rule prepare_data:" in b or "rule report:" in b]
    assert cpu_only and all("gpu=1" not in b for b in cpu_only)
    # The default config computes on the CPU, so nothing asks for a GPU.
    r = snakemake(workdir, "--profile", "profiles/slurm", "-n", "--configfile", "config/config.yaml")
    assert r.returncode == 0 and "gpu=0" in r.stdout and "gpu=1" not in r.stdout
