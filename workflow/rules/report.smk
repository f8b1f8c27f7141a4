rule report:
    input:
        run_dirs("eval"),
    output:
        html=report(
            "results/report/index.html",
            caption="../report/index.rst",
            category="Report",
        ),
        summary="results/report/summary.csv",
        claims="results/report/claims.csv",
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    conda:
        KX_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "kx report --out results/report {input} > {log} 2>&1 && cat {log}"
