"""The shared transforms: the orthogonal DWT against PyWavelets, the DCT matrix, the D^T D symbol."""
import warnings

import numpy as np
import pytest
import torch

import genprior as gp
from genprior.operators.transforms import DWT2
from genprior.priors.classical import WaveletL1


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


def test_dct_matrix_is_orthonormal_and_matches_scipy():
    from scipy.fft import dct
    C = gp.operators.dct_matrix(7)
    assert torch.allclose(C @ C.T, torch.eye(7, dtype=D), atol=1e-12)
    e = torch.eye(7, dtype=D)
    assert torch.allclose(C, torch.tensor(dct(e.numpy(), norm="ortho", axis=0)), atol=1e-12)


@pytest.mark.parametrize("H,W", [(6, 8), (5, 7)])
def test_difference_symbol_is_the_fourier_symbol_of_periodic_dtd(H, W, gen):
    from genprior.operators.gradient import finite_diff, finite_diff_adjoint
    from genprior.operators.transforms import difference_symbol
    x = torch.randn(2, 1, H, W, generator=gen, dtype=D)
    dtd = finite_diff_adjoint(finite_diff(x, "periodic"), "periodic")
    full = difference_symbol(H, W, x)
    assert torch.allclose(torch.fft.ifft2(full * torch.fft.fft2(x)).real, dtd, atol=1e-12)
    half = difference_symbol(H, W, x, onesided=True)
    assert torch.allclose(torch.fft.irfft2(half * torch.fft.rfft2(x), s=(H, W)), dtd, atol=1e-12)
