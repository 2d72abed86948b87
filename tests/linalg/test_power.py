"""The power method."""
import torch

from genprior.linalg import power_method


D = torch.float64


def spd(n, g, cond=50.0, complex_=False):
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=D))
    if complex_:
        Qc, _ = torch.linalg.qr(torch.complex(torch.randn(n, n, generator=g, dtype=D), torch.randn(n, n, generator=g, dtype=D)))
        Q = Qc
    ev = torch.logspace(0, torch.log10(torch.tensor(cond)).item(), n, dtype=D)
    return (Q * ev.to(Q.dtype)) @ Q.conj().T


def test_power_method(gen):
    M = spd(15, gen, cond=30.0)
    lam = power_method(lambda v: v @ M.T, (15,), generator=gen, max_iter=2000, tol=1e-12)
    assert abs(lam - float(torch.linalg.eigvalsh(M).max())) / lam < 1e-6
