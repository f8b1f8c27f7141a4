"""Helpers shared by tasks: speed to a threshold on the engine's evaluation rows, image mosaics, weight loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kx_tasks.core.checkpoints import load_weights
from kx_tasks.core.plotting import tile
from kx_tasks.core.stages import condition, family
from kx_tasks.shared.curves import speed_to_tau

EVALS = [
    {"step": 100, "seconds": 10.0, "fd": 40.0},
    {"step": 200, "seconds": 20.0, "fd": 8.0},
    {"step": 300, "seconds": 30.0, "fd": 5.0},
]


def test_speed_to_tau_counts_engine_steps_and_seconds():
    s = speed_to_tau(EVALS, "fd", tau=9.0)
    assert s["steps_to_tau"] == 200 and s["timing.seconds_to_tau"] == 20.0 and s["reached_tau"] == 1.0
    assert s["auc_log_fd"] == pytest.approx(np.mean(np.log([40, 8, 5])))
    never = speed_to_tau(EVALS, "fd", tau=1.0)
    assert never["reached_tau"] == 0.0 and never["steps_to_tau"] == 300  # censored at the budget


def test_tile_fills_rows_then_blank_cells():
    grey = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)  # five 2×3 images
    mosaic = tile(grey, cols=2, fill=-1.0)
    assert mosaic.shape == (3 * 2, 2 * 3)
    assert np.array_equal(mosaic[2:4, 3:6], grey[3]) and (mosaic[4:, 3:] == -1).all()
    colour = np.random.default_rng(0).random((4, 3, 2, 2))
    assert tile(colour, cols=4).shape == (2, 8, 3)
    assert np.array_equal(tile(colour, cols=4)[:, 2:4], colour[1].transpose(1, 2, 0))


def test_family_and_condition_of_a_variant():
    assert (family("mnist.fvae"), condition("mnist.fvae")) == ("mnist", "fvae")
    assert (family("tau.gene_expression_x100"), condition("tau.gene_expression_x100")) == (
        "tau",
        "gene_expression_x100",
    )
    assert (family("theory"), condition("theory")) == ("theory", "")


def test_load_weights_reads_a_state_dict_only(tmp_path):
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    torch.save(a.state_dict(), tmp_path / "w.pt")
    assert load_weights(b, tmp_path / "w.pt", "cpu") is b and torch.equal(a.weight, b.weight)
    torch.save({"w": object()}, tmp_path / "code.pt")  # anything but tensors and plain containers is refused
    with pytest.raises(Exception, match="[Ww]eights only"):
        load_weights(b, tmp_path / "code.pt", "cpu")


def test_seed_curves_cut_every_seed_to_the_shortest(tmp_path):
    import json

    import pandas as pd

    from kx_tasks.core.report import seed_curves

    rows = []
    for seed, n in ((0, 3), (1, 2), (2, 0)):  # seed 2's train stage wrote no evaluation rows
        train = tmp_path / f"seed{seed}" / "train"
        train.mkdir(parents=True)
        lines = [json.dumps({"step": 10 * (i + 1), "seconds": float(i + seed), "fd": 5.0 - i}) for i in range(n)]
        (train / "evals.jsonl").write_text("".join(line + "\n" for line in lines))
        rows.append({"variant": "mnist.a", "seed": seed, "dir": str(tmp_path / f"seed{seed}" / "eval")})
    curves = seed_curves(pd.DataFrame(rows))
    assert list(curves) == ["mnist.a"]
    assert curves["mnist.a"]["fd"].tolist() == [[5.0, 4.0], [5.0, 4.0]]
    assert curves["mnist.a"]["seconds"].tolist() == [[0.0, 1.0], [1.0, 2.0]]
