"""The report's shared pieces: mean ± std tables, Markdown tables, and pages rendered from the templates."""

import json

import pandas as pd
import pytest

from kx_tasks.core import report
from kx_tasks.core.registry import discover

METRICS = pd.DataFrame(
    [
        {"task": "det", "variant": v, "seed": s, "metric": m, "value": x}
        for v, base in (("float64", 1.0), ("float32", 2.0))
        for s in (0, 1, 2)
        for m, x in (("a", base + s), ("b", 10 * base))
    ]
)


def test_mean_std_table():
    t = report.mean_std_table(METRICS, "metric", "variant")
    assert t.loc["a", "float64"] == "2 ± 1" and t.loc["b", "float32"] == "20 ± 0"
    counted = report.mean_std_table(METRICS, "metric", "variant", fmt="{mean:.2f} ({n})")
    assert counted.loc["a", "float32"] == "3.00 (3)"
    one = report.mean_std_table(METRICS[METRICS.seed == 0], "variant", "metric")
    assert one.loc["float64", "a"] == "1 ± 0"  # one seed: std 0, not NaN


def test_markdown_table_escapes_pipes():
    md = report.markdown_table(pd.DataFrame({"x": ["a|b"], "y": [1]}))
    assert md.splitlines() == ["| x | y |", "|---|---|", "| a\\|b | 1 |"]


@pytest.fixture
def runs(tmp_path):
    """Two finished det runs as the pipeline leaves them (no figures)."""
    dirs = []
    for seed in (0, 1):
        run = tmp_path / "runs" / "det" / "float64" / f"seed{seed}"
        for stage in ("train", "eval"):
            (run / stage).mkdir(parents=True)
            record = {"task": "det", "variant": "float64", "seed": seed, "wall_time_s": 1.5, "device": "cpu"}
            record |= {"config_hash": "h", "git_commit": None}
            (run / stage / "run.json").write_text(json.dumps(record))
        (run / "eval" / "metrics.json").write_text(json.dumps({"square_ratio_max": 0.1 * (seed + 1)}))
        dirs.append(run)
    return dirs


def test_build_writes_index_task_pages_and_markdown(runs, tmp_path):
    out = tmp_path / "report"
    claims = report.build(discover(), runs, out)
    assert {p.name for p in out.iterdir()} == {"index.html", "det.html", "summary.csv", "claims.csv", "summary.md"}
    square = claims.set_index("claim").loc["det.square"]
    assert square.verdict == "reproduced" and square.n == 2
    index, page = (out / "index.html").read_text(), (out / "det.html").read_text()
    assert 'href="det.html"' in index and "det.square" in index and "reproduced" in index
    assert "train_s" in page and "← all tasks" in page
    assert "<script" not in page and "&lt;" not in index.split("<body>")[0]
    assert "| `det.square` |" in (out / "summary.md").read_text()
    missing = claims.set_index("claim").loc["det.kvolume"]
    assert missing.verdict == "inconclusive" and "no run reported" in missing.reason


def test_pages_work_offline_open_with_the_overview_and_scroll_wide_tables(runs, tmp_path):
    out = tmp_path / "report"
    report.build(discover(), runs, out, note="Published in `records/x`: [a link](https://kexue.fm)")
    index = (out / "index.html").read_text()
    body = index.split("<body>")[1]
    assert body.index('id="overview"') < body.index('id="det"'), "the answer comes first"
    assert "<code>records/x</code>" in index and '<a href="https://kexue.fm">a link</a>' in index
    for page in (index, (out / "det.html").read_text()):
        assert "<script" not in page and "<link" not in page and 'src="http' not in page and "@import" not in page
        assert page.count("<table") == page.count('<div class="scroll"><table'), "a table that widens the page"
        claims_head = page.split('<table class="t claims">')[1].split("</tr>")[0]
        assert claims_head.index("verdict") < claims_head.index("rule") < claims_head.index("statement")


def test_timing_metrics_are_kept_out_of_metrics_json():
    from kx_tasks.core.runner import split_timings

    measured, timings = split_timings({"fano.n": 2.2, "timing.speedup.eps0.03": 12.5})
    assert measured == {"fano.n": 2.2} and timings == {"timing.speedup.eps0.03": 12.5}


def test_every_training_task_says_what_share_of_the_authors_training_its_default_is():
    """Task.author_compute: a share in (0, 1] with what it is counted on, for every variant a default config runs
    (the exact-claim tasks and variants have none)."""
    from kx_tasks.core import config_file, settings

    tasks = discover()
    config = config_file.resolve(["config/config.yaml"])
    for name in ("vae_cluster", "mixup", "rsgan", "fvae", "mlm_mae"):
        hook = report.resolve(tasks[name].author_compute, name)
        for variant in settings.variants(config, tasks[name]):
            params = settings.make_run(config, tasks[name], variant, 0).params.model_dump()
            share = hook(variant, params)
            if variant in ("theory", "mae"):
                assert share is None, (name, variant)
                continue
            assert 0 < share[0] <= 1 and "of" in share[1], (name, variant, share)
    assert tasks["det"].author_compute is None and tasks["gillespie"].author_compute is None


def test_the_overview_counts_the_posts_claims_of_each_report_side_by_side():
    tasks = discover()
    claims = pd.DataFrame(
        {
            "task": ["mixup"] * 3 + ["det"],
            "source": ["post", "post", "kx", "post"],
            "verdict": ["reproduced", "inconclusive", "reproduced", "reproduced"],
        }
    )
    params = {"arch": "small_cnn", "epochs": 40, "train_size": 5000}
    runs = pd.DataFrame({"task": ["mixup"], "variant": ["fashion_mnist.mixup"], "params": [params]})
    later = claims.assign(verdict=["reproduced", "contradicted", "reproduced", "reproduced"])
    table = report.overview(tasks, {"default": (claims, runs), "campaign": (later, runs)})
    row = table.set_index("post").loc["[mixup](https://kexue.fm/archives/5693)"]
    assert (
        row["default: the post's claims (reproduced / contradicted / no effect / inconclusive)"] == "1 / 0 / 0 / 1"
    )  # kx's own left out
    assert row["campaign: the post's claims (reproduced / contradicted / no effect / inconclusive)"] == "1 / 1 / 0 / 0"
    assert row["campaign: share of the author's training"].startswith("2.00% (images seen")  # 40·5,000 / 200·50,000
    assert table.set_index("post").iloc[0]["default: share of the author's training"] == "–"  # det: no training
