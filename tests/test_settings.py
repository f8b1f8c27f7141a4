"""Config checks that depend on the installed tasks: every message names the offending key, from the one
declaration of each parameter (its pydantic model), then its JSON Schema."""

import pytest
import yaml
from conftest import REPO

from kx_tasks.core import params, settings
from kx_tasks.core.registry import discover
from kx_tasks.core.settings import ConfigError, build_params, check_config
from kx_tasks.det.config import DetConfig
from kx_tasks.vae_cluster.config import VaeClusterConfig


def test_unknown_parameter_is_named():
    with pytest.raises(ConfigError, match=r"tasks\.det\.params\.sampels: not a parameter of this task \(known: shapes"):
        build_params(DetConfig, {"sampels": 3}, "tasks.det.params")


def test_wrong_type_is_named():
    with pytest.raises(ConfigError, match=r"tasks\.det\.params\.samples: must be a valid integer, got 'ten'"):
        build_params(DetConfig, {"samples": "ten"}, "tasks.det.params")
    with pytest.raises(ConfigError, match=r"tasks\.det\.params\.samples: must be a valid integer, got 2\.5"):
        build_params(DetConfig, {"samples": 2.5}, "tasks.det.params")
    with pytest.raises(ConfigError, match=r"tasks\.det\.params\.shapes\[1\]: Tuple should have at most 2 items"):
        build_params(DetConfig, {"shapes": [[3, 1], [3, 2, 1]]}, "tasks.det.params")


def test_bounds_are_named_with_the_value():
    with pytest.raises(ConfigError, match=r"^tasks\.vae_cluster\.params\.lr: must be > 0, got -1$"):
        build_params(VaeClusterConfig, {"lr": -1}, "tasks.vae_cluster.params")
    with pytest.raises(ConfigError, match=r"tasks\.vae_cluster\.params\.arch: must be 'mlp' or 'conv', got 'resnet'"):
        build_params(VaeClusterConfig, {"arch": "resnet"}, "tasks.vae_cluster.params")


def test_semantic_check_is_named():
    with pytest.raises(ConfigError, match=r"tasks\.det\.params\.shapes: \(2, 0\) needs n >= 1 and k >= 1"):
        build_params(DetConfig, {"shapes": [[2, 0]]}, "tasks.det.params")


def test_values_are_typed():
    p = build_params(DetConfig, {"shapes": [[3, 1]], "log10_conds": [0, 2]}, "x")
    assert p.shapes == ((3, 1),) and p.log10_conds == (0, 2)
    assert build_params(VaeClusterConfig, {"lr": 1}, "x").lr == 1.0  # an int where a float is asked is fine


def test_json_schema_is_the_same_source():
    schema = params.json_schema(VaeClusterConfig)
    assert schema["properties"]["lr"]["exclusiveMinimum"] == 0 and schema["additionalProperties"] is False
    assert schema["properties"]["arch"]["enum"] == ["mlp", "conv"]
    with pytest.raises(ConfigError, match=r"tasks\.vae_cluster\.params\.lr: -1 is less than or equal"):
        params.check_schema(schema, {"lr": -1}, "tasks.vae_cluster.params")
    rows = {r["key"]: r for r in params.rows(VaeClusterConfig)}
    assert rows["lr"]["bounds"] == "> 0" and rows["lr"]["default"] == "`0.001`" and "Adam" in rows["lr"]["meaning"]


def test_a_published_variant_pins_its_settings_and_refuses_a_value_it_would_ignore():
    """vae_cluster's `<dataset>.<version>` variants are the author's scripts whatever the config says; the plain
    dataset variants take the config's values (here through variant_overrides); a pinned key the user also sets to
    another value for a pinned variant is refused, naming the key, the value, the variant and the pin."""
    from kx_tasks.core.settings import ConfigError, make_run
    from kx_tasks.vae_cluster.config import PUBLISHED

    task = discover()["vae_cluster"]
    overrides = {"mnist": {"recon_weight": 7.0, "epochs": 3}}
    config = {"tasks": {"vae_cluster": {"params": {"vae_epochs": 0}, "variant_overrides": overrides}}}
    for version, pins in PUBLISHED.items():
        run = make_run(config, task, f"fashion_mnist.{version}", 0)
        assert {k: getattr(run.params, k) for k in pins} == pins
        assert run.params.vae_epochs == 0  # not the author's: the config's
    plain = make_run(config, task, "mnist", 0).params
    assert (plain.recon_weight, plain.epochs) == (7.0, 3)
    with pytest.raises(
        ConfigError, match=r"variant_overrides\.mnist\.epochs: 3 would be ignored: .* mnist\.dec2018 pins epochs = 50"
    ):
        make_run(config, task, "mnist.dec2018", 0)
    config["tasks"]["vae_cluster"]["params"]["epochs"] = 50  # the pin's own value: nothing is ignored
    assert make_run(config, task, "fashion_mnist.dec2018", 0).params.epochs == 50
    assert PUBLISHED["sep2018"]["recon_weight"] == 5.0 and PUBLISHED["sep2018"]["kl_form"] == "closed"
    assert PUBLISHED["dec2018"]["recon_weight"] == 2.5 and PUBLISHED["dec2018"]["kl_form"] == "sample"


def test_default_config_runs_no_published_setting():
    """A config without a variants list runs the task's default variants: the default `make run` must not start
    the author's 50-epoch conv scripts."""
    from kx_tasks.core.settings import runs

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    vae = {key.variant for key in runs(config, discover()) if key.task == "vae_cluster"}
    assert vae == {"mnist", "fashion_mnist"}
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    vae = {key.variant for key in runs(paper, discover()) if key.task == "vae_cluster"}
    assert vae == {"mnist.sep2018", "fashion_mnist.sep2018", "mnist.dec2018", "fashion_mnist.dec2018"}


def test_unknown_task_and_variant():
    tasks = discover()
    with pytest.raises(ConfigError, match=r"tasks\.dett: unknown task"):
        check_config({"tasks": {"dett": {}}}, tasks)
    with pytest.raises(ConfigError, match=r"tasks\.det\.variants: unknown variant 'float16'"):
        check_config({"tasks": {"det": {"variants": ["float16"]}}}, tasks)
    with pytest.raises(ConfigError, match=r"datasets: unknown dataset 'cifar'"):
        check_config({"datasets": ["cifar"]}, tasks)
    with pytest.raises(ConfigError, match=r"artefacts\.nope: unknown artefact"):
        check_config({"artefacts": {"nope": {}}}, tasks)


def test_runs_expand_tasks_variants_seeds():
    tasks = discover()
    config = {"seeds": [0, 1], "tasks": {"det": {"variants": ["float32"]}}}
    runs = [r for r in settings.runs(config, tasks) if r.task == "det"]
    assert [(r.variant, r.seed) for r in runs] == [("float32", 0), ("float32", 1)]
    assert not [r for r in settings.runs({"tasks": {"det": {"enabled": False}}}, tasks) if r.task == "det"]
    a, b = (settings.make_run(config, tasks["det"], "float32", s) for s in (0, 1))
    assert a.config_hash() != b.config_hash()


def test_one_gpu_decision_for_scheduler_and_stage():
    det = discover()["det"]
    cuda = {"device": "cuda"}
    assert settings.gpu_count(cuda, settings.stage_resources(cuda, det, "train")) == 1
    assert settings.gpu_count(cuda, settings.stage_resources(cuda, det, "evaluate")) == 0
    assert settings.make_run(cuda, det, "float64", 0, "evaluate").device == "cpu"
    assert settings.make_run(cuda, det, "float64", 0, "train").device == "cuda"
    assert settings.gpu_count({"device": "cpu"}, settings.stage_resources(cuda, det, "train")) == 0
    threads = {"tasks": {"det": {"threads": 3}}}
    assert settings.stage_resources(threads, det, "evaluate").threads == 3


def test_artefact_resources_and_datasets_follow_the_config():
    from kx_tasks.core.registry import discover_artefacts

    bert = discover_artefacts()["bert_mlm15"]
    big = {"artefacts": {"bert_mlm15": {"mem_mb": 16000, "runtime": 360, "params": {"corpus": ["wikitext103"]}}}}
    resources = settings.artefact_resources(big, bert)
    assert (resources.mem_mb, resources.runtime, resources.threads) == (16000, 360, bert.resources.threads)
    assert settings.artefact_resources({}, bert) == bert.resources
    assert settings.artefact_datasets(big, bert) == ("wikitext103", "sst2", "trec")
    assert settings.artefact_datasets({}, bert) == ("tinyshakespeare", "cr", "mpqa", "sst2", "trec")
