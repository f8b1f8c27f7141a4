"""The report of the `mlm_mae` task across its variants (matplotlib, numpy and pandas: the report imports no torch):
the correction's paired differences with their intervals and equivalence bands, the DropToken sweep (accuracy
readings per ratio with seed dots, the post's CLUE table beside it for shape, and the speed-up against the
token-count ideal), and the MAE measurements on the trained encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kx_tasks.core.plotting import new_figure, save_figure
from kx_tasks.core.report import mean_std_table, paired_difference, seed_values, variants_table
from kx_tasks.mlm_mae.config import BAND, CONTROLS, DROPS, ENCODERS, IDENTITY, SETS

RATIOS = {"plain": 0.0, **DROPS}
MAE = (
    "pretrain.mlm_loss",
    "pretrain.unigram_entropy",
    "timing.encoder_speedup_75",
    "correction_mc_z",
    "gap.mae_75",
    "gap.mlm_15_plain",
    "gap.mlm_15_corrected",
)
SWEEP = ("test_acc_last", "test_acc_devsel", "dev_acc_best", "timing.speedup", "timing.epoch_seconds")


def paired_differences(metrics) -> pd.DataFrame:
    """corrected − plain in last-epoch test accuracy (points), per set and pre-training mask ratio: the mean, its 95%
    interval (low, high) and the equivalence band, as numbers."""
    rows = []
    for s in SETS:
        for suffix, ratio in (("", "15%"), ("40", "40%")):
            x = paired_difference(metrics, f"{s}.corrected{suffix}", f"{s}.plain{suffix}", "test_acc_last", scale=100)
            if x is not None:
                rows.append(
                    {
                        "set": s,
                        "mask ratio": ratio,
                        "mean": x.mean,
                        "low": x.low,
                        "high": x.high,
                        "band": 100 * BAND[s],
                        "seeds": x.n,
                    }
                )
    return pd.DataFrame(rows)


def differences_table(diffs: pd.DataFrame) -> pd.DataFrame:
    """The paired differences as the report shows them."""
    return pd.DataFrame(
        {
            "set": diffs["set"],
            "mask ratio": diffs["mask ratio"],
            "corrected − plain (points)": [f"{m:+.2f}" for m in diffs["mean"]],
            "95% interval": [f"[{lo:+.2f}, {hi:+.2f}]" for lo, hi in zip(diffs["low"], diffs["high"], strict=True)],
            "band": [f"±{b:.1f}" for b in diffs["band"]],
            "seeds": diffs["seeds"],
        }
    ).set_index("set")


def report_tables(metrics) -> dict:
    out = {}
    diffs = paired_differences(metrics)
    if not diffs.empty:
        out["embedding correction: paired differences in last-epoch test accuracy"] = differences_table(diffs)
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
        out[
            "MAE ≡ column-masked attention: worst relative error at the kept tokens over ratios 0.15/0.5/0.75 and "
            "seeds (controls: smallest)"
        ] = identity
    rows = metrics[(metrics.variant == "mae") & metrics.metric.isin(MAE)]
    if not rows.empty:
        out[
            "the 15% checkpoint (last-epoch MLM loss vs the unigram entropy), MAE speed-up, the correction's "
            "Monte-Carlo check and the averaging gaps (trained encoder)"
        ] = variants_table(rows, MAE, fmt="{mean:.3g} ± {std:.2g}")
    return out


def identity_table(metrics) -> pd.DataFrame:
    """Encoder × form (identity forms, then controls; float32, float64): the worst reading over seeds."""
    rows = {}
    for encoder in ENCODERS:
        row = {}
        for form in (*IDENTITY, *CONTROLS):
            for dt in ("f32", "f64"):
                values = seed_values(metrics, "mae", f"mae.{encoder}.{form}_{dt}").dropna()
                if not values.empty:
                    row[f"{form} {dt}"] = f"{(values.min() if form in CONTROLS else values.max()):.2g}"
        if row:
            rows[encoder] = row
    return pd.DataFrame.from_dict(rows, orient="index")


# The post's table (kexue.fm/archives/8770): CLUE dev accuracy, BERT-base, best over epochs, one run per cell.
POST_CLUE = {
    "IFLYTEK": (60.06, 60.56, 60.10, 61.29, 61.45),
    "TNEWS": (56.80, 57.00, 56.68, 56.88, 57.02),
    "AFQMC": (72.41, 72.61, 72.50, 72.34, 69.76),
    "OCNLI": (73.93, 73.76, 74.54, 73.09, 70.68),
    "WSC": (78.62, 77.30, 77.30, 73.68, 69.41),
    "CSL": (83.93, 83.33, 83.30, 83.37, 82.56),
}


def plot_variants(metrics, runs, out_dir: Path) -> list[Path]:
    out = []
    if metrics.variant.str.contains(r"\.drop").any():
        out.append(droptoken(metrics, out_dir / "mlm_mae_droptoken.png"))
    diffs = paired_differences(metrics)
    if not diffs.empty:
        out.append(correction(diffs, out_dir / "mlm_mae_correction.png"))
    return out


def droptoken(metrics, path: Path) -> Path:
    fig, axes = new_figure(3, 1, width=4.0, height=3.4)
    ratios = list(RATIOS.values())
    for k, s in enumerate(SETS):
        if not metrics.variant.str.startswith(f"{s}.").any():
            continue
        means = []
        for v, r in RATIOS.items():
            acc = 100 * seed_values(metrics, f"{s}.{v}", "test_acc_last").to_numpy()
            axes[0, 0].plot(np.full(len(acc), r), acc, "o", color=f"C{k}", ms=3, alpha=0.6)
            means.append(acc.mean() if len(acc) else np.nan)
        axes[0, 0].plot(ratios, means, "-", color=f"C{k}", label=s)
        speed = [seed_values(metrics, f"{s}.{v}", "timing.speedup").mean() if v != "plain" else 1.0 for v in RATIOS]
        axes[0, 2].plot(ratios, speed, "o-", color=f"C{k}", label=s)
    axes[0, 0].set_title("kx: last-epoch test accuracy (dots: seeds)", fontsize=9)
    for name, row in POST_CLUE.items():
        axes[0, 1].plot(ratios, np.array(row) - row[0], "o-", ms=3, label=name)
    axes[0, 1].axhline(0, color="0.5", lw=0.8)
    axes[0, 1].set_title("the post: CLUE dev accuracy − ratio 0", fontsize=9)
    grid = np.linspace(0, 0.5, 51)
    axes[0, 2].plot(grid, 1 / (1 - grid), "--", color="0.5", label="1/(1−r): token count")
    axes[0, 2].set_title("training-step speed-up", fontsize=9)
    for ax in axes[0]:
        ax.set_xlabel("DropToken ratio")
        ax.legend(fontsize=7)
    axes[0, 0].set_ylabel("accuracy (%)")
    caption = (
        "DropToken: kx's accuracy per ratio (every fine-tuning set run; seeds as dots), the post's CLUE table "
        "as differences from ratio 0, and the measured training-step speed-up against the token-count "
        "ideal"
    )
    return save_figure(fig, path, caption)


def correction(diffs, path: Path) -> Path:
    fig, axes = new_figure(1, 1, width=5.0, height=3.2)
    ax = axes[0, 0]
    for i, row in enumerate(diffs.itertuples()):
        ax.fill_between([i - 0.35, i + 0.35], -row.band, row.band, color="C2", alpha=0.15)
        ax.errorbar(i, row.mean, yerr=[[row.mean - row.low], [row.high - row.mean]], fmt="o", color="C0", capsize=4)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xticks(range(len(diffs)), [f"{s}\n{r} mask" for s, r in zip(diffs["set"], diffs["mask ratio"], strict=True)])
    ax.set_ylabel("corrected − plain (points)")
    caption = (
        "The embedding correction: paired difference in last-epoch test accuracy with its 95% interval; "
        "shaded: the equivalence band of 'no significant change'"
    )
    return save_figure(fig, path, caption)


AUTHOR_EPOCHS = 10  # bojone/CLUE-bert4keras: 10 fine-tuning epochs (BERT-base)


def author_compute(variant: str, params: dict) -> tuple[float, str] | None:
    """The share of the author's fine-tuning epochs a run is (none for the exact MAE checks); the encoder is a
    BERT-Tiny pre-trained here, not BERT-base."""
    if params["condition"] == "mae":
        return None
    return params["epochs"] / AUTHOR_EPOCHS, "fine-tuning epochs of CLUE-bert4keras's 10; BERT-Tiny, not BERT-base"
