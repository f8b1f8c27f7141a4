"""How soon a training curve gets good: the engine's evaluation rows (each with its `step` and `seconds`) read for
the first checkpoint at which a quality measure falls to a threshold τ — the "speed to τ" of rsgan's and fvae's
claims, in engine steps and in training seconds — and the curve's mean log, an area under it on the step axis."""

from __future__ import annotations

import numpy as np


def speed_to_tau(evals: list[dict], key: str, tau: float) -> dict[str, float]:
    """The first evaluation with evals[key] ≤ tau: `steps_to_tau` (engine steps) and `timing.seconds_to_tau`
    (training seconds, a clock reading), censored at the last evaluation when it never comes (`reached_tau` 0);
    `auc_log_<key>`, the mean log of the curve over the evaluations (lower: better sooner)."""
    hit = next((r for r in evals if r[key] <= tau), None)
    last = evals[-1]
    return {
        f"auc_log_{key}": float(np.mean(np.log([r[key] for r in evals]))),
        "tau": tau,
        "reached_tau": 1.0 if hit else 0.0,
        "steps_to_tau": float((hit or last)["step"]),
        "timing.seconds_to_tau": float((hit or last)["seconds"]),
    }
