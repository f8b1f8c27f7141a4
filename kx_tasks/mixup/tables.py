"""Report tables of the `mixup` task (pandas only)."""

from __future__ import annotations

from kx_tasks.core.report import mean_std_table

SHOWN = ("test_acc", "test_nll", "ece", "train_acc_clean", "gen_gap", "lin_gap_rel", "lin_gap_logit_rel",
         "same_class.lin_gap_rel", "mid_pair_mass", "mid_balance", "miss_rate")  # fmt: skip


def report_tables(metrics) -> dict:
    """Variants × metrics, mean ± std over seeds (variants in the order of kx info mixup)."""
    rows = metrics[metrics.metric.isin(SHOWN)]
    table = mean_std_table(rows, "variant", "metric")
    return {"variants × metrics (mean ± std over seeds)": table[[m for m in SHOWN if m in table.columns]]}
