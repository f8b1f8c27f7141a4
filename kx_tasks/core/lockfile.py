"""requirements.lock against pyproject.toml: the lock (`make lock`, pip-compile with hashes) must pin every package
pyproject.toml asks for (dependencies and the dev and slurm extras) at a version its constraint allows, and nothing
else directly; `make lint` runs this check (`kx lock --check`), so a pyproject edit without `make lock` fails CI.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

EXTRAS = ("dev", "slurm")  # the extras `make` installs, and so the lock holds
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)")
DIRECT = "kx (pyproject.toml)"  # pip-compile's "# via" line for a package pyproject.toml asks for


def wanted(pyproject: Path) -> dict[str, Requirement]:
    """pyproject.toml's requirements that the lock must pin: name -> requirement."""
    import tomllib  # Python ≥ 3.11, as the lock is

    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in EXTRAS:
        lines += project.get("optional-dependencies", {}).get(extra, [])
    return {canonicalize_name(r.name): r for r in map(Requirement, lines)}


def pinned(lock: Path) -> tuple[dict[str, Version], set[str]]:
    """The lock's pins (name -> version) and the names it marks as asked for by pyproject.toml."""
    pins, direct, current = {}, set(), None
    for line in lock.read_text(encoding="utf-8").splitlines():
        found = PIN.match(line)
        if found:
            current = canonicalize_name(found[1])
            pins[current] = Version(found[2])
        elif current and line.strip().lstrip("#").strip() in (f"via {DIRECT}", DIRECT):
            direct.add(current)
    return pins, direct


def problems(pyproject: Path, lock: Path) -> list[str]:
    """Every disagreement between the two files, one line each (none: they agree)."""
    if not lock.exists():
        return [f"{lock}: missing; run `make lock`"]
    asks, (pins, direct) = wanted(pyproject), pinned(lock)
    out = []
    for name, req in sorted(asks.items()):
        if name not in pins:
            out.append(f"{pyproject} asks for {req}, which {lock.name} does not pin")
        elif not req.specifier.contains(pins[name], prereleases=True):
            out.append(f"{pyproject} asks for {req}, {lock.name} pins {name}=={pins[name]}")
    for name in sorted(direct - set(asks)):
        out.append(f"{lock.name} pins {name} as asked for by pyproject.toml, which no longer asks for it")
    return [f"{line}; run `make lock`" for line in out]
