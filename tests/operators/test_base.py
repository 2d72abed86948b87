"""Every operator through the same contract: adjointness, prox, pseudo-inverse, SVD, dtypes, errors, norm."""
import pytest
import torch

import genprior as gp
from genprior.operators import Composed, Matrix


D = torch.float64


# (id, builder) -> InverseProblem-like operator; small sizes keep the suite fast
CASES = {
    "denoise": lambda: gp.tasks.make("denoise", (1, 16, 16)).operator,
    "denoise_rgb": lambda: gp.tasks.make("denoise", (3, 8, 8)).operator,
    "deblur_gauss": lambda: gp.tasks.make("deblur_gauss", (1, 16, 16), std=1.0).operator,
    "deblur_gauss_rgb": lambda: gp.tasks.make("deblur_gauss", (3, 16, 12), std=1.5).operator,
    "deblur_gauss_valid": lambda: gp.tasks.make("deblur_gauss", (1, 16, 16), std=1.0, padding="valid").operator,
    "deblur_motion": lambda: gp.tasks.make("deblur_motion", (1, 16, 16), size=7, seed=3).operator,
    "deblur_motion_valid": lambda: gp.tasks.make("deblur_motion", (1, 16, 16), size=7, padding="valid").operator,
    "sr4_average": lambda: gp.tasks.make("sr4", (1, 16, 16)).operator,
    "sr2_average_rgb": lambda: gp.tasks.make("sr4", (3, 8, 8), factor=2).operator,
    "sr4_bicubic": lambda: gp.tasks.make("sr4", (1, 16, 16), kernel="bicubic").operator,
    "inpaint_box": lambda: gp.tasks.make("inpaint_box", (1, 16, 16)).operator,
    "inpaint_random": lambda: gp.tasks.make("inpaint_random", (3, 16, 16), keep=0.4).operator,
    "cs_gaussian": lambda: gp.tasks.make("cs", (1, 16, 16), ratio=0.3).operator,
    "cs_structured": lambda: gp.tasks.make("cs", (1, 16, 16), ratio=0.3, matrix="structured").operator,
    "ct": lambda: gp.tasks.make("ct", (1, 16, 16), n_angles=12).operator,
    "ct_odd": lambda: gp.tasks.make("ct", (1, 17, 17), n_angles=7).operator,
    "mri": lambda: gp.tasks.make("mri", (1, 16, 16), acceleration=3).operator,
    "mri_multicoil": lambda: gp.tasks.make("mri", (1, 16, 16), acceleration=2, coils=3).operator,
    "gradient_neumann": lambda: gp.operators.FiniteDifference((2, 9, 8)),
    "gradient_periodic": lambda: gp.operators.FiniteDifference((1, 8, 10), boundary="periodic"),
    "matrix": lambda: Matrix(torch.randn(5, 9, generator=torch.Generator().manual_seed(1), dtype=D)),
    "composed_blur_sr": lambda: Composed(gp.tasks.make("sr4", (1, 16, 16), factor=2).operator,
                                         gp.tasks.make("deblur_gauss", (1, 16, 16), std=1.0).operator),
}


# operators whose range is the whole measurement space (A A^+ y = y for every y)
ONTO = {"denoise", "denoise_rgb", "sr4_average", "sr2_average_rgb", "sr4_bicubic", "cs_gaussian", "cs_structured",
        "matrix", "deblur_motion_valid"}


@pytest.fixture(params=sorted(CASES), scope="module")
def case(request):
    return request.param, CASES[request.param]()


def rand_x(op, g, b=2, dtype=D):
    return torch.randn((b, *op.x_shape), generator=g, dtype=dtype)


def rand_y(op, g, b=2, dtype=D):
    y = torch.randn((b, *op.y_shape), generator=g, dtype=dtype)
    if op.complex_measurements:
        y = torch.complex(y, torch.randn((b, *op.y_shape), generator=g, dtype=dtype))
    sup = op.measurement_support(y)
    return y if sup is None else y * sup


def inner(a, b):
    return (a.conj() * b).real.sum() if a.is_complex() else (a * b).sum()


def rel(a, b):
    return float((a - b).abs().norm() / b.abs().norm().clamp_min(1e-300))


def test_adjoint_dot_product(case, gen):
    name, op = case
    x, y = rand_x(op, gen), rand_y(op, gen)
    Ax = op.A(x)
    lhs, rhs = inner(Ax, y), inner(x, op.A_adjoint(y))
    err = abs(float(lhs - rhs)) / (float(Ax.abs().norm() * y.abs().norm()) + 1e-300)
    assert err < 1e-9, f"{name}: normalized adjoint error {err:.2e}"


def test_adjoint_matches_autograd(case, gen):
    name, op = case
    x, y = rand_x(op, gen).requires_grad_(True), rand_y(op, gen)
    with torch.enable_grad():
        Ax = op.A(x)
        loss = (Ax.real * y.real + Ax.imag * y.imag).sum() if Ax.is_complex() else (Ax * y).sum()
        (grad,) = torch.autograd.grad(loss, x)
    assert rel(op.A_adjoint(y), grad) < 1e-10, name


@pytest.mark.parametrize("gamma", [0.3, 5.0])
def test_prox_l2_optimality(case, gen, gamma):
    name, op = case
    z, y = rand_x(op, gen), op.A(rand_x(op, gen)) + 0.1 * rand_y(op, gen)
    x = op.prox_l2(z, y, gamma, tol=1e-12, max_iter=500)
    # gamma A^T (A x - y) + (x - z) = 0
    g = gamma * op.A_adjoint(op.A(x) - y) + (x - z)
    assert float(g.norm() / z.norm()) < 1e-7, name


def test_prox_l2_per_batch_gamma(case, gen):
    name, op = case
    z, y = rand_x(op, gen), op.A(rand_x(op, gen))
    gam = torch.tensor([0.5, 3.0], dtype=D)
    x = op.prox_l2(z, y, gam, tol=1e-12, max_iter=500)
    for b in range(2):
        xb = op.prox_l2(z[b:b + 1], y[b:b + 1], float(gam[b]), tol=1e-12, max_iter=500)
        assert rel(x[b:b + 1], xb) < 1e-7, name


def test_pseudo_inverse(case, gen):
    name, op = case
    y = op.A(rand_x(op, gen))                        # y in the range of A
    xd = op.A_dagger(y, tol=1e-12, max_iter=2000)
    assert rel(op.A(xd), y) < 1e-5, name
    if name in ONTO:
        y = rand_y(op, gen)
        assert rel(op.A(op.A_dagger(y, tol=1e-12, max_iter=2000)), y) < 1e-5, name


def test_svd_consistency(case, gen):
    name, op = case
    if not op.has_svd:
        pytest.skip("no SVD")
    x = rand_x(op, gen)
    v = op.V_adjoint(x)
    s = op.singulars(x)
    assert tuple(s.shape) == tuple(op.spectral_shape)
    assert rel(op.V(v), x) < 1e-10                                   # V V^T = I
    assert abs(float(v.abs().norm() / x.norm()) - 1) < 1e-10          # orthonormal
    assert rel(op.V(s ** 2 * v), op.A_adjoint(op.A(x))) < 1e-9        # A^T A = V S² V^T
    assert rel(op.U_adjoint(op.A(x)), s * v) < 1e-9                   # U^T A x = S V^T x


def test_float32(case, gen):
    name, op = case
    x = rand_x(op, gen, dtype=torch.float32)
    y = op.A(x)
    assert y.dtype == op.y_dtype(torch.float32)
    assert op.A_adjoint(y).dtype == torch.float32
    assert rel(op.A(x.double()).to(y.dtype), y) < 1e-5


def test_wrong_shape_and_dtype(case, gen):
    name, op = case
    x = rand_x(op, gen)
    with pytest.raises(ValueError, match="shape"):
        op.A(x[..., :-1] if x.ndim > 2 else x[:, :-1])
    with pytest.raises(TypeError, match="dtype|float"):
        op.A(x.to(torch.int64))
    with pytest.raises(ValueError, match="shape"):
        op.A_adjoint(torch.zeros(2, 3, dtype=op.y_dtype(D)))


def test_power_method_matches_svd():
    A = torch.randn(6, 10, generator=torch.Generator().manual_seed(2), dtype=D)
    op = Matrix(A)
    assert abs(op.norm() - float(torch.linalg.matrix_norm(A, 2))) < 1e-6


def test_composition_adjoint_is_reversed():
    blur = gp.tasks.make("deblur_gauss", (1, 16, 16), std=1.0).operator
    sr = gp.tasks.make("sr4", (1, 16, 16), factor=2).operator
    op = sr @ blur
    y = torch.randn(1, *op.y_shape, dtype=D)
    assert rel(op.A_adjoint(y), blur.A_adjoint(sr.A_adjoint(y))) < 1e-12
    with pytest.raises(ValueError, match="compose"):
        blur @ sr


@pytest.mark.parametrize("name", ["denoise", "deblur_gauss", "deblur_gauss_rgb", "mri"])
def test_normal_fourier_symbol(name, gen):
    op = CASES[name]()
    x = rand_x(op, gen)
    sym = op.normal_fourier_symbol(x)
    ref = torch.fft.ifft2(sym * torch.fft.fft2(x)).real
    assert rel(ref, op.normal(x)) < 1e-12
