"""kx_tasks.shared.linalg: the volume of a non-square matrix, against independent computations."""

import math

import pytest
import torch

from kx_tasks.shared.linalg import METHODS, log_volume, volume, volume_cauchy_binet, volume_gram, volume_svd

torch.manual_seed(0)


def test_single_vector_volume_is_its_length():
    x = torch.randn(7, 1, dtype=torch.float64)
    assert volume(x).item() == pytest.approx(torch.linalg.vector_norm(x).item(), rel=1e-14)


def test_two_vectors_span_a_parallelogram():
    x = torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64)
    y = torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64)
    # |x| |y| sin θ = base 3 x height 2
    assert volume(torch.stack([x, y], dim=1)).item() == pytest.approx(6.0, rel=1e-14)
    u, v = torch.randn(5, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    theta = torch.arccos(u @ v / (u.norm() * v.norm()))
    expected = (u.norm() * v.norm() * torch.sin(theta)).item()
    assert volume(torch.stack([u, v], 1)).item() == pytest.approx(expected, rel=1e-12)


def test_square_matrix_gives_absolute_determinant():
    B = torch.randn(6, 6, dtype=torch.float64)
    assert volume(B).item() == pytest.approx(torch.linalg.det(B).abs().item(), rel=1e-12)


def test_all_methods_agree_and_batch():
    B = torch.randn(4, 3, 8, 5, dtype=torch.float64)  # (batch..., n, k)
    ref = volume_svd(B)
    assert ref.shape == (4, 3)
    for fn in (volume, volume_gram, volume_cauchy_binet):
        torch.testing.assert_close(fn(B), ref, rtol=1e-10, atol=0)
    torch.testing.assert_close(log_volume(B), ref.log(), rtol=1e-12, atol=1e-12)


def test_orthogonal_transform_leaves_volume_unchanged():
    B = torch.randn(9, 4, dtype=torch.float64)
    Q, _ = torch.linalg.qr(torch.randn(9, 9, dtype=torch.float64))
    assert volume(Q @ B).item() == pytest.approx(volume(B).item(), rel=1e-12)


def test_wide_matrix_is_the_volume_of_its_rows_by_default():
    """The post's reading (kexue.fm/archives/6096): for n < k, sqrt(det(BBᵀ)); the literal one is an option."""
    B = torch.randn(2, 5, dtype=torch.float64)
    rows = math.sqrt(torch.linalg.det(B @ B.T).item())
    for method in METHODS.values():
        assert method(B).item() == pytest.approx(rows, rel=1e-12)
    assert log_volume(B).item() == pytest.approx(math.log(rows), rel=1e-12)
    assert volume(B, wide="zero").item() == 0.0
    assert log_volume(B, wide="zero").item() == -math.inf


def test_dependent_columns_have_zero_volume():
    x = torch.randn(5, 1, dtype=torch.float64)
    assert volume(torch.cat([x, 2 * x], dim=1)).item() == pytest.approx(0.0, abs=1e-14)


def test_gradient_of_log_volume_is_pseudoinverse_transpose():
    B = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(log_volume(B), B)
    torch.testing.assert_close(grad, torch.linalg.pinv(B.detach()).T, rtol=1e-10, atol=1e-12)
    assert torch.autograd.gradcheck(volume, (B,))


def test_qr_stays_accurate_where_gram_fails():
    # κ = 1e10: the Gram matrix has κ² = 1e20 > 1/ε, the QR route keeps ~κε = 1e-6 relative accuracy.
    U, _ = torch.linalg.qr(torch.randn(8, 3, dtype=torch.float64))
    V, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))
    B = U @ torch.diag(torch.tensor([1e5, 1.0, 1e-5], dtype=torch.float64)) @ V.T
    exact = 1.0  # the product of the singular values
    assert volume(B).item() == pytest.approx(exact, rel=1e-5)
    gram = volume_gram(B).item()
    assert not (abs(gram - exact) < 1e-3)  # NaN or far off


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="matrix"):
        volume(torch.ones(3))
    with pytest.raises(ValueError, match="wide"):
        volume(torch.ones(3, 2), wide="cols")
    with pytest.raises(ValueError, match="minors"):
        volume_cauchy_binet(torch.ones(40, 20), max_terms=10)
