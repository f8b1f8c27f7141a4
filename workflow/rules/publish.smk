# Published runs (config key records_dir, e.g. records/campaign-cpu; kx_tasks/core/publish.py): each finished run's
# and artefact's small text files are copied under the records folder as soon as it finishes (so a long campaign
# can be committed run by run), then index.json names the config, the looks and every published run. No weights,
# no images. `kx report --records DIR` rebuilds the report from the folder alone; `kx verify` reruns one run.


rule publish_run:
    input:
        unpack(run_stage_dirs),
    output:
        directory(f"{RECORDS}/runs/{{task}}/{{variant}}/seed{{seed}}"),
    log:
        "results/logs/publish/{task}/{variant}/seed{seed}.log",
    # Seconds each: published as soon as a core is free, before the next long job.
    priority: 10
    conda:
        KX_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        run=lambda w: stages.run_dir(w.task, w.variant, w.seed),
    shell:
        "kx publish run {params.run:q} --out {output:q} > {log:q} 2>&1"


rule publish_artefact:
    input:
        "results/artefacts/{artefact}/{key}",
    output:
        directory(f"{RECORDS}/artefacts/{{artefact}}/{{key}}"),
    log:
        "results/logs/publish/artefacts/{artefact}/{key}.log",
    # Seconds each: published as soon as a core is free, before the next long job.
    priority: 10
    conda:
        KX_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "kx publish artefact {input:q} --out {output:q} > {log:q} 2>&1"


rule publish:
    input:
        **published_inputs(),
    output:
        f"{RECORDS}/index.json",
    log:
        "results/logs/publish/index.log",
    conda:
        KX_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config=lambda w: json.dumps(config, sort_keys=True),
        plans=plans_json(),
        records=lambda w, output: os.path.dirname(output[0]),
    shell:
        "kx publish index {input.looks:q} --out {params.records:q} --config {params.config:q} "
        "--plans {params.plans:q} > {log:q} 2>&1 && cat {log:q}"
