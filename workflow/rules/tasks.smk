# One rule per pipeline stage, generic over {task}/{variant}/{seed}; the stage code is looked up in the registry.
# Resources are declared per stage by each task (kx info TASK), so evaluate need not ask for train's GPU.


rule augment:
    input:
        unpack(stage_inputs("augment")),
    output:
        directory("results/runs/{task}/{variant}/seed{seed}/augment"),
    log:
        "results/logs/augment/{task}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/augment/{task}/{variant}/seed{seed}.tsv"
    conda:
        KX_ENV
    threads: stage_resource("augment", "threads")
    resources:
        mem_mb=stage_resource("augment", "mem_mb"),
        runtime=stage_resource("augment", "runtime"),
        gpu=stage_resource("augment", "gpu"),
        calibration=stage_resource("augment", "calibration"),
    params:
        task=task_params,
        inputs=input_args,
        expect=artefact_hashes("augment"),
        device=config["device"],
    shell:
        "kx stage augment {wildcards.task:q} --variant {wildcards.variant:q} --seed {wildcards.seed:q} "
        "--params {params.task:q} {params.expect:q} --device {params.device:q} --threads {threads:q} {params.inputs:q} "
        "--out {output:q} > {log:q} 2>&1"


rule train:
    input:
        unpack(stage_inputs("train")),
    output:
        directory("results/runs/{task}/{variant}/seed{seed}/train"),
    log:
        "results/logs/train/{task}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{task}/{variant}/seed{seed}.tsv"
    conda:
        KX_ENV
    threads: stage_resource("train", "threads")
    resources:
        mem_mb=stage_resource("train", "mem_mb"),
        runtime=stage_resource("train", "runtime"),
        gpu=stage_resource("train", "gpu"),
        calibration=stage_resource("train", "calibration"),
    params:
        task=task_params,
        inputs=input_args,
        expect=artefact_hashes("train"),
        device=config["device"],
    shell:
        "kx stage train {wildcards.task:q} --variant {wildcards.variant:q} --seed {wildcards.seed:q} "
        "--params {params.task:q} {params.expect:q} --device {params.device:q} --threads {threads:q} {params.inputs:q} "
        "--out {output:q} > {log:q} 2>&1"


rule evaluate:
    input:
        unpack(stage_inputs("evaluate")),
    output:
        report(
            directory("results/runs/{task}/{variant}/seed{seed}/eval"),
            patterns=["{name}.png"],
            caption="../report/figure.rst",
            category="{task}",
            subcategory="{variant}",
            labels={
                "task": "{task}",
                "variant": "{variant}",
                "seed": "{seed}",
                "figure": "{name}",
            },
        ),
    log:
        "results/logs/evaluate/{task}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/evaluate/{task}/{variant}/seed{seed}.tsv"
    conda:
        KX_ENV
    threads: stage_resource("evaluate", "threads")
    resources:
        mem_mb=stage_resource("evaluate", "mem_mb"),
        runtime=stage_resource("evaluate", "runtime"),
        gpu=stage_resource("evaluate", "gpu"),
        calibration=stage_resource("evaluate", "calibration"),
    params:
        task=task_params,
        inputs=input_args,
        expect=artefact_hashes("evaluate"),
        device=config["device"],
        captions=figure_captions,
    shell:
        "kx stage evaluate {wildcards.task:q} --variant {wildcards.variant:q} --seed {wildcards.seed:q} "
        "--params {params.task:q} {params.expect:q} --device {params.device:q} --threads {threads:q} {params.inputs:q} "
        "--out {output:q} > {log:q} 2>&1"


# Work done once and read by many jobs (a feature extractor, a pre-trained model): built per seed or once
# ("shared"), declared as inputs by the stages that read them.
rule artefact:
    input:
        unpack(artefact_inputs),
    output:
        directory("results/artefacts/{artefact}/{key}"),
    log:
        "results/logs/artefact/{artefact}/{key}.log",
    benchmark:
        "results/benchmarks/artefact/{artefact}/{key}.tsv"
    conda:
        KX_ENV
    threads: artefact_resource("threads")
    resources:
        mem_mb=artefact_resource("mem_mb"),
        runtime=artefact_resource("runtime"),
        gpu=artefact_resource("gpu"),
        calibration=artefact_resource("calibration"),
    params:
        artefact=artefact_params,
        inputs=input_args,
        device=config["device"],
    shell:
        "kx artefact {wildcards.artefact:q} --key {wildcards.key:q} --params {params.artefact:q} "
        "--device {params.device:q} --threads {threads:q} {params.inputs:q} --out {output:q} > {log:q} 2>&1"
