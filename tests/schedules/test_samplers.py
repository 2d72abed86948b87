"""Unconditional samplers against the exact Gaussian-mixture marginals."""
import pytest
import torch

import genprior as gp
from genprior.schedules import SAMPLERS, edm_sigmas

D = torch.float64


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_samplers_match_the_gmm_marginal(name, gmm2d):
    prior = gmm2d
    n = 3000
    g = torch.Generator().manual_seed(0)
    sig = edm_sigmas(100, 1e-3, 30.0)
    x = SAMPLERS[name](prior, torch.randn(n, 2, generator=g, dtype=D) * sig[0], sig, generator=g)
    ref = prior.sample_exact(n, generator=g)
    sw = float(gp.metrics.sliced_wasserstein(x, ref, 100, generator=torch.Generator().manual_seed(1)))
    floor = float(gp.metrics.sliced_wasserstein(prior.sample_exact(n, generator=g), ref, 100,
                                                 generator=torch.Generator().manual_seed(1)))
    assert sw < 3 * floor + 0.03, f"{name}: SW {sw:.3f} vs floor {floor:.3f}"
    assert torch.allclose(x.mean(0), prior.mean(), atol=0.08)
    # the mixture weights are recovered (which component each sample is closest to)
    frac = torch.bincount(prior.responsibilities(x).argmax(1), minlength=3).double() / n
    frac_ref = torch.bincount(prior.responsibilities(ref).argmax(1), minlength=3).double() / n
    assert torch.allclose(frac, frac_ref, atol=0.03)


def test_ancestral_sampling_matches_diffused_marginal_midway(gmm2d):
    """DDPM from sigma_max down to sigma=0.8 gives the diffused marginal p_0.8 (moment check)."""
    prior = gmm2d
    n = 4000
    g = torch.Generator().manual_seed(2)
    sig = torch.cat([edm_sigmas(60, 0.8, 30.0)[:-1], torch.tensor([0.8], dtype=D)])
    sig = torch.unique_consecutive(sig)
    x = torch.randn(n, 2, generator=g, dtype=D) * sig[0]
    from genprior.schedules.samplers import ddim_step
    for i in range(len(sig) - 1):
        x = ddim_step(x, prior.x0(x, sig[i]), sig[i], sig[i + 1], 1.0, g)
    ref = prior.sample_exact(n, generator=g, sigma=0.8)
    assert torch.allclose(x.mean(0), ref.mean(0), atol=0.1)
    assert torch.allclose(torch.cov(x.T), torch.cov(ref.T), atol=0.25)
