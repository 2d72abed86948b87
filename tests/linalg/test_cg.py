"""Batched, complex-aware conjugate gradients."""
import pytest
import torch

from genprior.linalg import cg


D = torch.float64


def spd(n, g, cond=50.0, complex_=False):
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=D))
    if complex_:
        Qc, _ = torch.linalg.qr(torch.complex(torch.randn(n, n, generator=g, dtype=D), torch.randn(n, n, generator=g, dtype=D)))
        Q = Qc
    ev = torch.logspace(0, torch.log10(torch.tensor(cond)).item(), n, dtype=D)
    return (Q * ev.to(Q.dtype)) @ Q.conj().T


def test_cg_batched_elements_are_independent(gen):
    M1, M2 = spd(12, gen), spd(12, gen, cond=1e4)
    b = torch.randn(2, 12, generator=gen, dtype=D)
    Ms = torch.stack([M1, M2])
    out = cg(lambda v: (Ms @ v[..., None])[..., 0], b, tol=1e-12, max_iter=200)
    for i, M in enumerate((M1, M2)):
        assert torch.allclose(out.x[i], torch.linalg.solve(M, b[i]), atol=1e-8)
        single = cg(lambda v: v @ M.T, b[i:i + 1], tol=1e-12, max_iter=200)
        assert torch.allclose(single.x[0], out.x[i], atol=1e-10)
    # the easier system needs fewer iterations than the harder one: stopping is per element
    assert out.iters[0] < out.iters[1]
    assert bool(out.converged.all())


def test_cg_complex_hermitian(gen):
    M = spd(10, gen, complex_=True)
    b = torch.complex(torch.randn(3, 10, generator=gen, dtype=D), torch.randn(3, 10, generator=gen, dtype=D))
    out = cg(lambda v: v @ M.T, b, tol=1e-12, max_iter=100)
    ref = torch.linalg.solve(M, b.T).T
    assert float((out.x - ref).abs().max()) < 1e-8


def test_cg_max_iter_and_warm_start(gen):
    M = spd(20, gen, cond=1e3)
    b = torch.randn(1, 20, generator=gen, dtype=D)
    out = cg(lambda v: v @ M.T, b, max_iter=3)
    assert int(out.iters[0]) == 3 and not bool(out.converged[0])
    x_true = torch.linalg.solve(M, b[0])
    warm = cg(lambda v: v @ M.T, b, x0=x_true[None].clone(), tol=1e-8, max_iter=5)
    assert int(warm.iters[0]) == 0
    with pytest.raises(ValueError):
        cg(lambda v: v, b, max_iter=-1)


def test_pcg_with_jacobi_preconditioner_same_solution_fewer_iterations(gen):
    """PCG (Saad Alg. 9.1) on a badly scaled SPD system: Jacobi M = diag(A)^-1 removes the scaling."""
    n = 40
    S = torch.logspace(0, 4, n, dtype=D)
    A = spd(n, gen, cond=5.0) * (S[:, None] * S[None, :]).sqrt()
    b = torch.randn(2, n, generator=gen, dtype=D)
    d = torch.diagonal(A)
    plain = cg(lambda v: v @ A.T, b, tol=1e-10, max_iter=1000)
    pcg = cg(lambda v: v @ A.T, b, tol=1e-10, max_iter=1000, M=lambda r: r / d)
    ref = torch.linalg.solve(A, b.T).T
    assert bool(pcg.converged.all())
    assert float((pcg.x - ref).norm() / ref.norm()) < 1e-6
    assert int(pcg.iters.max()) * 2 < int(plain.iters.min())


def test_cg_prox_and_dagger_warn_when_unconverged():
    """Issue 10 finding 5: a CG-based prox_l2 / A_dagger that stops on its cap says so (relative
    residual and cap in the message); inner loops pass warn=False."""
    import warnings
    import genprior as gp
    from genprior.linalg import ConvergenceWarning
    op = gp.operators.Radon((1, 32, 32), 30)
    x = gp.data.image("camera", 32).double()
    y = op.A(x)
    with pytest.warns(ConvergenceWarning, match=r"relative residual .* max_iter=3"):
        op.prox_l2(x * 0, y, 3.0, max_iter=3)
    with pytest.warns(ConvergenceWarning, match="A_dagger"):
        op.A_dagger(y, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        op.prox_l2(x * 0, y, 3.0, max_iter=3, warn=False)
        op.A_dagger(y, max_iter=3, warn=False)
