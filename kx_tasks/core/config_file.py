"""A workflow config file read and checked exactly as the pipeline checks it, before any job starts.

One reading for all three readers (`resolve`): `kx check`, `kx run` and the Snakefile see the files given, merged in
order (the last on top), and nothing under them; config/config.yaml is the config when none is given. Every file is
a whole config (schema and parameter-model defaults fill the rest), so a file means the same wherever it is read.
Every problem is one line naming the key and the file that set it (not a dump of the schema); a YAML syntax error
names the file, the line and the column; a file whose top level is not a mapping says so.

    kx check config/config.yaml          # the command `make run` runs first

References:
- jsonschema's iter_errors (every error, not the first): https://python-jsonschema.readthedocs.io/
- Snakemake's config validation (snakemake.utils.validate), which the Snakefile still runs for the defaults.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

from kx_tasks.core.params import YAML11_FLOAT, ConfigError

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG = "config/config.yaml"  # the config of a run given none (--configfile files are not merged over it)


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
    """Snakemake's merge of one --configfile over the ones before it: mappings key by key, the rest replaced."""
    out = dict(base)
    for key, value in update.items():
        out[key] = merge(out[key], value) if isinstance(out.get(key), dict) and isinstance(value, dict) else value
    return out


def files(given) -> list[str]:
    """The config files of a run: the ones given (merged in order, the last on top), or the default config (the
    working directory's, else this checkout's)."""
    names = list(dict.fromkeys(str(f) for f in given or ()))
    if names:
        return names
    return [DEFAULT_CONFIG if Path(DEFAULT_CONFIG).exists() else str(SCHEMA.parents[2] / DEFAULT_CONFIG)]


def resolve(paths) -> dict:
    """The one reading of a config for `kx check`, `kx run` and the Snakefile: the files merged in order (the last
    wins), nothing else under them (config/config.yaml only when no file is given); defaults come from the schema
    and the parameter models."""
    config: dict = {}
    for path in files(paths):
        config = merge(config, read(path))
    return config


def _leaves(data: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        out.extend(_leaves(value, name) if isinstance(value, dict) and value else [name])
    return out


def origins(paths) -> dict[str, str]:
    """Every key a file sets (dotted, leaves only) -> the file whose value counts (the last that sets it)."""
    out: dict[str, str] = {}
    for path in files(paths):
        try:
            data = read(path)
        except ConfigError:
            continue
        out.update(dict.fromkeys(_leaves(data), path))
    return out


def source_of(key: str, paths, where: dict[str, str] | None = None) -> str:
    """The file that set `key` (or the last that set anything under it); all the files when none did."""
    where = origins(paths) if where is None else where
    named = [f for k, f in where.items() if key == k or key.startswith((k + ".", k + "[")) or k.startswith(key + ".")]
    if named:
        order = files(paths)
        return max(named, key=order.index)
    return label(paths)


def _key(path) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[") or "(top level)"


@functools.cache
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))


PATH_KEYS = (
    "data_dir",
    "report_dir",
    "records_dir",
)  # values that reach a shell command: a plain path and nothing else


def not_a_path(key: str, value) -> str:
    return (
        f"{key}: {value!r} is not a plain path (letters, digits and . _ / + - only, not starting with -): the value "
        "reaches a shell command"
    )


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
        elif e.validator == "pattern":
            out.append(not_a_path(_key(e.absolute_path), e.instance))
        elif e.validator == "uniqueItems":
            out.append(f"{_key(e.absolute_path)}: repeated items in {e.instance!r}")
        else:
            out.append(f"{_key(e.absolute_path)}: {e.message}")
    for key in PATH_KEYS:  # the schema's pattern lets a final newline through (Python's `$`): refused here
        value = config.get(key)
        if isinstance(value, str) and value.endswith("\n") and schema()["properties"][key].get("pattern"):
            out.append(not_a_path(key, value))
    return out


def with_defaults(config: dict) -> dict:
    """The top-level defaults of the schema filled in (what Snakemake's validate does for the pipeline)."""
    return {**{k: p["default"] for k, p in schema()["properties"].items() if "default" in p}, **config}


KEY = re.compile(r"^([A-Za-z0-9_.\[\]-]+): ")


def _named(problems: list[str], paths) -> str:
    """Each problem line prefixed with the file that set its key."""
    where = origins(paths)
    out = []
    for line in problems:
        m = KEY.match(line)
        out.append(f"{source_of(m.group(1), paths, where) if m else label(paths)}: {line}")
    return "\n".join(out)


def check(config: dict, paths) -> dict:
    """The schema (every problem, one line each), then what depends on the installed plugins; returns the
    config with defaults. Raises ConfigError whose lines start with the file that set the key."""
    from kx_tasks.core import looks, settings
    from kx_tasks.core.registry import discover, discover_artefacts

    config = with_defaults(config)
    problems = schema_problems(config)
    if problems:
        raise ConfigError(_named(problems, paths))
    try:
        tasks = discover()
        settings.check_config(config, tasks, discover_artefacts())
        for name in settings.enabled_tasks(config, tasks):  # on the seeds as run (the schema's defaults filled in)
            looks.check_decidable(config, tasks[name])
    except ConfigError as e:
        raise ConfigError(_named(str(e).splitlines(), paths)) from None
    return config


def label(paths) -> str:
    """All the files of a config, the one on top (the last, which wins) first."""
    names = files(paths)
    return names[-1] + (f" (over {', '.join(reversed(names[:-1]))})" if len(names) > 1 else "")


def load_and_check(paths) -> dict:
    """Read the files (resolve) and check the result as the pipeline does."""
    return check(resolve(paths), paths)
