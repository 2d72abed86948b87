"""The red method: its defaults on small problems."""
import pytest

import genprior as gp


@pytest.mark.parametrize("method,options,gain", [("red", {}, 5.0)])
def test_defaults_beat_mle_on_deblurring(method, options, gain, deblur_small):
    p, y, psnr_of, mle = deblur_small
    assert psnr_of(gp.solve(p, y, method, prior=gp.priors.load("nlm"), **options)) > mle + gain
