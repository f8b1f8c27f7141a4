"""Generated documentation stays generated: config/README.md's parameter tables equal what the parameter models
give, and the README's results section is pasted between its markers."""

from conftest import REPO

from kx_tasks.core import docs
from kx_tasks.core.cli import main
from kx_tasks.core.registry import discover


def test_config_readme_parameter_tables_are_current():
    path = REPO / "config" / "README.md"
    assert docs.is_current(path, discover()), "config/README.md is out of date: run `make docs`"
    text = path.read_text()
    for name, task in discover().items():
        assert f"### `{name}` parameters" in text
        for field in task.params.model_fields:
            assert f"| `{field}` |" in text, f"{name}.{field} missing from config/README.md"


def test_docs_check_fails_on_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "README.md"
    stale.write_text(f"intro\n{docs.PARAMS[0]}\nold table\n{docs.PARAMS[1]}\noutro\n")
    assert main(["docs", "--check", "--file", str(stale)]) == 2
    assert "out of date" in capsys.readouterr().err
    assert main(["docs", "--file", str(stale)]) == 0
    assert main(["docs", "--check", "--file", str(stale)]) == 0
    text = stale.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old table" not in text


def test_readme_results_are_pasted_between_markers(tmp_path, capsys):
    readme, summary = tmp_path / "README.md", tmp_path / "summary.md"
    readme.write_text(f"# kx\n{docs.RESULTS[0]}\ntyped by hand\n{docs.RESULTS[1]}\nrest\n")
    summary.write_text("| claim | verdict |\n|---|---|\n| `a` | **reproduced** |\n")
    assert main(["readme", "--file", str(readme), "--summary", str(summary)]) == 0
    text = readme.read_text()
    assert "typed by hand" not in text and "| `a` | **reproduced** |" in text and text.endswith("rest\n")
    begin, end = docs.result_markers("paper-cpu")  # a second report's block, filled independently
    readme.write_text(f"{text}{begin}\nold\n{end}\n")
    summary.write_text("| one seed |\n")
    assert main(["readme", "--file", str(readme), "--summary", str(summary), "--block", "paper-cpu"]) == 0
    text = readme.read_text()
    assert "| `a` | **reproduced** |" in text and "| one seed |" in text and "old" not in text
    assert main(["readme", "--file", str(summary), "--summary", str(summary)]) == 2  # no markers: an error
    assert "missing the markers" in capsys.readouterr().err


def test_project_readme_has_the_results_markers():
    text = (REPO / "README.md").read_text()
    assert docs.RESULTS[0] in text and docs.RESULTS[1] in text


def test_readme_task_sections_are_replaced_alone(tmp_path, capsys):
    readme, summary = tmp_path / "README.md", tmp_path / "summary.md"
    old = (
        "#### det: claims\n\n| det old |\n\n#### mlm_mae: claims\n\n| mlm old |\n\n#### mlm_mae: sweep\n\n| sweep old |"
    )
    old += "\n\n#### rsgan: claims\n\n| rsgan old |"
    readme.write_text(f"# kx\n{docs.RESULTS[0]}\n{old}\n{docs.RESULTS[1]}\nrest\n")
    summary.write_text("#### mlm_mae: claims\n\n| mlm new |\n\n#### mlm_mae: MAE\n\n| mae new |\n")
    assert main(["readme", "--file", str(readme), "--summary", str(summary), "--task", "mlm_mae"]) == 0
    body = readme.read_text().split(docs.RESULTS[0])[1].split(docs.RESULTS[1])[0]
    assert body.index("| det old |") < body.index("| mlm new |") < body.index("| mae new |") < body.index("rsgan old")
    assert "mlm old" not in body and "sweep old" not in body
    summary.write_text("#### fvae: claims\n\n| fvae new |\n")  # a task new to the block: in alphabetical order
    assert main(["readme", "--file", str(readme), "--summary", str(summary), "--task", "fvae"]) == 0
    body = readme.read_text().split(docs.RESULTS[0])[1]
    assert body.index("| det old |") < body.index("| fvae new |") < body.index("| mlm new |")
    assert main(["readme", "--file", str(readme), "--summary", str(summary), "--task", "gillespie"]) == 2
    assert "no sections of task 'gillespie'" in capsys.readouterr().err
