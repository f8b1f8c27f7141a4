# kx: the table of contents. Logic lives in workflow/rules/common.smk and in the kx_tasks package.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/tasks.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "results/report/index.html",
        # Every run is a target too, so deleting one run's outputs regenerates it (and then the report).
        run_dirs("evaluate"),
        expand("results/data/{dataset}.npz", dataset=config["datasets"]),
