"""Report tables of the `mlm_mae` task (pandas only): the correction's paired differences with their intervals, the
DropToken sweep (accuracy readings and speed-up per ratio), and the MAE measurements on the trained encoder."""

from __future__ import annotations

import pandas as pd

from kx_tasks.core.claims import Summary
from kx_tasks.core.report import mean_std_table
from kx_tasks.mlm_mae.config import BAND, CONTROLS, DROPS, ENCODERS, IDENTITY, SETS

RATIOS = {"plain": 0.0, **DROPS}
MAE = ("pretrain.mlm_loss", "pretrain.unigram_entropy", "timing.encoder_speedup_75", "correction_mc_z", "gap.mae_75",
       "gap.mlm_15_plain", "gap.mlm_15_corrected")  # fmt: skip
SWEEP = ("test_acc_last", "test_acc_devsel", "dev_acc_best", "timing.speedup", "timing.epoch_seconds")


def variant_values(metrics, variant: str, metric: str) -> pd.Series:
    rows = metrics[(metrics.variant == variant) & (metrics.metric == metric)]
    return rows.set_index("seed")["value"]


def paired_differences(metrics) -> pd.DataFrame:
    """corrected − plain in last-epoch test accuracy (points), per set and pre-training mask ratio."""
    rows = []
    for s in SETS:
        for suffix, ratio in (("", "15%"), ("40", "40%")):
            diff = (variant_values(metrics, f"{s}.corrected{suffix}", "test_acc_last")
                    - variant_values(metrics, f"{s}.plain{suffix}", "test_acc_last")).dropna() * 100  # fmt: skip
            if diff.empty:
                continue
            x = Summary.of(diff.to_numpy())
            rows.append({"set": s, "mask ratio": ratio, "corrected − plain (points)": f"{x.mean:+.2f}",
                         "95% interval": f"[{x.low:+.2f}, {x.high:+.2f}]", "band": f"±{100 * BAND[s]:.1f}",
                         "seeds": x.n})  # fmt: skip
    return pd.DataFrame(rows)


def report_tables(metrics) -> dict:
    out = {}
    diffs = paired_differences(metrics)
    if not diffs.empty:
        out["embedding correction: paired differences in last-epoch test accuracy"] = diffs.set_index("set")
    for s in SETS:
        names = {f"{s}.{v}": r for v, r in RATIOS.items()}
        rows = metrics[metrics.variant.isin(list(names)) & metrics.metric.isin(SWEEP)]
        if rows.empty:
            continue
        table = mean_std_table(rows, "variant", "metric")
        table = table.loc[[v for v in names if v in table.index], [m for m in SWEEP if m in table.columns]]
        table.index = [f"{names[v]:g} ({v})" for v in table.index]
        out[f"{s}: DropToken ratio × readings (mean ± std over seeds)"] = table
    identity = identity_table(metrics)
    if not identity.empty:
        out["MAE ≡ column-masked attention: worst relative error at the kept tokens over ratios 0.15/0.5/0.75 and "
            "seeds (controls: smallest)"] = identity  # fmt: skip
    rows = metrics[(metrics.variant == "mae") & metrics.metric.isin(MAE)]
    if not rows.empty:
        table = mean_std_table(rows, "variant", "metric", fmt="{mean:.3g} ± {std:.2g}")
        out[
            "the 15% checkpoint (last-epoch MLM loss vs the unigram entropy), MAE speed-up, the correction's "
            "Monte-Carlo check and the averaging gaps (trained encoder)"
        ] = table[[m for m in MAE if m in table.columns]]
    return out


def identity_table(metrics) -> pd.DataFrame:
    """Encoder × form (identity forms, then controls; float32, float64): the worst reading over seeds."""
    rows = {}
    for encoder in ENCODERS:
        row = {}
        for form in (*IDENTITY, *CONTROLS):
            for dt in ("f32", "f64"):
                values = variant_values(metrics, "mae", f"mae.{encoder}.{form}_{dt}").dropna()
                if not values.empty:
                    row[f"{form} {dt}"] = f"{(values.min() if form in CONTROLS else values.max()):.2g}"
        if row:
            rows[encoder] = row
    return pd.DataFrame.from_dict(rows, orient="index")
