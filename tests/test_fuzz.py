"""The fuzz suite, grown with the tasks: every parameter of every task and artefact refuses a value of the wrong
type and a value past each of its bounds, every relation between parameters (and with the data, the variant and the
artefacts a run reads) is refused before any job, a pinned setting the user also sets is refused, no config value
can become shell code, and one reading of a config serves `kx check`, `kx run` and Snakemake. Each case goes through
`kx check` as a user runs it: exit status 2, one line naming the file and the full key, no traceback.

A parameter model that adds a field gets its type and bound cases here without an edit; a numeric field without a
lower bound, or a relation check (model validator, Task.check_run, Artefact.check) without a case in RELATIONS,
fails `test_every_parameter_is_guarded`."""

from __future__ import annotations

import json
import os
import re
import typing
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from pydantic import Field

from kx_tasks.core import config_file, report, runner, settings
from kx_tasks.core.cli import main
from kx_tasks.core.params import BOUNDS, ConfigError, Params
from kx_tasks.core.registry import discover, discover_artefacts

TASKS = discover()
ARTEFACTS = discover_artefacts()


def owners() -> list[tuple[str, str, type]]:
    """(config section, name, parameter model) of every installed task and artefact."""
    return [("tasks", n, t.params) for n, t in TASKS.items()] + [
        ("artefacts", n, a.params) for n, a in ARTEFACTS.items()
    ]


def past(bound: str, value: float, integer: bool) -> float:
    """A value just on the wrong side of a bound."""
    step = 1 if integer else max(abs(value) * 1e-3, 1e-6)
    return {"gt": value, "ge": value - step, "lt": value, "le": value + step}[bound]


def _is_int(hint) -> bool:
    return hint is int or int in typing.get_args(hint) and float not in typing.get_args(hint)


def field_cases() -> list[tuple[str, str, str, object]]:
    """(section, owner, field, bad value) for every field: a value of no field's type, then one past each bound."""
    out = []
    for section, name, model in owners():
        for field, info in model.model_fields.items():
            out.append((section, name, field, {"not": "a value"}))
            for item in info.metadata:
                for bound in BOUNDS:
                    value = getattr(item, bound, None)
                    if value is not None:
                        out.append((section, name, field, past(bound, value, _is_int(info.annotation))))
    return out


def check_text(tmp_path: Path, text: str, *more: str) -> tuple[int, str]:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return main(["check", str(path), *more]), str(path)


FIELD_CASES = field_cases()


@pytest.mark.parametrize(
    "section, name, field, value", FIELD_CASES, ids=[f"{s}.{n}.{f}={v!r}" for s, n, f, v in FIELD_CASES]
)
def test_every_parameter_refuses_a_bad_value_before_any_job(tmp_path, capsys, section, name, field, value):
    rc, where = check_text(tmp_path, yaml.safe_dump({section: {name: {"params": {field: value}}}}))
    err = capsys.readouterr().err
    assert rc == 2, f"{section}.{name}.params.{field}: {value!r} was accepted"
    assert f"{where}: {section}.{name}.params.{field}" in err and "Traceback" not in err, err


# Relations between parameters, with the data, the variant and the artefacts a run reads: (owner, config, what the
# one-line error must say). Every owner with a relation check has cases here (test_every_parameter_is_guarded).
RELATIONS = {
    "det": [
        ({"params": {"shapes": [[2, 0]]}}, "tasks.det.params.shapes: (2, 0) needs n >= 1"),
        ({"params": {"log10_conds": [-1]}}, "tasks.det.params.log10_conds: condition numbers are >= 1"),
        ({"params": {"log10_conds": [400], "digits": 900}}, "tasks.det.params.log10_conds: κ = 1e400 cannot be"),
        ({"params": {"log10_conds": [15], "digits": 50}}, "tasks.det.params.digits: 50 is too few"),
    ],
    "gillespie": [
        ({"params": {"burn_in": 200}}, "tasks.gillespie.params.burn_in: must be < t_end"),
        ({"params": {"eps_sweep": [0.5, 1.0]}}, "tasks.gillespie.params.eps_sweep: every ε must be in (0, 1)"),
        ({"params": {"event_t_end": 10}}, "tasks.gillespie.params.event_t_end: must exceed burn_in"),
        ({"params": {"fsp_max_count": 100}}, "tasks.gillespie.params.fsp_max_count: 100 cannot hold"),
    ],
    "vae_cluster": [
        ({"params": {"train_size": 50}}, "tasks.vae_cluster.params.batch_size: 100 is more than the 50"),
    ],
    "mixup": [
        ({"params": {"train_size": 100, "batch_size": 128}}, "tasks.mixup.params.batch_size: 128 is more than"),
        ({"params": {"train_size": 1005}}, "tasks.mixup.params.train_size: 1005 is not a multiple"),
        (
            {"variants": ["cifar10.erm"], "params": {"train_size": 60000}},
            "tasks.mixup.params.train_size: 60000 would be ignored",  # cifar10 pins its 50,000: not settable
        ),
        (
            {"variants": ["mnist.erm"], "variant_overrides": {"mnist": {"train_size": 60010}}},
            "tasks.mixup.variant_overrides.mnist.train_size: must be <= 60000",
        ),
    ],
    "rsgan": [
        ({"params": {"eval_every": 7}}, "tasks.rsgan.params.eval_every: 7 does not divide the 500 iterations"),
        ({"params": {"grid_eval_every": 300}}, "tasks.rsgan.params.grid_eval_every: 300 does not divide"),
        ({"params": {"grid_points": 100, "grid_batch_size": 200}}, "grid_batch_size: 200 is more than the 100"),
        ({"params": {"batch_size": 100000}}, "tasks.rsgan.params.batch_size: 100000 is more than the 60000 mnist"),
    ],
    "fvae": [
        ({"params": {"glow_steps": 601}}, "tasks.fvae.params.glow_steps: 601 is not a multiple of marks"),
        ({"params": {"squeezes": 5}}, "tasks.fvae.params.squeezes: 5 + prior_levels 1 - 1 squeezes do not divide"),
        ({"params": {"prior_levels": 2}}, "tasks.fvae.params.squeezes: 2 + prior_levels 2 - 1 squeezes"),
        ({"params": {"glow_levels": 3}}, "tasks.fvae.params.glow_levels: 3 squeezes do not divide the 28×28"),
        ({"params": {"batch_size": 100000}}, "tasks.fvae.params.batch_size: 100000 is more than the 60000"),
    ],
    "mlm_mae": [
        ({"params": {"mae_ratios": [1.5, -0.1]}}, "tasks.mlm_mae.params.mae_ratios: every ratio must be in (0, 1)"),
        ({"params": {"mae_ratios": [0, 1]}}, "tasks.mlm_mae.params.mae_ratios: every ratio must be in (0, 1)"),
        ({"params": {"mae_ratios": [0.5, 0.5]}}, "tasks.mlm_mae.params.mae_ratios: repeated ratios"),
        ({"params": {"mae_ratios": []}}, "tasks.mlm_mae.params.mae_ratios: must have at least 1 item"),
        ({"params": {"train_size": 20, "batch_size": 32}}, "tasks.mlm_mae.params.batch_size: 32 is more than"),
        ({"params": {"batch_size": 6000}}, "tasks.mlm_mae.params.batch_size: 6000 is more than the 4952 trec"),
        ({"params": {"max_len": 128}}, "tasks.mlm_mae.params.max_len: 128 is beyond the 64 positions of bert_mlm15"),
        (
            {"variants": ["trec.plain"], "artefacts": {"bert_mlm15": {"params": {"held_out": ["sst2"]}}}},
            "artefacts.bert_mlm15.params.held_out: ['sst2'] lacks trec",
        ),
    ],
    "bert_mlm15": [
        ({"params": {"dim": 100, "heads": 3}}, "artefacts.bert_mlm15.params.heads: 3 does not divide dim 100"),
        ({"params": {"max_sequences": 1}}, "artefacts.bert_mlm15.params.max_sequences: 1 packed sequences cannot"),
        ({"params": {"corpus": ["cr"], "held_out": ["cr"]}}, "artefacts.bert_mlm15.params.held_out: cr also in"),
    ],
    "mnist_classifier": [
        ({"params": {"train_size": 100000}}, "artefacts.mnist_classifier.params.train_size: 100000 is more than"),
        ({"params": {"train_size": 200, "batch_size": 256}}, "mnist_classifier.params.batch_size: 256 is more"),
        ({"params": {"batch_size": 70000}}, "mnist_classifier.params.batch_size: 70000 is more than the 60000"),
    ],
}
# Owners that share another's parameter model and checks (the same code, another dataset or mask ratio).
SAME_AS = {
    "bert_mlm40": "bert_mlm15",
    "fashion_mnist_classifier": "mnist_classifier",
    "cifar10_classifier": "mnist_classifier",
}


def relation_config(owner: str, block: dict) -> dict:
    """A config that runs `owner` (a task: alone; an artefact: with mlm_mae or rsgan reading it) with `block`."""
    block = dict(block)
    extra = block.pop("artefacts", {})
    if owner in TASKS:
        tasks = {n: {"enabled": n == owner} for n in TASKS} | {owner: block}
        return {"tasks": tasks, "artefacts": extra}
    reader = "mlm_mae" if owner.startswith("bert") else "rsgan"
    return {"tasks": {n: {"enabled": n == reader} for n in TASKS}, "artefacts": {owner: block}}


RELATION_CASES = [(o, b, said) for o, cases in RELATIONS.items() for b, said in cases]


@pytest.mark.parametrize(
    "owner, block, said", RELATION_CASES, ids=[f"{o}-{i}" for i, (o, _, _) in enumerate(RELATION_CASES)]
)
def test_every_relation_is_refused_before_any_job(tmp_path, capsys, owner, block, said):
    rc, where = check_text(tmp_path, yaml.safe_dump(relation_config(owner, block), allow_unicode=True))
    err = capsys.readouterr().err
    assert rc == 2, f"{owner}: {block} was accepted"
    assert said in err and where in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err


def has_relations(model) -> bool:
    return bool(model.__pydantic_decorators__.model_validators)


def test_every_parameter_is_guarded():
    """A numeric field has a lower bound (or, for a list, a relation case); every relation check has cases."""
    unbounded, unchecked = [], []
    for section, name, model in owners():
        owner = SAME_AS.get(name, name)
        cases = " ".join(json.dumps(b, ensure_ascii=False) for b, _ in RELATIONS.get(owner, []))
        for field, info in model.model_fields.items():
            numeric = re.search(r"\b(int|float)\b", str(info.annotation))
            lower = any(getattr(m, b, None) is not None for m in info.metadata for b in ("ge", "gt"))
            if numeric and not lower and f'"{field}"' not in cases:
                unbounded.append(f"{section}.{name}.params.{field}")
        checked = (
            has_relations(model)
            or getattr(TASKS.get(name), "check_run", None)
            or getattr(ARTEFACTS.get(name), "check", None)
        )
        if checked and not RELATIONS.get(owner):
            unchecked.append(name)
    assert not unbounded, f"numeric parameters without a lower bound or a relation case: {unbounded}"
    assert not unchecked, f"relation checks without a case in RELATIONS: {unchecked}"
    assert set(SAME_AS) <= set(ARTEFACTS) and all(
        ARTEFACTS[a].params is (TASKS.get(b) or ARTEFACTS[b]).params for a, b in SAME_AS.items()
    )


# --- pins: a setting the user wrote is never silently ignored -----------------------------------------------------

PINNED = [
    ("mixup", {"params": {"alpha": 5.0}}, "tasks.mixup.params.alpha: 5.0 would be ignored: the variant"),
    ("mlm_mae", {"params": {"mask_ratio": 0.3}}, "tasks.mlm_mae.params.mask_ratio: 0.3 would be ignored"),
    ("mlm_mae", {"params": {"mask_ratio": 1.5}}, "tasks.mlm_mae.params.mask_ratio: must be < 1, got 1.5"),
    (
        "vae_cluster",
        {"variants": ["mnist.dec2018"], "variant_overrides": {"mnist.dec2018": {"epochs": 3}}},
        "tasks.vae_cluster.variant_overrides.mnist.dec2018.epochs: 3 would be ignored: the variant mnist.dec2018",
    ),
    (
        "rsgan",
        {"variants": ["cifar10.rsgan_sn"], "params": {"iterations": 6000, "eval_every": 500}},
        "tasks.rsgan.params.eval_every: 500 would be ignored",
    ),
    (
        "mixup",
        {"variants": ["mnist.erm"], "variant_overrides": {"cifar10": {"epochs": 40}}},
        "tasks.mixup.variant_overrides.cifar10: no variant this config runs",
    ),
]


@pytest.mark.parametrize("owner, block, said", PINNED, ids=range(len(PINNED)))
def test_a_pinned_setting_the_user_also_sets_is_refused(tmp_path, capsys, owner, block, said):
    rc, where = check_text(tmp_path, yaml.safe_dump(relation_config(owner, block)))
    err = capsys.readouterr().err
    assert rc == 2 and said in err and where in err and "Traceback" not in err, err


def test_variant_overrides_set_what_a_variant_does_not_pin():
    config = relation_config(
        "mixup", {"variants": ["mnist.erm", "cifar10.erm"], "variant_overrides": {"mnist": {"epochs": 40}}}
    )
    config = config_file.check(config, ["x.yaml"])
    assert settings.make_run(config, TASKS["mixup"], "mnist.erm", 0).params.epochs == 40
    assert settings.make_run(config, TASKS["mixup"], "cifar10.erm", 0).params.epochs == 200  # its pin
    assert json.loads(json.dumps(settings.user_params(config["tasks"]["mixup"], "mnist.erm"))) == {"epochs": 40}


# --- no shell from a config value ----------------------------------------------------------------------------------

HOSTILE_PATHS = [
    "results/rep $(touch PWNED)",
    "results/rep `touch PWNED`",
    "it's",
    "results/a b",
    "results/r;touch PWNED",
    "--help",
    "results/r\nx",
    "results/r\n",
]


@pytest.mark.parametrize("key", ["report_dir", "data_dir"])
@pytest.mark.parametrize("value", HOSTILE_PATHS, ids=range(len(HOSTILE_PATHS)))
def test_a_path_key_is_only_ever_a_path(tmp_path, capsys, key, value):
    rc, where = check_text(tmp_path, yaml.safe_dump({key: value}))
    err = capsys.readouterr().err
    assert rc == 2 and f"{where}: {key}: " in err and "not a plain path" in err, err


@pytest.mark.parametrize("value", ["results/runs", "results/data/rep", "results/logs/", "/"])
def test_the_report_never_writes_over_the_pipelines_outputs(tmp_path, capsys, value):
    rc, where = check_text(tmp_path, yaml.safe_dump({"report_dir": value}))
    assert rc == 2 and "report_dir" in capsys.readouterr().err


SHELL_SOURCES = ["Snakefile", *sorted(str(p.relative_to(REPO)) for p in (REPO / "workflow" / "rules").glob("*.smk"))]


def shell_commands(text: str) -> list[str]:
    """The string literals of every `shell:` directive and `shell(...)` call (up to the next blank line or `)`)."""
    out = []
    for m in re.finditer(r"\bshell(?::|\()\s*\n?((?:\s*\"[^\n]*\"\s*\n?)+)", text):
        out.append("".join(re.findall(r"\"((?:[^\"\\]|\\.)*)\"", m.group(1))))
    return out


def test_every_shell_interpolation_is_quoted():
    """The audit as a test: every {placeholder} of every shell command of the workflow is shell-quoted (`:q`)."""
    seen = 0
    for name in SHELL_SOURCES:
        for command in shell_commands((REPO / name).read_text()):
            for field in re.findall(r"(?<!\{)\{([^{}]+)\}(?!\})", command):
                seen += 1
                assert field.endswith(":q"), f"{name}: {{{field}}} in {command!r} is not quoted"
    assert seen >= 40, f"found only {seen} interpolations: the parser missed commands"


# --- one reading of a config --------------------------------------------------------------------------------------


def test_one_reading_for_check_run_and_snakemake(tmp_path):
    """kx check, kx run and the Snakefile read smoke.yaml alone (not merged over config/config.yaml)."""
    smoke = config_file.resolve([REPO / "config" / "smoke.yaml"])
    assert "tau_factor" not in smoke["tasks"]["rsgan"].get("params", {})  # config.yaml's 100.0 is not under it
    run = settings.make_run(config_file.check(smoke, ["smoke"]), TASKS["rsgan"], "mnist.rsgan_sn", 0)
    assert run.params.tau_factor == 3.0  # the model's default, as the pipeline's job gets it (test_workflow)


def test_the_file_that_set_a_value_is_named(tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("tasks:\n  det:\n    params:\n      samples: 0\n")
    bad.write_text("seeds: [0]\n")
    with pytest.raises(ConfigError) as e:
        config_file.load_and_check([good, bad])  # bad.yaml is on top, but good.yaml set the value
    assert str(e.value).startswith(f"{good}: tasks.det.params.samples"), str(e.value)
    bad.write_text("tasks:\n  det:\n    params:\n      samples: -3\n")
    with pytest.raises(ConfigError) as e:
        config_file.load_and_check([good, bad])  # the last wins: bad.yaml's value, bad.yaml named
    assert str(e.value).startswith(f"{bad}: tasks.det.params.samples: must be >= 1, got -3"), str(e.value)


def test_kx_run_never_writes_into_a_pipeline_tree_from_any_directory(tmp_path, monkeypatch, capsys):
    (tmp_path / "results" / "runs").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "results")
    assert main(["run", "det", "--out", "runs/det/float64/seed0"]) == 2
    assert "only Snakemake writes" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path / "results" / "runs")
    assert main(["run", "det", "--out", "../runs/x"]) == 2
    assert not (tmp_path / "results" / "runs" / "x").exists()


# --- provenance -----------------------------------------------------------------------------------------------------


def test_a_prepared_dataset_holding_another_dataset_is_refused(tmp_path):
    import numpy as np

    from kx_tasks.core import data

    arrays = {"x_train": np.zeros((4, 2, 2), np.uint8), "y_train": np.zeros(4, np.uint8)}
    data.prepare(data.Dataset("mnist", {}, lambda files: arrays), tmp_path / "mnist.npz", None, tmp_path / "dl")
    copied = tmp_path / "fashion_mnist.npz"
    copied.write_bytes((tmp_path / "mnist.npz").read_bytes())
    run = settings.make_run({}, TASKS["det"], "float64", 0)
    with pytest.raises(data.DataError, match=r"fashion_mnist\.npz: given as dataset 'fashion_mnist' but holds 'mnist'"):
        runner.run_stage(TASKS["det"], "train", run, {"fashion_mnist": copied}, tmp_path / "train")
    assert not (tmp_path / "train").exists()


# --- the report keeps every claim ------------------------------------------------------------------------------------


def test_claims_of_a_variant_without_finished_runs_stay(tmp_path):
    runs = [tmp_path / "runs" / "vae_cluster" / v / "seed0" for v in ("mnist", "fashion_mnist")]
    claims = report.build(TASKS, runs, tmp_path / "report", partial=True)
    expected = {c.id for c in TASKS["vae_cluster"].claims if c.variants is None or "mnist" in c.variants}
    kept = claims[(claims.task == "vae_cluster") & (claims.variant == "mnist")]
    assert set(kept.claim) == expected and set(kept.measured) == {"no finished runs"} and len(expected) >= 3
    assert set(kept.verdict) == {"inconclusive"}
    page = (tmp_path / "report" / "index.html").read_text()
    assert "no finished runs" in page


def test_report_errors_are_one_line_naming_the_path(tmp_path, capsys):
    odd = tmp_path / "runs" / "det" / "float64" / "run0"
    odd.mkdir(parents=True)
    assert main(["report", "--out", str(tmp_path / "rep"), str(odd)]) == 2
    assert f"{odd}: not a run folder" in capsys.readouterr().err
    run = tmp_path / "runs" / "det" / "float64" / "seed0"
    (tmp_path / "elsewhere").mkdir()
    run.mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere", run / "eval")
    assert main(["report", "--out", str(tmp_path / "rep"), str(run)]) == 2
    err = capsys.readouterr().err
    assert f"{run / 'eval'}: a symbolic link" in err and "Traceback" not in err


class ToyParams(Params):
    size: int = Field(1, ge=1)


def build_toy(run, inputs, out_dir):
    (out_dir / "size.txt").write_text(str(run.params.size))


def reads_toy(run, inputs, out_dir):
    (out_dir / "seen.txt").write_text((inputs["toy"] / "size.txt").read_text())


def evaluates_toy(run, inputs, out_dir):
    return {"seen": float((inputs["train"] / "seen.txt").read_text())}


def test_kx_run_rebuilds_an_artefact_built_under_other_parameters(tmp_path, monkeypatch):
    """`kx run` into the same --out after the artefact's parameters changed: rebuilt, never silently reused."""
    import dataclasses

    from kx_tasks.core import cli
    from kx_tasks.core.registry import Artefact, Stage

    toy = Artefact(name="toy", summary="a toy", build="test_fuzz:build_toy", params=ToyParams, per_seed=False)
    monkeypatch.setattr(cli, "discover_artefacts", lambda: {"toy": toy})
    task = dataclasses.replace(
        TASKS["det"],
        stages={
            "train": Stage("test_fuzz:reads_toy", artefacts=("toy",)),
            "evaluate": Stage("test_fuzz:evaluates_toy"),
        },
    )
    seen = []
    for size in (1, 2, 2):
        config = {"artefacts": {"toy": {"params": {"size": size}}}}
        seen.append(cli.run_all(task, "float64", 0, config, tmp_path / "out", tmp_path / "data")["seen"])
    assert seen == [1.0, 2.0, 2.0]
    assert (
        runner.built_by(tmp_path / "out" / "artefacts" / "toy" / "shared")
        == settings.make_artefact_run({"artefacts": {"toy": {"params": {"size": 2}}}}, toy, "shared").run_hash()
    )


def test_a_stage_refuses_an_artefact_built_under_other_parameters(tmp_path):
    """As the pipeline runs a stage (`kx stage ... --expect NAME=RUNHASH`): a stale artefact is refused."""
    import dataclasses

    from kx_tasks.core.registry import Artefact, Stage, TaskError

    toy = Artefact(name="toy", summary="a toy", build="test_fuzz:build_toy", params=ToyParams, per_seed=False)
    built = {
        size: settings.make_artefact_run({"artefacts": {"toy": {"params": {"size": size}}}}, toy, "shared")
        for size in (1, 2)
    }
    runner.build_artefact(toy, built[1], {}, tmp_path / "toy")
    task = dataclasses.replace(
        TASKS["det"], stages={**TASKS["det"].stages, "train": Stage("test_fuzz:reads_toy", artefacts=("toy",))}
    )
    run = settings.make_run({}, task, "float64", 0)
    with pytest.raises(TaskError, match=r"artefact 'toy' was built under other parameters"):
        runner.run_stage(
            task, "train", run, {"toy": tmp_path / "toy"}, tmp_path / "train", artefacts={"toy": built[2].run_hash()}
        )
    assert not (tmp_path / "train").exists()
    runner.run_stage(
        task, "train", run, {"toy": tmp_path / "toy"}, tmp_path / "train", artefacts={"toy": built[1].run_hash()}
    )
    assert (tmp_path / "train" / "seen.txt").read_text() == "1"


def test_a_claim_worded_on_a_parameter_reads_it_as_it_ran(tmp_path):
    """MAE's identity claims are read at the mask ratios that ran, never at the default wording's."""
    run = tmp_path / "runs" / "mlm_mae" / "mae" / "seed0"
    params = {"mae_ratios": [0.3]}
    for stage in ("train", "eval"):
        (run / stage).mkdir(parents=True)
        record = {"task": "mlm_mae", "variant": "mae", "seed": 0, "wall_time_s": 1.0, "device": "cpu"}
        (run / stage / "run.json").write_text(
            json.dumps(record | {"config_hash": "h", "run_hash": "h", "git_commit": None})
        )
        (run / stage / "config.yaml").write_text(yaml.safe_dump({"params": params}))
    (run / "eval" / "metrics.json").write_text(json.dumps({"mae.masked_f32": 1e-7}))
    claims = report.build(TASKS, [run], tmp_path / "report").set_index("claim")
    assert claims.loc["mae.identity_masked", "statement"].endswith("[as run: mae_ratios = [0.3]]")
