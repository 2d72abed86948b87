"""Tikhonov, the registry of named classical priors, import weight and bad input."""
import subprocess
import sys

import numpy as np
import pytest
import torch

import genprior as gp
from ._reference import diff_matrix
from genprior.priors.classical import DCTL1, TV, NLMeans, PatchLowRank, SmoothTV, Tikhonov, WaveletL1, Wiener


D = torch.float64


# -- Tikhonov ------------------------------------------------------------------------------------
LAPLACE = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=D)


@pytest.mark.parametrize("L", ["identity", "gradient", "laplacian"])
def test_tikhonov_value_grad_prox(L, gen):
    x = torch.randn(2, 2, 6, 8, generator=gen, dtype=D)
    tk = Tikhonov(L)
    if L == "identity":
        Lx = x
    elif L == "gradient":
        Lx = (x.reshape(4, 48) @ diff_matrix(6, 8, "periodic").T)
    else:    # circular 5-point Laplacian, built independently
        xp = torch.nn.functional.pad(x.reshape(4, 1, 6, 8), (1, 1, 1, 1), mode="circular")
        Lx = torch.nn.functional.conv2d(xp, LAPLACE[None, None])
    ref = 0.5 * Lx.reshape(2, -1).pow(2).sum(1)
    assert torch.allclose(tk.value(x), ref, rtol=1e-12)
    xg = x.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(tk.value(xg).sum(), xg)
    assert float((tk.grad(x) - auto).abs().max()) < 1e-10
    gam = torch.tensor([0.3, 2.0], dtype=D)
    u = tk.prox(x, gam)                               # optimality: gamma grad r(u) + u - x = 0
    resid = gam[:, None, None, None] * tk.grad(u) + u - x
    assert float(resid.abs().max()) < 1e-10
    assert torch.allclose(u[1:], tk.prox(x[1:], 2.0), atol=1e-13)


# -- registry, import weight, bad input ---------------------------------------------------------------
def test_registry_names_and_capabilities():
    expect = {"tikhonov": Tikhonov, "tv": TV, "tv_aniso": TV, "smooth_tv": SmoothTV, "wavelet": WaveletL1,
              "dct": DCTL1, "lowrank": PatchLowRank, "nlm": NLMeans, "wiener": Wiener}
    for name, cls in expect.items():
        p = gp.priors.load(name)
        assert type(p) is cls, name
        for cap in p.capabilities:
            assert getattr(type(p), cap) is not getattr(gp.priors.Prior, cap), (name, cap)
    assert gp.priors.load("tv_aniso").isotropic is False
    assert gp.priors.load("wavelet", wavelet="haar", levels=2).dwt.levels == 2
    assert "bm3d" in gp.priors.names()


def test_import_stays_light():
    code = ("import sys, genprior as gp; gp.priors.load('tv'); gp.priors.load('dct'); "
            "print(sorted(m for m in ('skimage', 'pywt', 'bm3d', 'matplotlib', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bad_input_errors():
    x = torch.rand(1, 1, 8, 8)
    with pytest.raises(ValueError, match="gamma must be finite and >= 0"):
        TV().prox(x, -0.1)
    with pytest.raises(ValueError, match="gamma must be finite and >= 0"):
        WaveletL1("haar", 1).prox(x, torch.tensor([-1.0]))
    with pytest.raises(ValueError, match="gamma must be a float or a \\(1,\\) tensor"):
        Tikhonov().prox(x, torch.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="sigma must be finite and >= 0"):
        Wiener().denoise(x, -0.1)
    with pytest.raises(ValueError, match="NaN"):
        DCTL1().prox(torch.full((1, 1, 4, 4), float("nan")), 0.1)
    with pytest.raises(ValueError, match="4 dimensions"):
        TV().value(torch.rand(8, 8))
    with pytest.raises(TypeError, match="float32/float64"):
        TV().prox(torch.ones(1, 1, 4, 4, dtype=torch.int64), 0.1)
    with pytest.raises(ValueError, match="unknown wavelet 'db99'; known .*haar, db1..db38"):
        WaveletL1("db99")
    with pytest.raises(ValueError, match="levels must be an int >= 1"):
        WaveletL1("haar", 0)
    with pytest.raises(ValueError, match="unknown boundary 'reflect'; known: neumann, periodic"):
        TV(boundary="reflect")
    with pytest.raises(ValueError, match="unknown Tikhonov operator L='hessian'"):
        Tikhonov("hessian")
    with pytest.raises(ValueError, match="eps must be > 0"):
        SmoothTV(eps=-1.0)
    with pytest.raises(ValueError, match="tol must be >= 0"):
        TV(tol=-1e-3)
    with pytest.raises(ValueError, match="c must be >= 0"):
        PatchLowRank(c=-1.0)
    with pytest.raises(ValueError, match="group must be an int >= 1"):
        PatchLowRank(group=0)
    with pytest.raises(ValueError, match="divisible by block = 3"):
        DCTL1(block=3).prox(x, 0.1)
    with pytest.raises(ValueError, match="h_factor must be > 0"):
        NLMeans(h_factor=-0.8)
    with pytest.raises(ValueError, match="size must be an odd int"):
        Wiener(size=4)
