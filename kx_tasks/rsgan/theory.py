"""The post's theory checked exactly on a finite support (float64, exact expectations, no sampling).

Data p and generator q are strictly positive distributions on K points; a discriminator is a vector T (one logit per
point). With W = p ⊗ q (x_r ~ p and x_f ~ q independent), every expected loss is a weighted sum over the K² pairs of
the training code's own per-pair losses (kx_tasks.rsgan.losses), so a wrong loss fails these checks too:

    SGAN D:   Σ_ij p_i q_j [softplus(−T_i) + softplus(T_j)]     stationary at T = log(p/q)        (post: R1)
    RSGAN D:  Σ_ij p_i q_j softplus(−(T_i − T_j))               stationary at T = log(p/q) + c   (post: R3)

Both are convex in T (softplus of linear maps), so the stationary points are the global minima (RSGAN's up to the
constant c: the loss is shift-invariant). Newton's method with the exact Hessian (autograd), from T = 0, must find
them. At the optimum the generator losses E[h(·)] for h(t) ∈ {−t, −log σ(t), log(1 − σ(t))} are the f-divergences of
the post (R2, R4) with f(t) = h(log t):

    SGAN:   Σ_j q_j h(T*_j) = Σ_j q_j f(p_j/q_j)
    RSGAN:  Σ_ij p_i q_j h(T*_j − T*_i) = Σ_ij p_i q_j f(p_j q_i / (p_i q_j))

(the divergence between p(x_r)q(x_f) and p(x_f)q(x_r)), each ≥ f(1) = h(0) since f is convex (checked on a grid).

Note on the post's derivation: setting "the part within the square brackets" to zero is sufficient, not necessary
(the bracket sits inside an integral over x_f); the conclusion holds because the loss is convex and the pointwise
solution exists.
"""

from __future__ import annotations

import numpy as np
import torch

from kx_tasks.rsgan.losses import d_loss

H = {
    "neg_t": lambda t: -t,
    "neg_log_sigmoid": lambda t: -torch.nn.functional.logsigmoid(t),
    "log_one_minus_sigmoid": lambda t: torch.nn.functional.logsigmoid(-t),
}


def support(k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """p and q: two independent Dirichlet(1) vectors on k points (strictly positive)."""
    rng = np.random.default_rng([seed, 6110])
    p, q = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
    if (p <= 0).any() or (q <= 0).any():
        raise ValueError("theory: a Dirichlet draw has a zero; use another seed")
    return p, q


def expected_d_loss(loss: str, t: torch.Tensor, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """E_{x_r ~ p, x_f ~ q}[d_loss(T(x_r), T(x_f))], exactly (a sum over all K² pairs)."""
    k = len(t)
    i = torch.arange(k).repeat_interleave(k)  # x_r
    j = torch.arange(k).repeat(k)  # x_f
    w = p[i] * q[j]
    return (w * d_loss(loss, t[i], t[j])).sum()


def gradient(loss: str, t: torch.Tensor, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    t = t.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(expected_d_loss(loss, t, p, q), t)
    return g


def newton(loss: str, p: torch.Tensor, q: torch.Tensor, tol: float = 1e-14, max_steps: int = 200):
    """Newton's method from T = 0 with the exact Hessian; RSGAN's Hessian is singular along the constant vector
    (shift invariance), so its steps solve (H + 𝟙𝟙ᵀ) Δ = −g, which keeps Δ orthogonal to 𝟙. A backtracking line
    search on the loss keeps the early steps (far from the optimum, where σ saturates) from overshooting.
    Returns (T*, steps taken)."""
    t = torch.zeros_like(p)
    ones = torch.ones(len(p), len(p), dtype=p.dtype)

    def f(v):
        return expected_d_loss(loss, v, p, q)

    for step in range(1, max_steps + 1):
        g = gradient(loss, t, p, q)
        if g.abs().max() <= tol:
            return t, step - 1
        h = torch.autograd.functional.hessian(f, t)
        if loss != "sgan":
            h = h + ones
        delta = -torch.linalg.solve(h, g)
        current, scale = f(t), 1.0
        while f(t + scale * delta) > current and scale > 1e-12:
            scale /= 2
        t = (t + scale * delta).detach()
    return t, max_steps


def generator_loss(loss: str, h: str, t: torch.Tensor, p: torch.Tensor, q: torch.Tensor) -> float:
    """E_q[h(T)] (SGAN) or E_{p(x_r)q(x_f)}[h(T(x_f) − T(x_r))] (RSGAN)."""
    fn = H[h]
    if loss == "sgan":
        return float((q * fn(t)).sum())
    return float((p[:, None] * q[None, :] * fn(t[None, :] - t[:, None])).sum())


def f_divergence(loss: str, h: str, p: torch.Tensor, q: torch.Tensor) -> float:
    """The post's closed form with f(t) = h(log t)."""
    fn = H[h]
    if loss == "sgan":
        return float((q * fn(torch.log(p / q))).sum())
    ratio = (p[None, :] * q[:, None]) / (p[:, None] * q[None, :])  # [i, j] = p_j q_i / (p_i q_j)
    return float((p[:, None] * q[None, :] * fn(torch.log(ratio))).sum())


def convexity_margin(h: str) -> float:
    """The smallest second difference of f(t) = h(log t) on a log grid t ∈ [1e-3, 1e3] (≥ 0: convex there)."""
    t = torch.logspace(-3, 3, 2001, dtype=torch.float64)
    f = H[h](torch.log(t))
    # second divided differences on the non-uniform grid
    d1 = (f[1:] - f[:-1]) / (t[1:] - t[:-1])
    d2 = (d1[1:] - d1[:-1]) / ((t[2:] - t[:-2]) / 2)
    return float(d2.min())


def solve(k: int, seed: int) -> dict[str, np.ndarray]:
    """The train stage of the `theory` variant: both optima by Newton from T = 0."""
    p_np, q_np = support(k, seed)
    p, q = torch.from_numpy(p_np), torch.from_numpy(q_np)
    t_sgan, n_sgan = newton("sgan", p, q)
    t_rsgan, n_rsgan = newton("rsgan", p, q)
    return {
        "p": p_np,
        "q": q_np,
        "t_sgan": t_sgan.numpy(),
        "t_rsgan": t_rsgan.numpy(),
        "steps": np.array([n_sgan, n_rsgan]),
    }


def check(solution: dict[str, np.ndarray], seed: int) -> dict[str, float]:
    """The evaluate stage: every error the claims judge, from the Newton solutions."""
    p, q = torch.from_numpy(solution["p"]), torch.from_numpy(solution["q"])
    log_ratio = torch.log(p / q)
    shift = float(np.random.default_rng([seed, 1]).normal() * 3)

    def centred(v):
        return v - v.mean()

    t_sgan, t_rsgan = torch.from_numpy(solution["t_sgan"]), torch.from_numpy(solution["t_rsgan"])
    out = {
        "sgan.grad_at_log_ratio": float(gradient("sgan", log_ratio, p, q).abs().max()),
        "rsgan.grad_at_log_ratio": float(gradient("rsgan", log_ratio + shift, p, q).abs().max()),
        "rsgan.shift_invariance": abs(
            float(expected_d_loss("rsgan", log_ratio + shift, p, q) - expected_d_loss("rsgan", log_ratio, p, q))
        ),
        "sgan.newton_error": float((t_sgan - log_ratio).abs().max()),
        "rsgan.newton_error": float((centred(t_rsgan) - centred(log_ratio)).abs().max()),
        "sgan.newton_steps": float(solution["steps"][0]),
        "rsgan.newton_steps": float(solution["steps"][1]),
        # how far the optimum is from T = 0 (a check that finds T = 0 is not a check)
        "log_ratio_range": float(log_ratio.max() - log_ratio.min()),
    }
    for loss, t in (("sgan", t_sgan), ("rsgan", t_rsgan)):
        errors, margins = [], []
        for h in H:
            value = generator_loss(loss, h, t, p, q)
            closed = f_divergence(loss, h, p, q)
            out[f"{loss}.fdiv.{h}"] = closed
            errors.append(abs(value - closed))
            margins.append(closed - float(H[h](torch.zeros((), dtype=torch.float64))))
        out[f"{loss}.fdiv_error"] = max(errors)
        out[f"{loss}.fdiv_above_f1"] = min(margins)
    out["f_convexity_margin"] = min(convexity_margin(h) for h in H)
    return out
