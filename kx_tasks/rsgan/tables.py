"""Report tables of the `rsgan` task (pandas only): one per setting, variants × metrics, mean ± std over seeds."""

from __future__ import annotations

from kx_tasks.core.report import mean_std_table

THEORY = (
    "sgan.newton_error",
    "rsgan.newton_error",
    "sgan.grad_at_log_ratio",
    "rsgan.grad_at_log_ratio",
    "sgan.fdiv_error",
    "rsgan.fdiv_error",
    "rsgan.fdiv_above_f1",
    "log_ratio_range",
)
GRID = ("modes", "modes_sd", "hq_frac", "reverse_kl", "jsd", "modes_1pct", "timing.ms_per_iteration", "g_grad_norm_cv")
IMAGES = ("fd", "fd_floor", "auc_log_fd", "iters_to_tau", "timing.seconds_to_tau", "reached_tau", "class_kl",
          "frac_confident", "class_min_share", "timing.ms_per_iteration", "timing.train_seconds", "g_grad_norm_cv",
          "classifier_acc")  # fmt: skip
TABLES = {"theory": THEORY, "grid": GRID, "pacgan": GRID, "mnist": IMAGES, "cifar10": IMAGES}


def report_tables(metrics) -> dict:
    out = {}
    for kind, shown in TABLES.items():
        rows = metrics[metrics.variant.str.split(".").str[0].eq(kind) & metrics.metric.isin(shown)]
        if rows.empty:
            continue
        table = mean_std_table(rows, "variant", "metric")
        out[f"{kind}: variants × metrics (mean ± std over seeds)"] = table[[m for m in shown if m in table.columns]]
    return out
