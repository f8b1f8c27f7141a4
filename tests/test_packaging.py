"""pyproject.toml and environment.yml list the same packages with the same version constraints."""

import re

import tomllib
import yaml
from conftest import REPO

# conda-forge / pytorch channel names that differ from PyPI's
CONDA_NAMES = {"torch": "pytorch"}


def split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", requirement).groups()
    return name.lower(), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pip = dict(split(r) for r in project["dependencies"] + extras["dev"] + extras["slurm"])
    conda = dict(split(r) for r in yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"])
    conda.pop("python")
    expected = {CONDA_NAMES.get(name, name): spec for name, spec in pip.items()}
    assert conda == expected


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
