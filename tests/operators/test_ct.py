"""Radon: against scikit-image, and its two back-projection paths against each other."""
import pytest
import torch

import genprior as gp


def test_ct_matches_scikit_image_radon():
    skt = pytest.importorskip("skimage.transform")
    import numpy as np
    from skimage.data import shepp_logan_phantom
    img = skt.resize(shepp_logan_phantom(), (65, 65))
    theta = np.arange(0, 180, 6.0)
    op = gp.operators.Radon((1, 65, 65), angles=torch.tensor(theta))
    ours = op.A(torch.tensor(img)[None, None])[0, 0].numpy()
    ref = skt.radon(img, theta=theta, circle=True).T
    assert np.linalg.norm(ours - ref) / np.linalg.norm(ref) < 1e-6
    # FBP agrees with scikit-image's iradon up to discretisation
    fbp = op.fbp(op.A(torch.tensor(img)[None, None]))[0, 0].numpy()
    fbp_ref = skt.iradon(ref.T, theta=theta, circle=True)
    disk = (np.hypot(*np.meshgrid(np.arange(65) - 32, np.arange(65) - 32)) < 30)
    assert np.abs(fbp - fbp_ref)[disk].mean() < 0.01


def test_ct_sparse_and_grid_sampler_paths_agree():
    """Small geometries use sparse CSR products with the interpolation weights (the forward from two
    images on), large ones grid_sample and its exact backward: both are the same linear map."""
    g = torch.Generator().manual_seed(0)
    sparse = gp.operators.Radon((1, 33, 33), 12)
    grid = gp.operators.Radon((1, 33, 33), 12)
    grid.SPARSE_MAX_NNZ = 0
    x = torch.randn(3, 1, 33, 33, generator=g, dtype=torch.float64)
    y = torch.randn(3, 1, 12, 33, generator=g, dtype=torch.float64)
    assert sparse._weights(x) is not None and grid._weights(x) is None
    assert torch.allclose(sparse.A(x), grid.A(x), atol=1e-12)
    assert torch.allclose(sparse.A(x[:1]), grid.A(x[:1]), atol=1e-12)
    assert torch.allclose(sparse.A_adjoint(y), grid.A_adjoint(y), atol=1e-12)
    # and in float32, within rounding
    assert torch.allclose(sparse.A(x.float()), grid.A(x.float()), atol=1e-4)
