# Seeds where a claim is still open (config keys looks, max_seeds; kx_tasks/core/looks.py). After each look but the
# last, one judging job per task decides its comparisons at the look's nominal level (α spent across the looks) and
# writes which variants take part in a claim still open; the next look's runs of those variants, and only those,
# enter the DAG once it has run (`snakemake -n` shows them after it).
checkpoint judge:
    input:
        unpack(look_inputs),
    output:
        LOOK_FILE,
    log:
        "results/logs/judge/{task}/look{look}.log",
    benchmark:
        "results/benchmarks/judge/{task}/look{look}.tsv"
    conda:
        KX_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        plan=lambda w: PLANS[w.task].to_json(),
        runs=run_roots_of,
    shell:
        "kx judge {wildcards.task:q} --look {wildcards.look:q} --plan {params.plan:q} --out {output:q} "
        "{params.runs:q} > {log:q} 2>&1"
