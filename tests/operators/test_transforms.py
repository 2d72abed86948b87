"""The orthogonal DWT against PyWavelets."""
import warnings

import numpy as np
import pytest
import torch

import genprior as gp
from genprior.priors.classical import DWT2, WaveletL1


D = torch.float64


def rel_adjoint_error(Ax, y, x, ATy):
    return abs(float((Ax * y).sum() - (x * ATy).sum())) / float(Ax.norm() * y.norm())


# -- wavelets and DCT ------------------------------------------------------------------------------
@pytest.mark.parametrize("wavelet,levels,shape", [("haar", 1, (8, 8)), ("haar", 3, (16, 24)), ("db2", 2, (16, 16)),
                                                  ("db4", 3, (32, 16)), ("db8", 2, (16, 16)), ("db8", 4, (32, 32)),
                                                  ("sym4", 2, (16, 8)), ("coif1", 1, (12, 12))])
def test_dwt_matches_pywt_and_is_orthogonal(wavelet, levels, shape, gen):
    import pywt
    x = torch.randn(2, 3, *shape, generator=gen, dtype=D)
    dwt = DWT2(wavelet, levels)
    c = dwt.forward(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = np.stack([np.stack([pywt.coeffs_to_array(pywt.wavedec2(x[b, k].numpy(), wavelet, mode="periodization",
                                                                     level=levels))[0] for k in range(3)])
                        for b in range(2)])
    assert np.abs(c.numpy() - ref).max() < 1e-12
    assert float((dwt.inverse(c) - x).abs().max()) < 1e-10                    # perfect reconstruction
    assert abs(float(c.norm() / x.norm()) - 1) < 1e-10                         # Parseval
    y = torch.randn_like(c)
    assert rel_adjoint_error(c, y, x, dwt.inverse(y)) < 1e-12                  # inverse = adjoint


def test_dwt_float32_and_size_check():
    x = gp.data.image("camera", 32)
    w = WaveletL1("db4", 3)
    c = w.forward(x)
    assert c.dtype == torch.float32 and float((w.inverse(c) - x).abs().max()) < 1e-5
    with pytest.raises(ValueError, match="divisible by 2\\*\\*levels = 8"):
        w.forward(torch.zeros(1, 1, 20, 32))
