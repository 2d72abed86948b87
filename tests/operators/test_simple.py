"""Identity, inpainting and dense matrices beyond the shared contract: the inpainting hole kind."""
import torch

import genprior as gp


def test_inpainting_hole_kind():
    def kind(mask):
        return gp.operators.Inpainting(mask, (2, 8, 8)).hole_kind
    m = torch.ones(1, 8, 8)
    assert kind(m) == "none"
    m[:, 2:5, 3:7] = 0
    assert kind(m) == "box"
    m[:, 2, 3] = 1                     # a box with one pixel observed is no longer a box
    assert kind(m) == "scattered"
    two = torch.ones(2, 8, 8)
    two[0, 2:5, 3:7] = 0               # a box in one channel only
    assert kind(two) == "scattered"
    rnd = (torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(0)) < 0.5).double()
    assert kind(rnd) == "scattered"
