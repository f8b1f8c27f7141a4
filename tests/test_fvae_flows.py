"""fvae's flows: every layer and the multi-scale Glow invert exactly (float64), their log-determinants equal a
brute-force Jacobian's on a tiny input, Glow's log density is the change of variables, and fresh steps start as the
identity (actnorm as a whitening)."""

from __future__ import annotations

import pytest
import torch

from kx_tasks.fvae import flows


def _perturb(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random non-zero weights everywhere (zero-initialised layers would make the checks trivial), float64, eval."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if not name.endswith(("lower", "upper", "log_s")):
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return module.double().eval()


def _brute_logdet(fn, x: torch.Tensor) -> torch.Tensor:
    """log|det ∂fn(x)/∂x| per sample, from the full Jacobian of one sample at a time."""
    out = []
    for xi in x:
        jac = torch.autograd.functional.jacobian(lambda v: fn(v[None]).flatten(), xi)
        out.append(torch.linalg.slogdet(jac.reshape(xi.numel(), xi.numel()))[1])
    return torch.stack(out)


LAYERS = {
    "actnorm": lambda c: flows.ActNorm(c),
    "invconv_lu": lambda c: flows.InvConv1x1(c, torch.Generator().manual_seed(1)),
    "permute": lambda c: flows.Permute(c, torch.Generator().manual_seed(1)),
    "additive": lambda c: flows.Coupling(c, 6, affine=False),
    "affine": lambda c: flows.Coupling(c, 6, affine=True),
    "step": lambda c: flows.FlowStep(c, 6, True, "lu", torch.Generator().manual_seed(2)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer_inverts_and_its_logdet_is_the_jacobians(name):
    layer = _perturb(LAYERS[name](4))
    x = torch.randn(3, 4, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    y, logdet = layer(x)
    assert torch.allclose(layer.reverse(y), x, atol=1e-10)
    assert logdet.shape == (3,)
    assert torch.allclose(logdet, _brute_logdet(lambda v: layer(v)[0], x), atol=1e-9)


def test_squeeze_round_trip_and_layout():
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float64).reshape(2, 3, 4, 6)
    s = flows.squeeze(x)
    assert s.shape == (2, 12, 2, 3) and torch.equal(flows.unsqueeze(s), x)
    assert s[0, :4, 0, 0].tolist() == [x[0, 0, 0, 0], x[0, 0, 0, 1], x[0, 0, 1, 0], x[0, 0, 1, 1]]


@pytest.mark.parametrize(
    "affine,mixing,squeeze_first", [(False, "lu", True), (True, "permute", True), (False, "permute", False)]
)
def test_glow_is_an_exact_change_of_variables(affine, mixing, squeeze_first):
    shape = (2, 4, 4) if squeeze_first else (4, 2, 2)
    glow = _perturb(
        flows.Glow(shape, levels=2, depth=2, hidden=6, affine=affine, mixing=mixing, squeeze_first=squeeze_first)
    )
    x = torch.randn(2, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    latents, log_p = glow(x)
    assert [tuple(z.shape[1:]) for z in latents] == glow.latent_shapes
    assert torch.allclose(glow.reverse(latents), x, atol=1e-10)

    def flat(v):
        return torch.cat([z.flatten(1) for z in glow(v)[0]], 1)

    eps = flat(x)
    expected = flows.gaussian_log_prob(eps) + _brute_logdet(flat, x)
    assert torch.allclose(log_p, expected, atol=1e-9)
    assert eps.shape[1] == x[0].numel()


def test_fresh_steps_are_the_identity_and_actnorm_whitens_its_first_batch():
    x = 3 + 2 * torch.randn(64, 4, 5, 5, generator=torch.Generator().manual_seed(0))
    for affine in (False, True):
        y, logdet = flows.Coupling(4, 8, affine=affine)(x)
        assert torch.equal(y, x) and torch.all(logdet == 0)
    kept, eps, _ = flows.SplitPrior(4)(x)
    assert torch.equal(eps, x[:, 2:])  # mean 0, log-scale 0 at init
    norm = flows.ActNorm(4).train()
    y, _ = norm(x)
    assert torch.allclose(y.mean(dim=(0, 2, 3)), torch.zeros(4), atol=1e-5)
    assert torch.allclose(y.std(dim=(0, 2, 3)), torch.ones(4), atol=1e-4)
    again, _ = norm(x + 1)  # initialised once: a later batch is not re-standardised
    assert torch.allclose(again, y + torch.exp(norm.log_scale), atol=1e-5)


def test_sampling_at_temperature_zero_is_the_latent_mode():
    glow = _perturb(flows.Glow((1, 4, 4), levels=2, depth=1, hidden=4))
    x0 = glow.sample(2, temperature=0.0)
    assert torch.allclose(x0[0], x0[1])
    assert all(torch.allclose(z, torch.zeros_like(z), atol=1e-10) for z in glow(x0)[0])
