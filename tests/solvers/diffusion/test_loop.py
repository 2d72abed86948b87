"""The shared reverse loop and set-up: reproducibility, requirements, the NaN guard, weights,
and the loop without a DC step being the unconditional sampler."""
import pytest
import torch

import genprior as gp
from genprior.schedules.samplers import ddim, sample_ddim
from genprior.solvers.diffusion.dc import DCStep
from genprior.solvers.diffusion.loop import reverse_loop, setup, weight_schedule

D = torch.float64
METHODS = ["dps", "mcg", "score_sde", "pigdm", "dds", "diffpir", "ddrm", "daps", "reddiff", "split"]


@pytest.mark.parametrize("method", METHODS)
def test_reproducible_from_generator(gaussian_case, method):
    prior, problem, y, post = gaussian_case
    r1 = gp.solve(problem, y, method=method, prior=prior, steps=8, generator=torch.Generator().manual_seed(4))
    r2 = gp.solve(problem, y, method=method, prior=prior, steps=8, generator=torch.Generator().manual_seed(4))
    assert torch.equal(r1.x, r2.x)
    assert bool(torch.isfinite(r1.x).all())


def test_requirements_are_checked():
    ct = gp.tasks.make("ct", (1, 16, 16), n_angles=8, sigma_y=0.01)
    y = ct.measure(torch.rand(1, 1, 16, 16))
    prior = gp.priors.GaussianMixture(torch.zeros(1, 1, 16, 16), None, 0.1, dtype=torch.float32)
    with pytest.raises(ValueError, match="needs a prior"):
        gp.solve(ct, y, method="dds")
    with pytest.raises(TypeError, match="needs a prior with x0"):
        gp.solve(ct, y, method="dds", prior=gp.priors.Prior())
    with pytest.raises(ValueError, match="steps"):
        gp.solve(ct, y, method="dds", prior=prior, steps=0)
    small = gp.priors.GaussianMixture(torch.zeros(1, 1, 8, 8), None, 0.1, dtype=torch.float32)
    with pytest.raises(ValueError, match="shape"):
        gp.solve(ct, y, method="dds", prior=small)


class NaNPrior(gp.priors.GaussianMixture):
    def x0(self, x, sigma):
        out = super().x0(x, sigma)
        s = float(torch.as_tensor(sigma).reshape(-1)[0])
        return out * float("nan") if s < 1.0 else out


def test_nan_stops_with_the_step_named():
    prior = NaNPrior(torch.zeros(1, 4, dtype=D), None, 1.0)
    problem = gp.InverseProblem(gp.operators.Matrix(torch.eye(2, 4, dtype=D)), 0.1)
    y = torch.zeros(1, 2, dtype=D)
    for method in ("dds", "ddrm", "dps", "daps"):
        with pytest.raises(FloatingPointError, match=f"{method} step"):
            gp.solve(problem, y, method=method, prior=prior, steps=20)


def test_weight_schedules():
    assert weight_schedule("constant", 3, 2.0) == [2.0, 2.0, 2.0]
    assert weight_schedule("linear", 3) == [1.0, 0.5, 0.0]
    assert weight_schedule("increasing", 3) == [0.0, 0.5, 1.0]
    assert weight_schedule("cosine", 3) == pytest.approx([1.0, 0.5, 0.0])
    assert weight_schedule("linear", 1) == [1.0]
    with pytest.raises(ValueError, match="weight schedule"):
        weight_schedule("nope", 3)


def test_setup_repeats_draws_the_start_first_and_counts_from_now(gaussian_case):
    prior, problem, y, post = gaussian_case
    prior.nfe = 5
    sig = prior.sigmas(4)
    run = setup(prior, problem, y.float(), sig, 3, torch.Generator().manual_seed(0))
    z = torch.randn((3, 8), generator=torch.Generator().manual_seed(0), dtype=torch.float32)
    assert run.yb.shape == (3, 3) and run.dtype == torch.float32 and run.sigmas.dtype == torch.float32
    assert torch.equal(run.x, z * sig.float()[0]) and run.nfe0 == 5
    assert setup(prior, problem, y, sig, 2, None, start_noise=False).x is None


def test_the_loop_without_dc_is_the_unconditional_sampler(gaussian_case):
    """No DC step: the loop's samples equal DDIM's from the same start noise (the same step code)."""
    prior, problem, y, post = gaussian_case
    sig = prior.sigmas(7).to(D)
    r = reverse_loop(prior, problem, y, sig, ddim(0.5), DCStep(), num_samples=4,
                     generator=torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    x = torch.randn((4, 8), generator=g, dtype=D) * sig[0]
    ref = sample_ddim(prior, x, sig, generator=g, eta=0.5)
    assert torch.allclose(r.samples[:, 0], ref, rtol=0, atol=1e-12)
    assert r.nfe == 7 and r.info["dc"] == "none"


def _tables():
    from genprior.solvers.diffusion import daps, dds, diffpir, dps, mcg, reddiff
    return {"dps": ("zeta", dps.ZETA_DEFAULT["variance"]), "mcg": ("zeta", mcg.ZETA_DEFAULT["variance"]),
            "dds": ("gamma", dds.GAMMA_DEFAULT), "diffpir": ("lam", diffpir.LAM_DEFAULT),
            "daps": ("lr", daps.LR_DEFAULT), "reddiff": ("lam", reddiff.LAM_DEFAULT)}


@pytest.mark.parametrize("method", ["dps", "mcg", "dds", "diffpir", "daps", "reddiff"])
@pytest.mark.parametrize("task,opts,kind", [("inpaint_random", {"keep": 0.5}, "scattered_inpainting"),
                                            ("cs", {"ratio": 0.5}, "random_projection"),
                                            ("sr4", {"factor": 2}, "downsampling")])
def test_scale_option_defaults_by_operator_kind(method, task, opts, kind):
    """Issue 10: the scale-dependent option left at None is the method's table entry for the
    operator's kind (the same run as passing that value); the tables cover every tuned kind."""
    name, table = _tables()[method]
    assert {"tomography", "fourier_sampling", "scattered_inpainting", "downsampling", "blur_symmetric",
            "random_projection", "default"} <= set(table), method
    problem = gp.tasks.make(task, (1, 8, 8), sigma_y=0.05, **opts)
    prior = gp.priors.GaussianMixture(torch.full((1, 1, 8, 8), 0.5), None, 0.2, dtype=torch.float32)
    y = problem.measure(prior.sample_exact(1, generator=torch.Generator().manual_seed(0)),
                        generator=torch.Generator().manual_seed(1))
    g = lambda: torch.Generator().manual_seed(2)  # noqa: E731
    a = gp.solve(problem, y, method=method, prior=prior, steps=3, generator=g())
    b = gp.solve(problem, y, method=method, prior=prior, steps=3, generator=g(), **{name: table[kind]})
    c = gp.solve(problem, y, method=method, prior=prior, steps=3, generator=g(), **{name: 1.5 * table[kind]})
    assert torch.equal(a.x, b.x)
    # MCG: on this isotropic prior the DPS gradient lies in A's row space, which the projection resets
    assert method == "mcg" or not torch.equal(a.x, c.x)
