"""The mixup task's exact pieces: the post's symmetry identity, the plan (common random numbers, schedules, the
batch `train` feeds the network), the linearity gap's zero, calibration, and the cross-variant claim judges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from kx_tasks.core.claims import CONTRADICTED, REPRODUCED, Beats, Claim, Delta, NoWorse, SameAs
from kx_tasks.core.report import judge_claims
from kx_tasks.core.settings import make_run
from kx_tasks.mixup import TASK
from kx_tasks.mixup.config import MixupConfig
from kx_tasks.mixup.metrics import ece, fixed_pairs, gap, tv
from kx_tasks.mixup.model import SmallCNN, mixed_loss
from kx_tasks.mixup.plan import active_epochs, make_plan, subset_indices
from kx_tasks.mixup.steps import train_model


def cfg(variant: str, **params) -> MixupConfig:
    return make_run({"tasks": {"mixup": {"params": params}}}, TASK, variant, 0).params


def test_random_label_equals_soft_label_in_expectation():
    """The post's re-description: the label y_a or y_b with probability ½ each has the expected loss (and
    gradient) of the soft label ½y_a + ½y_b, exactly."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(64, 10, generator=gen, dtype=torch.float64, requires_grad=True)
    y_a, y_b = torch.randint(0, 10, (64,), generator=gen), torch.randint(0, 10, (64,), generator=gen)
    half = torch.full((64,), 0.5, dtype=torch.float64)
    soft = mixed_loss(logits, y_a, y_b, half)
    random_label = 0.5 * mixed_loss(logits, y_a, y_b, torch.ones_like(half)) + 0.5 * mixed_loss(
        logits, y_a, y_b, torch.zeros_like(half)
    )
    assert torch.allclose(soft, random_label, atol=1e-6, rtol=0)
    (g_soft,) = torch.autograd.grad(soft.sum(), logits)
    (g_rand,) = torch.autograd.grad(random_label.sum(), logits)
    assert torch.allclose(g_soft, g_rand, atol=1e-6, rtol=0)


def test_subset_is_class_balanced_and_shared_by_variants():
    labels = np.repeat(np.arange(10), 600)
    idx = subset_indices(labels, 500, seed=3)
    assert len(idx) == 500 and np.bincount(labels[idx]).tolist() == [50] * 10
    assert np.array_equal(idx, subset_indices(labels, 500, seed=3))
    assert not np.array_equal(idx, subset_indices(labels, 500, seed=4))


def test_every_variant_of_a_seed_shares_the_batch_order():
    plans = {
        m: make_plan(cfg(f"fashion_mnist.{m}", train_size=500, epochs=3, batch_size=100), 500, 7)
        for m in ("erm", "mixup", "samplepairing_sym", "mix_half_soft")
    }
    orders = [p["order"] for p in plans.values()]
    assert all(np.array_equal(orders[0], o) for o in orders)
    erm = plans["erm"]
    assert np.array_equal(erm["partner"], erm["order"]) and (erm["lam_x"] == 1).all() and (erm["lam_y"] == 1).all()


def test_mixup_plan_is_the_official_form():
    """One λ per batch, partner a permutation of the batch, λy = λx; per-sample λ as the parameter says."""
    plan = make_plan(cfg("fashion_mnist.mixup", train_size=500, epochs=2, batch_size=100), 500, 0)
    for e in range(2):
        for i in range(0, 500, 100):
            batch, partner = plan["order"][e, i : i + 100], plan["partner"][e, i : i + 100]
            assert sorted(batch) == sorted(partner)
            assert len(set(plan["lam_x"][e, i : i + 100])) == 1
    assert np.array_equal(plan["lam_x"], plan["lam_y"])
    per_sample = make_plan(cfg("fashion_mnist.mixup", train_size=500, batch_size=100, per_sample_lambda=True), 500, 0)
    assert len(set(per_sample["lam_x"][0, :100])) == 100


def test_samplepairing_forms_and_schedule():
    sp = cfg("fashion_mnist.samplepairing", epochs=40)
    on = active_epochs(sp)
    # Off for the first 15% (6 epochs) and the last 10% (4), 8 on / 2 off in between.
    assert not on[:6].any() and not on[36:].any()
    assert on[6:14].all() and not on[14:16].any() and on[16:24].all()
    plan = make_plan(dataclass_replace(sp, train_size=500, batch_size=100), 500, 0)
    assert (plan["lam_x"][~on] == 1).all() and (plan["lam_x"][on] == 0.5).all() and (plan["lam_y"] == 1).all()
    sym = make_plan(cfg("fashion_mnist.samplepairing_sym", train_size=500, batch_size=100), 500, 0)
    assert set(np.unique(sym["lam_y"])) == {0.0, 1.0} and (sym["lam_x"] == 0.5).all()
    half = make_plan(cfg("fashion_mnist.mix_half_soft", train_size=500, batch_size=100), 500, 0)
    assert (half["lam_y"] == 0.5).all() and np.array_equal(half["partner"], sym["partner"])


def dataclass_replace(params: MixupConfig, **changes) -> MixupConfig:
    return params.model_copy(update=changes)


def test_train_feeds_the_network_exactly_the_planned_batch(tmp_path):
    """One batch of the plan applied by hand equals what `train` feeds the network."""
    c = cfg("fashion_mnist.mixup", train_size=100, epochs=1, batch_size=20)
    plan_np = make_plan(c, 100, 0)
    plan = {k: torch.as_tensor(v) for k, v in plan_np.items()}
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(100, 1, 28, 28, generator=gen), torch.randint(0, 10, (100,), generator=gen)
    torch.manual_seed(0)
    model = SmallCNN(4)
    seen = []
    model.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    train_model(model, x, y, plan, c, tmp_path / "ckpt", tmp_path, "test")
    ia, ib, lam = plan_np["order"][0, :20], plan_np["partner"][0, :20], plan_np["lam_x"][0, :20]
    by_hand = lam[:, None, None, None] * x.numpy()[ia] + (1 - lam[:, None, None, None]) * x.numpy()[ib]
    assert len(seen) == 5 and np.allclose(seen[0].numpy(), by_hand, atol=1e-6)


def test_linearity_gap_is_zero_for_an_affine_map_and_positive_otherwise():
    gen = torch.Generator().manual_seed(0)
    w, b = torch.randn(5, 3, generator=gen, dtype=torch.float64), torch.randn(3, generator=gen, dtype=torch.float64)
    x_a, x_b = (
        torch.randn(50, 5, generator=gen, dtype=torch.float64),
        torch.randn(50, 5, generator=gen, dtype=torch.float64),
    )

    def affine(x):
        return x @ w + b

    def dist(u, v):
        return (u - v).norm(dim=1)

    assert float(gap(affine, x_a, x_b, dist).max()) < 1e-12

    def softmax(x):
        return torch.softmax(affine(x), dim=1)

    assert float(gap(softmax, x_a, x_b, tv).mean()) > 1e-3


def test_ece():
    labels = torch.tensor([0, 1, 0, 1])
    assert ece(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]), labels) == pytest.approx(0.0)
    # Confidence 0.9 everywhere, accuracy 0.5: ECE 0.4.
    probs = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.9, 0.1]])
    assert ece(probs, labels) == pytest.approx(0.4)


def test_test_pairs_are_fixed_and_cross_class():
    labels = np.random.default_rng(0).integers(0, 10, 1000)
    a, b = fixed_pairs(labels, 200)
    assert np.array_equal(a, fixed_pairs(labels, 200)[0]) and (labels[a] != labels[b]).all()
    a, b = fixed_pairs(labels, 50, same_class=True)
    assert (labels[a] == labels[b]).all() and (a != b).all()


def test_cross_variant_judges():
    shift = np.array([0, 0.01, 0.02, 0.005])
    rows = [
        {"task": "mixup", "variant": v, "seed": s, "metric": "test_acc", "value": x}
        for v, base in (("a.erm", 0.80), ("a.mixup", 0.81))
        for s, x in enumerate(base + shift)
    ]
    metrics = pd.DataFrame(rows)
    claims = (
        Claim("c.beats", "", "test_acc", Beats("test_acc", variant="a.erm"), variants=("a.mixup",)),
        Claim("c.noworse", "", "test_acc", NoWorse("a.mixup", "test_acc"), variants=("a.erm",), delta=Delta(0.005, "")),
        Claim("c.same", "", "test_acc", SameAs("a.erm", "test_acc", 0.005), variants=("a.mixup",)),
    )
    task = TASK.__class__(**{**TASK.__dict__, "claims": claims})
    out = judge_claims({"mixup": task}, metrics).set_index("claim")
    assert out.loc["c.beats", "verdict"] == REPRODUCED  # +0.01 on every seed
    assert out.loc["c.noworse", "verdict"] == CONTRADICTED  # erm is 0.01 below mixup in every seed, margin 0.005
    assert out.loc["c.same", "verdict"] == CONTRADICTED  # 0.01 apart, band ±0.005


def test_report_figures_across_variants(tmp_path):
    from kx_tasks.core.io import write_json
    from kx_tasks.mixup.report import plot_variants

    runs, rows = [], []
    for v in ("a.erm", "a.mixup"):
        for s in (0, 1):
            d = tmp_path / v / f"seed{s}"
            d.mkdir(parents=True)
            write_json(d / "line.json", {"eps": [0, 1], "y_a": 1, "y_b": 2, "p_a": [0.1, 0.9], "p_b": [0.8, 0.1]})
            runs.append({"task": "mixup", "variant": v, "seed": s, "dir": str(d)})
            rows += [
                {"task": "mixup", "variant": v, "seed": s, "metric": m, "value": 0.5}
                for m in ("test_acc", "lin_gap_rel")
            ]
    pngs = plot_variants(pd.DataFrame(rows), pd.DataFrame(runs), tmp_path / "out")
    assert [p.name for p in pngs] == ["mixup_variants.png", "mixup_line.png"] and all(p.stat().st_size for p in pngs)


def test_cifar10_binary_archive_is_read_without_pickles(tmp_path):
    import io
    import tarfile

    from kx_tasks.core.data.formats import build_cifar10_binary

    def records(n, first_label):
        labels = (np.arange(n) + first_label) % 10
        pixels = np.arange(n * 3072, dtype=np.int64).reshape(n, 3072) % 251
        return np.column_stack([labels, pixels]).astype(np.uint8).tobytes()

    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, first in [(f"data_batch_{k}.bin", k) for k in range(1, 6)] + [("test_batch.bin", 0)]:
            raw = records(4, first)
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    out = build_cifar10_binary({"archive": archive})
    assert out["x_train"].shape == (20, 3, 32, 32) and out["x_test"].shape == (4, 3, 32, 32)
    assert out["y_train"][:4].tolist() == [1, 2, 3, 4] and out["y_test"].tolist() == [0, 1, 2, 3]
    assert out["x_test"][1, 0, 0, 0] == 3072 % 251  # record 1's first pixel: red plane, row 0, column 0


def test_crop_flip_is_a_shift_inside_a_zero_border_then_a_mirror():
    from kx_tasks.mixup.plan import crop_flip

    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    same = crop_flip(x, torch.zeros(2, 2, dtype=torch.int8), torch.zeros(2, dtype=torch.bool))
    assert torch.equal(same, x)
    out = crop_flip(x, torch.tensor([[1, -2], [0, 0]], dtype=torch.int8), torch.tensor([False, True]))
    assert (
        torch.equal(out[0, :, :7, 2:], x[0, :, 1:, :6])
        and (out[0, :, 7, :] == 0).all()
        and (out[0, :, :, :2] == 0).all()
    )
    assert torch.equal(out[1], x[1].flip(-1))


def test_preact_resnet18_is_the_official_size():
    from kx_tasks.mixup.model import PreActResNet18

    net = PreActResNet18()
    assert sum(p.numel() for p in net.parameters()) == 11_171_146
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_cifar_variants_pin_the_official_recipe():
    c = cfg("cifar10.mixup")
    assert (c.arch, c.lr, c.epochs, c.batch_size, c.lr_schedule, c.crop_flip, c.train_size) == (
        "preact_resnet18",
        0.1,
        200,
        128,
        "step",
        True,
        50_000,
    )
    plan = make_plan(c.model_copy(update={"epochs": 2, "train_size": 100, "batch_size": 20}), 100, 0)
    assert plan["shift"].shape == (2, 100, 2) and set(np.unique(plan["shift"])) <= set(range(-4, 5))


def test_the_cifar_recipe_trains_on_the_planned_crops(tmp_path):
    """The cifar10.* path end to end on 40 random colour images for one epoch (PreAct ResNet-18, step schedule,
    crop + flip from the plan): the first batch the network sees is the planned crops, mixed by hand."""
    from kx_tasks.mixup.model import make_model
    from kx_tasks.mixup.plan import crop_flip

    c = cfg("cifar10.mixup").model_copy(update={"epochs": 1, "train_size": 40, "batch_size": 20})
    plan = {k: torch.as_tensor(v) for k, v in make_plan(c, 40, 0).items()}
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(40, 3, 32, 32, generator=gen), torch.randint(0, 10, (40,), generator=gen)
    torch.manual_seed(0)
    model = make_model(c.arch, c.width, 3)
    seen = []
    model.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    train_model(model, x, y, plan, c, tmp_path / "ckpt", tmp_path, "cifar")
    ia, ib, lam = plan["order"][0, :20], plan["partner"][0, :20], plan["lam_x"][0, :20, None, None, None]

    def crop(i):
        return crop_flip(x[i], plan["shift"][0, i], plan["flip"][0, i])

    assert len(seen) == 2 and torch.allclose(seen[0], lam * crop(ia) + (1 - lam) * crop(ib), atol=1e-6)
