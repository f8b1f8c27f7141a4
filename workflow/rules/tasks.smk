# One rule per pipeline stage, generic over {task}/{variant}/{seed}; the stage code is looked up in the registry.


rule augment:
    input:
        unpack(dataset_inputs),
    output:
        directory("results/runs/{task}/{variant}/seed{seed}/augment"),
    log:
        "results/logs/augment/{task}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/augment/{task}/{variant}/seed{seed}.tsv"
    conda:
        KX_ENV
    threads: task_threads
    resources:
        mem_mb=task_mem_mb,
        runtime=task_runtime,
        gpu=task_gpu,
    params:
        task=task_params,
        inputs=input_args,
        device=config["device"],
    shell:
        "kx stage augment {wildcards.task} --variant {wildcards.variant} --seed {wildcards.seed} "
        "--params {params.task:q} --device {params.device} --threads {threads} {params.inputs} "
        "--out {output} > {log} 2>&1"


rule train:
    input:
        unpack(train_inputs),
    output:
        directory("results/runs/{task}/{variant}/seed{seed}/train"),
    log:
        "results/logs/train/{task}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{task}/{variant}/seed{seed}.tsv"
    conda:
        KX_ENV
    threads: task_threads
    resources:
        mem_mb=task_mem_mb,
        runtime=task_runtime,
        gpu=task_gpu,
    params:
        task=task_params,
        inputs=input_args,
        device=config["device"],
    shell:
        "kx stage train {wildcards.task} --variant {wildcards.variant} --seed {wildcards.seed} "
        "--params {params.task:q} --device {params.device} --threads {threads} {params.inputs} "
        "--out {output} > {log} 2>&1"


rule evaluate:
    input:
        unpack(evaluate_inputs),
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
    threads: task_threads
    resources:
        mem_mb=task_mem_mb,
        runtime=task_runtime,
        gpu=task_gpu,
    params:
        task=task_params,
        inputs=input_args,
        device=config["device"],
    shell:
        "kx stage evaluate {wildcards.task} --variant {wildcards.variant} --seed {wildcards.seed} "
        "--params {params.task:q} --device {params.device} --threads {threads} {params.inputs} "
        "--out {output} > {log} 2>&1"
