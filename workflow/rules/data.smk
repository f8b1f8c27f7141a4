rule prepare_data:
    output:
        "results/data/{dataset}.npz",
    log:
        "results/logs/prepare_data/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare_data/{dataset}.tsv"
    conda:
        KX_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        source=data_source(),
    shell:
        "kx data {wildcards.dataset:q} --out {output:q} --source={params.source:q} "
        "--downloads results/downloads > {log:q} 2>&1"
