"""Wavelet / DCT L1 and the shift-invariant wavelet frame: prox against brute force."""
import numpy as np
import pytest
import torch

from genprior.priors.classical import DCTL1, WaveletL1, soft_threshold

from ._reference import transform_matrix, check_prox, tiny, rel_adjoint_error


D = torch.float64


def _l1_exact(T, mask):
    return lambda u: (T @ u)[mask].abs().sum()


def _l1_smooth(T, mask):
    return lambda u, eps: ((T @ u)[mask] ** 2 + eps ** 2).sqrt().sum()


@pytest.mark.parametrize("prior,matrix", [
    (WaveletL1("db2", 2), lambda H, W: transform_matrix(
        lambda a: __import__("pywt").coeffs_to_array(__import__("pywt").wavedec2(a, "db2", mode="periodization",
                                                                                 level=2))[0], H, W)),
    (WaveletL1("haar", 1), lambda H, W: transform_matrix(
        lambda a: __import__("pywt").coeffs_to_array(__import__("pywt").wavedec2(a, "haar", mode="periodization",
                                                                                 level=1))[0], H, W)),
    (DCTL1(), lambda H, W: transform_matrix(lambda a: __import__("scipy.fft").fft.dctn(a, norm="ortho"), H, W)),
    (DCTL1(block=4), lambda H, W: transform_matrix(
        lambda a: np.block([[__import__("scipy.fft").fft.dctn(a[i:i + 4, j:j + 4], norm="ortho") for j in (0, 4)]
                            for i in (0, 4)]), H, W)),
], ids=["db2", "haar", "dct", "dct_block4"])
def test_transform_l1_prox_matches_brute_force(prior, matrix):
    x = tiny((1, 1, 8, 8), seed=2)
    gamma = 0.1
    T = matrix(8, 8)
    mask = prior.mask(8, 8).reshape(-1)
    assert not bool(mask.all()) and bool(mask.any())
    assert torch.allclose(prior.forward(x).reshape(-1), T @ x.reshape(-1), atol=1e-12)
    u = prior.prox(x, gamma)
    check_prox(u, x, gamma, _l1_exact(T, mask), _l1_smooth(T, mask), atol=1e-5)
    assert abs(float(prior.value(x)[0]) - float(_l1_exact(T, mask)(x.reshape(-1)))) < 1e-12


@pytest.mark.parametrize("prior", [WaveletL1("db4", 2), DCTL1(), DCTL1(block=8)], ids=["wavelet", "dct", "dct8"])
def test_transform_l1_threshold_has_no_hidden_factor(prior, gen):
    # one detail coefficient of size 1 on top of the unpenalised band: prox shrinks it by exactly gamma
    c = torch.zeros(2, 1, 16, 16, dtype=D)
    c[:, :, 0, 0] = 3.0                                   # approximation / DC: never thresholded
    c[:, :, 5, 9] = 1.0
    x = prior.inverse(c)
    out = prior.forward(prior.prox(x, torch.tensor([0.25, 2.0], dtype=D)))
    assert abs(float(out[0, 0, 5, 9]) - 0.75) < 1e-12      # a 0.1 factor would give 0.975
    assert abs(float(out[1, 0, 5, 9])) < 1e-12
    assert torch.allclose(out[:, :, 0, 0], c[:, :, 0, 0], atol=1e-12)
    assert float(prior.value(x)[0]) == pytest.approx(1.0, abs=1e-12)


def test_soft_threshold():
    c = torch.tensor([-2.0, -0.5, 0.0, 0.3, 1.5], dtype=D)
    assert torch.equal(soft_threshold(c, 0.5), torch.tensor([-1.5, 0.0, 0.0, 0.0, 1.0], dtype=D))


def test_transform_l1_per_batch_gamma(gen):
    x = torch.rand(3, 2, 16, 16, generator=gen, dtype=D)
    gam = torch.tensor([0.0, 0.05, 0.3], dtype=D)
    for prior in (WaveletL1("haar", 2), DCTL1(block=4)):
        out = prior.prox(x, gam)
        for b in range(3):
            assert torch.allclose(out[b:b + 1], prior.prox(x[b:b + 1], float(gam[b])), atol=1e-13)
        assert float((out[0] - x[0]).abs().max()) < 1e-12


def test_wavelet_frame_is_parseval_and_its_prox_matches_brute_force(gen):
    from genprior.priors import WaveletFrameL1
    prior = WaveletFrameL1("haar", 1, shifts=2, inner_iters=20000, tol=1e-13)
    x = torch.rand(2, 1, 8, 8, generator=gen, dtype=D)
    c = prior.analysis(x)
    assert float((prior.synthesis(c) - x).abs().max()) < 1e-12            # K^T K = I
    assert abs(float(c.norm() / x.norm()) - 1) < 1e-12                    # Parseval
    z = torch.randn(c.shape, generator=gen, dtype=D)
    assert rel_adjoint_error(c, z, x, prior.synthesis(z)) < 1e-12
    # the exact analysis-L1 prox against brute force on a tiny input
    xt = tiny((1, 1, 4, 4), seed=5)
    K = torch.stack([prior.analysis(e.reshape(1, 1, 4, 4)).reshape(-1) for e in torch.eye(16, dtype=D)], 1)
    mask = prior.mask(4, 4).expand(1, 4, 1, 4, 4).reshape(-1)
    u = prior.prox(xt, 0.15)
    check_prox(u, xt, 0.15, _l1_exact(K, mask), _l1_smooth(K, mask), atol=1e-5)
    assert abs(float(prior.value(xt)[0]) - float(_l1_exact(K, mask)(xt.reshape(-1)))) < 1e-12


def test_dct_frame_is_parseval_and_its_prox_matches_brute_force(gen):
    """The shift-invariant block-DCT frame: K^T K = I, ||K x|| = ||x||, adjointness, and the analysis-L1
    prox (FGP on the dual) against brute force; each of its 4 shifted block DCTs is DCTL1(block=4)."""
    from genprior.priors import DCTFrameL1
    prior = DCTFrameL1(4, 2, inner_iters=20000, tol=1e-13)
    x = torch.rand(2, 1, 8, 8, generator=gen, dtype=D)
    c = prior.analysis(x)
    assert tuple(c.shape) == (2, 4, 1, 8, 8)
    assert float((prior.synthesis(c) - x).abs().max()) < 1e-12
    assert abs(float(c.norm() / x.norm()) - 1) < 1e-12
    assert torch.allclose(c[:, 3] * 2, DCTL1(block=4).forward(torch.roll(x, (2, 2), (-2, -1))), atol=1e-12)
    z = torch.randn(c.shape, generator=gen, dtype=D)
    assert rel_adjoint_error(c, z, x, prior.synthesis(z)) < 1e-12
    xt = tiny((1, 1, 4, 4), seed=5)
    K = torch.stack([prior.analysis(e.reshape(1, 1, 4, 4)).reshape(-1) for e in torch.eye(16, dtype=D)], 1)
    mask = prior.mask(4, 4).expand(1, 4, 1, 4, 4).reshape(-1)
    u = prior.prox(xt, 0.15)
    check_prox(u, xt, 0.15, _l1_exact(K, mask), _l1_smooth(K, mask), atol=1e-5)
    assert abs(float(prior.value(xt)[0]) - float(_l1_exact(K, mask)(xt.reshape(-1)))) < 1e-12
    with pytest.raises(ValueError, match="shifts"):
        DCTFrameL1(4, 5)
    with pytest.raises(ValueError, match="block"):
        DCTFrameL1(1)
