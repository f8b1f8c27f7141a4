"""The augmentation plan: every random draw of a run's training, made once by the `augment` stage and saved, so
that `train` draws nothing of its own and a run's augmentation is an inspectable artefact (plan.npz).

Per seed (shared by every variant of that seed: common random numbers): the class-balanced training subset and the
batch order of every epoch. Per variant: for every (epoch, position) the partner image, the input weight λx of the
image itself (x̃ = λx·x_a + (1 − λx)·x_b) and the target weight λy (loss λy·CE(p, y_a) + (1 − λy)·CE(p, y_b)):

    erm                  partner = itself, λx = λy = 1
    mixup (α)            partner = a permutation of the batch, λx = λy = λ ~ Beta(α, α), one per batch (or sample)
    samplepairing        partner uniform from the subset, λx = ½, λy = 1 (the label of the first image)
    samplepairing_sym    partner uniform from the subset, λx = ½, λy ∈ {0, 1} at random (the post's reading)
    half_soft            partner uniform from the subset, λx = ½, λy = ½

SamplePairing's schedule (Inoue 2018): off for the first 15% of epochs, then 8 epochs on and 2 off, off for the
last 10%; in an off epoch every sample is its own partner. Streams come from numpy SeedSequences keyed by (seed,
purpose), so adding a variant never shifts another's draws.
"""

from __future__ import annotations

import math

import numpy as np

from kx_tasks.mixup.config import MixupConfig

SUBSET, ORDER, PARTNER, WEIGHT, CROP = 0, 1, 2, 3, 4  # stream purposes
PAD = 4  # crop_flip: zero padding, so a crop's offset is -4 … 4 in each direction
SP_ON, SP_OFF = 8, 2  # SamplePairing's intermittent phase: epochs on, epochs off


def subset_indices(labels: np.ndarray, size: int, seed: int, classes: int = 10) -> np.ndarray:
    """`size / classes` images of each class, drawn without replacement; sorted indices into the training set."""
    rng = np.random.default_rng([seed, SUBSET])
    per_class = size // classes
    picked = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False) for c in range(classes)]
    return np.sort(np.concatenate(picked))


def active_epochs(cfg: MixupConfig) -> np.ndarray:
    """Whether the mixing is on in each epoch (only SamplePairing's paper schedule turns it off)."""
    on = np.ones(cfg.epochs, dtype=bool)
    if cfg.mixing in ("samplepairing",) and cfg.schedule == "paper":
        first, last = math.ceil(0.15 * cfg.epochs), cfg.epochs - math.ceil(0.10 * cfg.epochs)
        on[:first] = False
        on[last:] = False
        middle = np.arange(first, last)
        on[middle] = (middle - first) % (SP_ON + SP_OFF) < SP_ON
    if cfg.mixing == "none":
        on[:] = False
    return on


def make_plan(cfg: MixupConfig, n: int, seed: int) -> dict[str, np.ndarray]:
    """order, partner (epochs × n, positions in the subset), lam_x, lam_y (epochs × n, float32), active (epochs)."""
    order_rng = np.random.default_rng([seed, ORDER])
    partner_rng = np.random.default_rng([seed, PARTNER])  # SamplePairing's three forms share their partners
    weight_rng = np.random.default_rng([seed, WEIGHT])
    b = cfg.batch_size
    order = np.stack([order_rng.permutation(n) for _ in range(cfg.epochs)])
    partner = order.copy()
    lam_x = np.ones((cfg.epochs, n), dtype=np.float32)
    lam_y = np.ones((cfg.epochs, n), dtype=np.float32)
    active = active_epochs(cfg)
    for e in np.flatnonzero(active):
        if cfg.mixing == "mixup":
            for i in range(0, n, b):
                size = min(b, n - i)
                partner[e, i : i + size] = order[e, i : i + size][partner_rng.permutation(size)]
                lam = weight_rng.beta(cfg.alpha, cfg.alpha, size if cfg.per_sample_lambda else 1)
                lam_x[e, i : i + size] = lam
            lam_y[e] = lam_x[e]
        else:
            partner[e] = partner_rng.integers(0, n, n)
            lam_x[e] = 0.5
            if cfg.mixing == "samplepairing_sym":
                lam_y[e] = weight_rng.integers(0, 2, n)
            elif cfg.mixing == "half_soft":
                lam_y[e] = 0.5
    plan = {"order": order, "partner": partner, "lam_x": lam_x, "lam_y": lam_y, "active": active}
    if cfg.crop_flip:  # per (epoch, image), so an image looks the same as the first and as the second of a pair
        crop_rng = np.random.default_rng([seed, CROP])
        plan["shift"] = crop_rng.integers(-PAD, PAD + 1, (cfg.epochs, n, 2)).astype(np.int8)
        plan["flip"] = crop_rng.integers(0, 2, (cfg.epochs, n)).astype(bool)
    return plan


def crop_flip(x, shift, flip):
    """Images (B, C, H, W) shifted by `shift` (B, 2: rows, columns) inside a zero border of PAD pixels, then mirrored
    where `flip` (B,): torchvision's RandomCrop(padding=PAD) and RandomHorizontalFlip, drawn by the plan."""
    import torch

    b, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (PAD, PAD, PAD, PAD))
    rows = (torch.arange(h, device=x.device)[None, :] + PAD + shift[:, 0:1].long())[:, None, :, None]
    cols = (torch.arange(w, device=x.device)[None, :] + PAD + shift[:, 1:2].long())[:, None, None, :]
    out = padded[
        torch.arange(b, device=x.device)[:, None, None, None],
        torch.arange(c, device=x.device)[None, :, None, None],
        rows,
        cols,
    ]
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


def batch_slices(n: int, batch_size: int) -> list[slice]:
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
