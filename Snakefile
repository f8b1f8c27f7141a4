# kx: the table of contents. Logic lives in workflow/rules/common.smk and in the kx_tasks package.
import sys

from snakemake.utils import min_version, validate

from kx_tasks.core import config_file
from kx_tasks.core.params import ConfigError

min_version("9.0")


# One reading of a config (kx_tasks.core.config_file.resolve, as kx check and kx run read it): the --configfile files
# merged in order, nothing under them; config/config.yaml only when none is given (no `configfile:` directive, which
# would merge it under every other file). Then every problem, one line each, naming the file that set the key
# (kx check CONFIG prints the same before `make run`); then Snakemake's own validation, which fills the defaults.
CONFIG_FILES = config_file.files(workflow.configfiles)
if not workflow.configfiles:
    config.update(config_file.merge(config_file.resolve(CONFIG_FILES), config))
try:
    config_file.check(config, CONFIG_FILES)
except ConfigError as e:
    sys.exit(f"kx: config error:\n{e}")
validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/tasks.smk"
include: "workflow/rules/looks.smk"
include: "workflow/rules/report.smk"


if RECORDS:

    include: "workflow/rules/publish.smk"


# A failed job (with --keep-going, after every other job has run): the report is rebuilt from what finished, and
# lists what did not, so the page never shows verdicts of runs that are gone.
onerror:
    shell(
        "mkdir -p results/logs && kx report --partial --out {out:q} --plans {plans:q} {runs:q} "
        "> results/logs/report.log 2>&1 "
        "&& echo 'kx: partial report (failed runs listed):' {index:q} "
        "|| echo 'kx: the partial report failed too: results/logs/report.log'",
        runs=known_runs(),
        plans=plans_json(),
        out=REPORT,
        index=f"{REPORT}/index.html",
    )


rule all:
    default_target: True
    input:
        f"{REPORT}/index.html",
        expand("results/data/{dataset}.npz", dataset=config["datasets"]),
        # Every run is a target too, so deleting one run's outputs regenerates it (and then the report); a later
        # look's runs join once the judging job before them has run.
        **final_inputs("evaluate"),
        # A config with records_dir publishes its runs there (workflow/rules/publish.smk).
        records=[f"{RECORDS}/index.json"] if RECORDS else [],
