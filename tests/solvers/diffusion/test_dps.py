"""DPS: the gradient step per batch element, forward + backward NFE, posterior mean, defaults."""
import dataclasses

import pytest
import torch

import genprior as gp
from genprior.solvers.diffusion.dc import StepContext
from genprior._checks import SIGMA_FLOOR
from genprior.solvers.diffusion.dps import ZETA_DEFAULT, DPSGradient, DPSOptions, step_scale

D = D64 = torch.float64


def test_posterior_mean_on_gaussian_prior(check_posterior_mean):
    """zeta = 0.3: the image-tuned default 0.05 under-weights this 3-measurement case (0.1: error 0.30)."""
    check_posterior_mean("dps", {"zeta": 0.3}, 0.2)


def test_defaults_beat_mle(check_beats_mle):
    check_beats_mle("dps")


def test_options_are_the_dc_step():
    o = DPSOptions(zeta=0.3)
    assert isinstance(o, DPSGradient) and o.zeta == 0.3 and o.steps == 100 and o.eta == 1.0
    assert {f.name for f in dataclasses.fields(DPSGradient)} == {"zeta", "weighting", "clip_x0"}
    assert DPSOptions().weighting == "variance" and DPSOptions().zeta is None    # by operator kind at the run
    ct = gp.tasks.make("ct", (1, 16, 16), n_angles=8, sigma_y=0.1)
    assert DPSOptions().zeta_for(ct) == ZETA_DEFAULT["variance"]["tomography"]
    assert DPSOptions(zeta=0.2).zeta_for(ct) == 0.2
    assert DPSOptions().schedule == "vp"
    assert DPSOptions(weighting="constant").zeta == ZETA_DEFAULT["constant"]


def test_bad_options_raise():
    with pytest.raises(ValueError, match="weighting"):
        DPSOptions(weighting="vp")
    with pytest.raises(ValueError, match="zeta"):
        DPSOptions(zeta=-1.0)


def _vp_ancestral_dps(prior, A, y, sigma_y, z, s, s_next, lam, noise):
    """deepinv 0.5's DPS step written out in VP coordinates (PosteriorDiffusion + AncestralSolver,
    eta = 1): x = sqrt(abar) z, score = (sqrt(abar) D - x) / (abar s²) - lam grad_x ||y - A D||,
    x' = (a'/a) x + a a' s² (1 - r²) score + a' s' sqrt(1 - r²) n, r = s'/s; returns z' = x'/a'."""
    a, a1 = (1 + s ** 2) ** -0.5, (1 + s_next ** 2) ** -0.5
    x = (a * z).detach().requires_grad_(True)
    with torch.enable_grad():
        D = prior.x0(x / a, torch.tensor(s, dtype=D64))
        (g,) = torch.autograd.grad((y - D @ A.T).norm(dim=1).sum(), x)
    score = (a * D.detach() - x.detach()) / (a ** 2 * s ** 2) - lam * g
    r = s_next / s
    x1 = (a1 / a) * x.detach() + a * a1 * s ** 2 * (1 - r ** 2) * score + a1 * s_next * (1 - r ** 2) ** 0.5 * noise
    return x1 / a1


def test_variance_weighting_is_the_vp_ancestral_score_step():
    """weighting="variance" is deepinv's DPS step (guidance in the score, integrated by the VP
    ancestral step) with its weight lam = zeta / sigma_y², whatever the level."""
    g = torch.Generator().manual_seed(0)
    A = torch.randn(3, 5, generator=g, dtype=D64)
    sigma_y = 0.05
    problem = gp.InverseProblem(gp.operators.Matrix(A), sigma_y)
    prior = gp.priors.GaussianMixture(torch.randn(3, 5, generator=g, dtype=D64), None, 0.5)
    y = torch.randn(2, 3, generator=g, dtype=D64)
    zeta = 0.3
    lam = zeta / sigma_y ** 2
    for s, s_next in ((40.0, 30.0), (1.0, 0.8), (0.05, 0.04)):
        z = prior.sample_exact(2, generator=g) + s * torch.randn(2, 5, generator=g, dtype=D64)
        noise = torch.randn(2, 5, generator=g, dtype=D64)
        ref = _vp_ancestral_dps(prior, A, y, sigma_y, z, s, s_next, lam, noise)
        x = z.clone().requires_grad_(True)
        with torch.enable_grad():
            x0 = prior.x0(x, torch.tensor(s, dtype=D64))
        st, st1 = torch.tensor(s, dtype=D64), torch.tensor(s_next, dtype=D64)
        c = s_next * (1 - (s_next / s) ** 2) ** 0.5
        x_next = x0.detach() + (s_next ** 2 - c ** 2) ** 0.5 * (z - x0.detach()) / s + c * noise   # ddim(1), this noise
        ctx = StepContext(0, st, st1, x, x0, y, problem, 1.0, None, {})
        ours = DPSGradient(zeta=zeta).after(ctx, x_next)
        assert torch.allclose(ours, ref, atol=1e-9 * (1 + s ** 2)), (s, float((ours - ref).abs().max()))
    # the step scale itself: c_k = (s² - s'²) / sigma_y², floored sigma_y; 1 for "constant"
    assert step_scale("variance", 2.0, 1.0, 0.1) == pytest.approx(300.0)
    assert step_scale("variance", 2.0, 1.0, 0.0) == pytest.approx(3 / SIGMA_FLOOR ** 2)
    assert step_scale("constant", 2.0, 1.0, 0.1) == 1.0


def test_samples_reach_the_noise_floor(gaussian_case):
    """Issue 11's saturation: the constant step keeps kicking the sample by ~zeta up to the last
    level, so its residual ||A x - y|| stays far above the noise floor sigma_y sqrt(m) (and PSNR
    saturates); the default step vanishes with s² - s'², and samples end at the floor."""
    prior, problem, y, post = gaussian_case
    A = problem.operator.A(torch.eye(8, dtype=D64)).T
    for sigma_y in (0.01, 0.1):
        problem = gp.InverseProblem(gp.operators.Matrix(A), sigma_y)
        floor = sigma_y * 3 ** 0.5
        res = {}
        for w in ("variance", "constant"):
            # EDM's grid: its fine last levels keep the step zeta (s² - s'²) ||A||² / sigma_y² below
            # ||r|| on this stiff 3 x 8 case at sigma_y = 0.01 (the VP grid's last level 0.0105 does not)
            r = gp.solve(problem, y, method="dps", prior=prior, weighting=w, num_samples=100, schedule="edm",
                         generator=torch.Generator().manual_seed(1))
            res[w] = float((r.samples[:, 0] @ A.T - y).norm(dim=1).mean()) / floor
        assert res["variance"] < 3 and res["constant"] > 10, (sigma_y, res)


def test_clip_x0_stops_the_gradient_outside_the_data_range():
    """clip_x0 clamps x0 to [0, 1] in the likelihood: where x0 is out of range the step is zero."""
    g = torch.Generator().manual_seed(0)
    A = gp.operators.Matrix(torch.randn(3, 5, generator=g, dtype=D64))
    problem = gp.InverseProblem(A, 0.1)
    prior = gp.priors.GaussianMixture(torch.full((1, 5), 3.0, dtype=D64), None, 0.1)   # x0 near 3
    x_val = 3.0 + 0.1 * torch.randn(2, 5, generator=g, dtype=D64)
    y = torch.randn(2, 3, generator=g, dtype=D64)

    def step(clip):
        x = x_val.clone().requires_grad_(True)
        with torch.enable_grad():
            x0 = prior.x0(x, torch.tensor(0.1, dtype=D64))
        ctx = StepContext(0, torch.tensor(0.1), torch.tensor(0.05), x, x0, y, problem, 1.0, None, {})
        return DPSGradient(clip_x0=clip).after(ctx, torch.zeros(2, 5, dtype=D64))

    assert torch.equal(step(True), torch.zeros(2, 5, dtype=D64))
    assert float(step(False).abs().max()) > 1e-3
