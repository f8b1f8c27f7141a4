# The report reads, for every run, the run.json of each stage and the evaluate stage's metrics and figures:
# every stage directory is declared, so nothing it reads is undeclared. Its runs are those of every task's last
# look (the judging jobs decide them); each task's plan tells it at which look each comparison was decided.
rule report:
    input:
        **final_inputs(*stages.STAGES),
    output:
        html=report(
            f"{REPORT}/index.html",
            caption="../report/index.rst",
            category="Report",
        ),
        pages=expand("{report}/{task}.html", report=REPORT, task=report_tasks()),
        summary=f"{REPORT}/summary.csv",
        markdown=f"{REPORT}/summary.md",
        claims=f"{REPORT}/claims.csv",
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
    params:
        runs=run_roots_of,
        plans=plans_json(),
        out=lambda w, output: os.path.dirname(output.html),
    shell:
        "kx report --out {params.out:q} --plans {params.plans:q} {params.runs:q} > {log:q} 2>&1 && cat {log:q}"
