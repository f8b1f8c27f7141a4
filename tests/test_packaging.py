"""pyproject.toml, environment.yml and requirements.lock agree: the same packages with the same constraints, conda-forge
only, every requirement pinned by the lock at a version it allows."""

import re

import tomllib
import yaml
from conftest import REPO

# conda-forge names that differ from PyPI's
CONDA_NAMES = {"torch": "pytorch"}


def split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", requirement).groups()
    return name.lower(), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pip = dict(split(r) for r in project["dependencies"] + extras["dev"] + extras["slurm"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge", "nodefaults"]  # conda-forge only (PyTorch's channel is gone)
    listed = [d for d in env["dependencies"] if isinstance(d, str)]
    from_pip = [r for d in env["dependencies"] if isinstance(d, dict) for r in d["pip"]]
    conda = dict(split(r) for r in listed + from_pip)
    conda.pop("python"), conda.pop("pip")
    expected = {CONDA_NAMES.get(name, name): spec for name, spec in pip.items()}
    assert conda == expected


def test_lock_agrees_with_pyproject(tmp_path):
    """requirements.lock pins what pyproject.toml asks for; an edit of either is caught (`kx lock --check`)."""
    from kx_tasks.core.lockfile import problems

    assert problems(REPO / "pyproject.toml", REPO / "requirements.lock") == []
    text = (REPO / "pyproject.toml").read_text()
    bumped = tmp_path / "pyproject.toml"
    bumped.write_text(text.replace('"numpy>=1.26"', '"numpy>=99"').replace('"mpmath>=1.3",', '"mpmath>=1.3", "rich",'))
    found = problems(bumped, REPO / "requirements.lock")
    assert any("numpy>=99" in p and "pins numpy==" in p for p in found), found
    assert any("asks for rich," in p and "does not pin" in p for p in found), found
    dropped = tmp_path / "dropped.toml"
    dropped.write_text(text.replace('    "statsmodels>=0.14",\n', ""))
    assert any("statsmodels" in p and "no longer asks" in p for p in problems(dropped, REPO / "requirements.lock"))
    missing = tmp_path / "none.lock"
    assert problems(REPO / "pyproject.toml", missing) == [f"{missing}: missing; run `make lock`"]


def test_torch_is_pinned_exactly():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    torch = [r for r in project["dependencies"] if r.startswith("torch")]
    assert torch == ["torch==2.13.0"]


def test_every_code_folder_is_a_package_and_templates_ship():
    """setuptools' find_packages skips folders without __init__.py: a wheel would lose them (and their templates)."""
    folders = {p.parent for p in (REPO / "kx_tasks").rglob("*.py") if "__pycache__" not in p.parts}
    assert [f for f in folders if not (f / "__init__.py").exists()] == []
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["kx_tasks"]
    assert "core/templates/*" in data and list((REPO / "kx_tasks/core/templates").glob("*.j2"))
