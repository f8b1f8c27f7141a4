# kx: the table of contents. Logic lives in workflow/rules/common.smk and in the kx_tasks package.
import sys

from snakemake.utils import min_version, validate

from kx_tasks.core import config_file
from kx_tasks.core.params import ConfigError

min_version("9.0")


configfile: "config/config.yaml"


# Every problem of the config, one line each, naming the key (kx check CONFIG prints the same before `make run`);
# then Snakemake's own validation, which fills the schema's defaults.
try:
    config_file.check(config, config_file.label(workflow.configfiles))
except ConfigError as e:
    sys.exit(f"kx: config error:\n{e}")
validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/tasks.smk"
include: "workflow/rules/report.smk"


# A failed job (with --keep-going, after every other job has run): the report is rebuilt from what finished, and
# lists what did not, so the page never shows verdicts of runs that are gone.
onerror:
    shell(
        "mkdir -p results/logs && kx report --partial --out {out} {runs} > results/logs/report.log 2>&1 "
        "&& echo 'kx: partial report (failed runs listed): {out}/index.html' "
        "|| echo 'kx: the partial report failed too: results/logs/report.log'",
        runs=" ".join(run_roots()),
        out=REPORT,
    )


rule all:
    default_target: True
    input:
        f"{REPORT}/index.html",
        # Every run is a target too, so deleting one run's outputs regenerates it (and then the report).
        run_dirs("evaluate"),
        expand("results/data/{dataset}.npz", dataset=config["datasets"]),
