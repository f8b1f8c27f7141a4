"""Generated documentation stays generated: every block of README.md and docs/ equals what its source gives now
(`kx docs --check`, in `make lint`), a stale block is named and `kx docs` rewrites only the blocks, pages keep their
anchors unique, and a side run's report is pasted between its markers."""

import shutil

import pytest
from conftest import REPO

from kx_tasks.core import docs
from kx_tasks.core.cli import main
from kx_tasks.core.registry import discover


def test_readme_and_docs_are_current():
    assert docs.stale(REPO, discover()) == [], "run `make docs`"


def test_readme_fits_a_few_screens_and_types_no_overview():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    begin, end = docs.markers(docs.OVERVIEW)
    assert begin in text and end in text
    for name in discover():
        assert f"(docs/tasks/{name}.md)" in text.split(begin)[1].split(end)[0], f"no overview row links {name}'s page"


def test_every_task_page_has_every_parameter():
    for name, task in discover().items():
        text = (REPO / docs.TASK_PAGE.format(name)).read_text()
        for field in task.params.model_fields:
            assert f"| `{field}` |" in text, f"{name}.{field} missing from {docs.TASK_PAGE.format(name)}"


@pytest.fixture
def copy_of_docs(tmp_path):
    for name in ("README.md", "docs", "config", "benchmarks/tables"):
        src, dst = REPO / name, tmp_path / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copyfile)(src, dst)
    (tmp_path / "records").symlink_to(REPO / "records")
    return tmp_path


def test_a_stale_block_is_named_and_kx_docs_rewrites_only_blocks(copy_of_docs, capsys):
    page = copy_of_docs / "docs/tasks/det.md"
    good = page.read_text()
    tampered = good.replace("| **reproduced** |", "| **contradicted** |", 1).replace("## What runs", "## What runs!")
    page.write_text(tampered)
    table = copy_of_docs / "benchmarks/tables/mixup.md"
    table.write_text(table.read_text() + "\n| a new row |\n")
    assert main(["docs", "--check", "--repo", str(copy_of_docs)]) == 2
    err = capsys.readouterr().err
    assert "docs/tasks/det.md: block 'default-run' is out of date" in err
    assert "docs/tasks/mixup.md: block 'benchmark' is out of date" in err
    assert "det.md: block 'params'" not in err, "only the changed blocks are named"
    assert main(["docs", "--repo", str(copy_of_docs)]) == 0
    assert page.read_text() == good.replace("## What runs", "## What runs!"), "hand-written text is left alone"
    assert "| a new row |" in (copy_of_docs / "docs/tasks/mixup.md").read_text()


def test_repeated_anchors_are_found_outside_code():
    text = "# A\n\n## Results: claims\n\n```\n## Results: claims\n```\n\n## results claims\n\n### `B` (c)\n\n## B c\n"
    assert docs.repeated_anchors(text) == ["## results claims", "## B c"]


def test_broken_relative_links_are_found(tmp_path):
    (tmp_path / "a.md").write_text("# A\n\n## Two words\n\n[ok](b.md#b) [ok](#two-words) [web](https://x.org/none)\n")
    (tmp_path / "b.md").write_text("# B\n\n[gone](c.md) [no heading](a.md#three) [dir](.)\n")
    assert docs.broken_links(tmp_path / "a.md") == []
    assert docs.broken_links(tmp_path / "b.md") == ["c.md (no such file)", "a.md#three (no such heading)"]


def test_side_run_is_pasted_between_its_markers(tmp_path, capsys):
    page, summary = tmp_path / "page.md", tmp_path / "summary.md"
    begin, end = docs.pasted_markers("paper-cpu")
    page.write_text(f"# kx\n{begin}\ntyped by hand\n{end}\nrest\n")
    summary.write_text("| claim | verdict |\n|---|---|\n| `a` | **reproduced** |\n")
    assert main(["readme", "--file", str(page), "--summary", str(summary), "--block", "paper-cpu"]) == 0
    text = page.read_text()
    assert "typed by hand" not in text and "| `a` | **reproduced** |" in text and text.endswith("rest\n")
    assert begin in text
    assert main(["readme", "--file", str(summary), "--summary", str(summary), "--block", "x"]) == 2
    assert "missing the markers" in capsys.readouterr().err
