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
