"""Score-SDE projection (Song et al. 2022)."""
import torch

import genprior as gp
from genprior.solvers.diffusion.score_sde import Projection, ScoreSDEOptions

D = torch.float64


def test_defaults_beat_mle(check_beats_mle):
    check_beats_mle("score_sde")


def test_options_are_the_dc_step():
    o = ScoreSDEOptions(lam=0.5)
    assert isinstance(o, Projection) and o.lam == 0.5 and o.noisy and o.pinv_iters == 30


def test_full_projection_is_exact_without_noise():
    """lam = 1, sigma_y = 0: the final state satisfies A x = y; lam = 0 ignores y (prior sampling)."""
    g = torch.Generator().manual_seed(0)
    A = torch.randn(2, 6, generator=g, dtype=D)
    prior = gp.priors.GaussianMixture(torch.zeros(1, 6, dtype=D), None, 1.0)
    problem = gp.InverseProblem(gp.operators.Matrix(A), 0.0)
    y = prior.sample_exact(1, generator=g) @ A.T
    r = gp.solve(problem, y, method="score_sde", prior=prior, steps=10, generator=torch.Generator().manual_seed(1))
    assert float((r.x @ A.T - y).abs().max()) < 1e-8
    r0 = gp.solve(problem, y, method="score_sde", prior=prior, steps=10, lam=0.0,
                  generator=torch.Generator().manual_seed(1))
    assert float((r0.x @ A.T - y).abs().max()) > 1e-3


def test_noise_aware_projection_is_the_gaussian_map_step():
    """The regularised step x + A^+_s (y - A x), A^+_s = (A^T A + sigma_y²/s² I)^{-1} A^T, equals the MAP of
    v given the prior N(x, s² I) and y = A v + N(0, sigma_y² I): x + s² A^T (s² A A^T + sigma_y² I)^{-1} (y - A x);
    it is x at s = 0, and -> the exact projection (A x = y) as sigma_y / s -> 0."""
    from genprior.solvers.diffusion.score_sde import regularised_projection
    g = torch.Generator().manual_seed(0)
    M = torch.randn(3, 6, generator=g, dtype=D)
    A = gp.operators.Matrix(M)
    x, y = torch.randn(2, 6, generator=g, dtype=D), torch.randn(2, 3, generator=g, dtype=D)
    s, sy = 0.7, 0.2
    want = x + s ** 2 * torch.linalg.solve(s ** 2 * M @ M.T + sy ** 2 * torch.eye(3, dtype=D), (y - x @ M.T).T).T @ M
    assert torch.allclose(regularised_projection(A, x, y, s, sy), want, atol=1e-8)
    assert torch.equal(regularised_projection(A, x, y, 0.0, sy), x)
    assert float((regularised_projection(A, x, y, 1e4, sy) @ M.T - y).abs().max()) < 1e-6


def test_default_is_stable_on_noisy_gaussian_deblurring():
    """Issue 10: Gaussian blur (std 2) with sigma_y = 0.01: the exact A^+ divides the noise by singular
    values down to ~1e-9 (16²), and the state blows up (the suite's runs stopped on NaN after 5-6 steps);
    the noise-aware step stays finite and beats mle (measured, isotropic Gaussian prior: 10.5 dB vs mle 5.2 dB;
    the exact A^+: 5.0 dB, max |x| ~ 9e4)."""
    x = gp.data.image("camera", 16, dtype=D)
    p = gp.tasks.make("deblur_gauss", (1, 16, 16), sigma_y=0.01, std=2.0)
    y = p.measure(x, generator=torch.Generator().manual_seed(0))
    prior = gp.priors.GaussianMixture(torch.full((1, 1, 16, 16), 0.5, dtype=D), None, 0.25)
    psnr = lambda r: float(gp.metrics.psnr(r.x.clamp(0, 1), x))  # noqa: E731
    run = lambda **kw: gp.solve(p, y, "score_sde", prior=prior, steps=20,  # noqa: E731
                                generator=torch.Generator().manual_seed(1), **kw)
    mle = psnr(gp.solve(p, y, "mle"))
    r = run()
    assert torch.isfinite(r.x).all() and psnr(r) > mle + 3.0
    try:
        old = run(noise_aware=False)
        assert float(old.x.abs().max()) > 1e3        # exact A^+: noise amplified by up to 1e7
    except FloatingPointError:
        pass
