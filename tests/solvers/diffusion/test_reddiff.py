"""RED-diff: Adam on the mean with the stop-gradient denoiser residual."""
import torch

import genprior as gp


def test_defaults_beat_mle(check_beats_mle):
    check_beats_mle("reddiff")


def test_without_the_prior_it_fits_the_data(gaussian_case):
    """lam = 0 leaves plain Adam on 1/2 ||A mu - y||² / n: the residual falls far below the start's."""
    prior, problem, y, post = gaussian_case
    r = gp.solve(problem, y, method="reddiff", prior=prior, lam=0.0, lr=0.1, steps=200,
                 generator=torch.Generator().manual_seed(0))
    start = gp.solve(problem, y, method="reddiff", prior=prior, lam=0.0, lr=0.0, steps=2,
                     generator=torch.Generator().manual_seed(0))
    res = lambda x: float(problem.data.relative_residual(x, y))  # noqa: E731
    assert res(r.x) < 0.1 * res(start.x)
    assert r.nfe == 200         # one network call per level (the sweep ends at sigma_min, not 0)
