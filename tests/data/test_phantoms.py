"""genprior.data.phantoms: random Shepp-Logan-like phantoms."""
import torch

import genprior as gp


def test_phantoms():
    p1 = gp.data.phantoms(4, 32, generator=torch.Generator().manual_seed(3))
    p2 = gp.data.phantoms(4, 32, generator=torch.Generator().manual_seed(3))
    assert torch.equal(p1, p2) and p1.shape == (4, 1, 32, 32)
    assert float(p1.max()) <= 1 and float(p1.min()) >= 0 and float(p1.std()) > 0.05
    # zero outside the inscribed circle (the CT support)
    assert float(p1[..., 0, 0].abs().max()) < 1e-3
