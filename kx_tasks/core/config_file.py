"""A workflow config file read and checked exactly as the pipeline checks it, before any job starts.

`make run`, `make dry-run` and `kx run` come through `load_and_check`; the Snakefile calls `check` on the config
Snakemake loaded. Every problem is one line naming the file and the key (not a dump of the schema); a YAML syntax
error names the file, the line and the column; a file whose top level is not a mapping says so.

    kx check config/config.yaml          # the command `make run` runs first

References:
- jsonschema's iter_errors (every error, not the first): https://python-jsonschema.readthedocs.io/
- Snakemake's config validation (snakemake.utils.validate), which the Snakefile still runs for the defaults.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from kx_tasks.core.params import YAML11_FLOAT, ConfigError

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG = "config/config.yaml"  # the Snakefile's `configfile:`; --configfile values are merged over it


class _Loader(yaml.SafeLoader):
    """safe_load, plus YAML 1.2's reading of `1e-3` as a float (YAML 1.1 makes it a string)."""


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", YAML11_FLOAT, list("-+0123456789."))


def read(path: str | Path) -> dict:
    """The file's mapping; a syntax error or a non-mapping top level names the file (and the line)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the config file ({e.strerror})") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}:1: the top level must be a mapping of keys (seeds, tasks, ...), got a {type(data).__name__}"
        )
    return data


def merge(base: dict, update: dict) -> dict:
    """Snakemake's merge of a --configfile over the Snakefile's configfile: mappings key by key, the rest replaced."""
    out = dict(base)
    for key, value in update.items():
        out[key] = merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def _key(path) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[") or "(top level)"


@functools.cache
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))


def schema_problems(config: dict) -> list[str]:
    """One line per violation of workflow/schemas/config.schema.yaml: `key: message`."""
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(schema()).iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    out = []
    for e in errors:
        if e.validator == "additionalProperties" and e.validator_value is False:
            known = e.schema.get("properties", {})
            for extra in sorted(set(e.instance) - set(known)):
                out.append(f"{_key([*e.absolute_path, extra])}: not a known key (known: {', '.join(known)})")
        elif e.validator == "uniqueItems":
            out.append(f"{_key(e.absolute_path)}: repeated items in {e.instance!r}")
        else:
            out.append(f"{_key(e.absolute_path)}: {e.message}")
    return out


def with_defaults(config: dict) -> dict:
    """The top-level defaults of the schema filled in (what Snakemake's validate does for the pipeline)."""
    return {**{k: p["default"] for k, p in schema()["properties"].items() if "default" in p}, **config}


def check(config: dict, where: str) -> dict:
    """The schema (every problem, one line each), then what depends on the installed plugins; returns the
    config with defaults. Raises ConfigError whose lines start with `where`."""
    from kx_tasks.core import settings
    from kx_tasks.core.registry import discover, discover_artefacts

    config = with_defaults(config)
    problems = schema_problems(config)
    if problems:
        raise ConfigError("\n".join(f"{where}: {p}" for p in problems))
    try:
        settings.check_config(config, discover(), discover_artefacts())
    except ConfigError as e:
        raise ConfigError("\n".join(f"{where}: {line}" for line in str(e).splitlines())) from None
    return config


def label(files) -> str:
    """How an error names the config Snakemake merged: the last file given, over the ones before it."""
    names = list(dict.fromkeys(str(f) for f in files))  # Snakemake lists --configfile first, the Snakefile's after
    if not names:
        return "config"
    first, rest = names[0], names[1:]
    return f"{first} (over {', '.join(rest)})" if rest else first


def load_and_check(path: str | Path, over_default: bool = False) -> dict:
    """Read `path` and check it. over_default: as the pipeline sees it, merged over config/config.yaml."""
    config = read(path)
    default = Path(DEFAULT_CONFIG)
    if over_default and default.exists() and default.resolve() != Path(path).resolve():
        config = merge(read(default), config)
    return check(config, str(path))
