"""SMC samplers (mcgdiff, fps, tds) against exact posteriors: a single Gaussian prior with a linear
A (closed-form posterior moments), a three-component mixture where dropping the importance
weights gets the mode weights wrong, and the particle machinery (resampling, ESS, layout)."""
import math

import pytest
import torch

import genprior as gp
from genprior.operators.base import LinearOperator
from genprior.solvers.smc import particles as P

D = torch.float64
SMC = ("mcgdiff", "fps", "tds")


class PlainMatrix(LinearOperator):
    """A dense matrix with no SVD exposed (has_svd False): the general-operator path."""

    def __init__(self, A):
        super().__init__((A.shape[1],), (A.shape[0],))
        self.M = A

    def _forward(self, x):
        return x @ self.M.T.to(x.dtype)

    def _adjoint(self, y):
        return y @ self.M.to(y.dtype)


def gaussian_problem(op=gp.operators.Matrix):
    """Isotropic N(mu, I) prior on R^4, A (2 x 4), sigma_y = 0.3, two measurements: one far from
    the prior predictive (where unweighted guidance drifts) and one close to it."""
    g = torch.Generator().manual_seed(0)
    prior = gp.priors.GaussianMixture(torch.tensor([[2.0, -1.0, 0.5, 1.0]], dtype=D), None, 1.0)
    A = torch.randn(2, 4, generator=g, dtype=D)
    problem = gp.InverseProblem(op(A), 0.3)
    y = torch.tensor([[6.0, -4.0], [1.0, 0.5]], dtype=D)
    posts = [prior.posterior(A, y[b:b + 1], 0.3) for b in range(2)]
    return prior, problem, y, posts


def check_moments(samples, post, mean_tol=0.2, var_lo=0.75, var_hi=1.33):
    m, C = post.mean().reshape(-1), post.covariance()
    err = (samples.mean(0) - m).abs().max().item()
    ratio = samples.var(0) / C.diagonal()
    return err < mean_tol and bool((ratio > var_lo).all()) and bool((ratio < var_hi).all()), (err, ratio.tolist())


@pytest.mark.parametrize("method", SMC)
def test_gaussian_posterior_moments(method):
    prior, problem, y, posts = gaussian_problem()
    # fps draws one measurement path per filter: several filters average its randomness out
    # seed 4: the far measurement's mean error has a heavy tail over seeds (the weights are degenerate
    # there); with the fully adapted start (particles.svd_filter) seed 2 drew fps's 0.30, seeds 6-15
    # 0.02-0.20 for fps and mcgdiff, as the weighted start did (0.01-0.19)
    particles = 1000 if method == "fps" else 4000
    r = gp.solve(problem, y, method=method, prior=prior, generator=torch.Generator().manual_seed(4),
                 num_samples=4000, particles=particles, steps=100)
    assert r.samples.shape == (4000, 2, 4)
    for b in range(2):                 # each measurement's particles match its own posterior (no mixing)
        ok, detail = check_moments(r.samples[:, b], posts[b])
        assert ok, (method, b, detail)
    steps = r.info["steps"]
    assert len(r.info["ess"]) == steps
    assert all(1 - 1e-9 <= e <= particles + 1e-6 for e in r.info["ess"])
    assert isinstance(r.info["resamples"], int)
    # batched network calls: one x0 call + one Tweedie probe per step (+ tds: one backward per step)
    assert r.nfe == 2 * steps + (steps if method == "tds" else 0)
    assert r.info["network_evaluations_per_measurement"] == r.nfe * particles * r.info["filters_per_measurement"]


def mixture_problem():
    means = torch.tensor([[-2.0, 0.0], [2.0, 1.0], [0.0, -3.0]], dtype=D)
    covs = torch.stack([torch.eye(2, dtype=D) * 0.3, torch.tensor([[0.5, 0.2], [0.2, 0.2]], dtype=D),
                        torch.eye(2, dtype=D) * 0.1])
    prior = gp.priors.GaussianMixture(means, torch.tensor([0.5, 0.3, 0.2], dtype=D), covs)
    A = torch.tensor([[1.0, 0.6]], dtype=D)
    y = torch.tensor([[0.5]], dtype=D)
    return prior, gp.InverseProblem(gp.operators.Matrix(A), 0.3), y, prior.posterior(A, y, 0.3)


@pytest.mark.parametrize("weights", ["exact", "none"])
@pytest.mark.parametrize("method", SMC)
def test_mixture_weights_needed(method, weights):
    """Posterior mode weights (0.05, 0.95, 0) are only right with the importance weights: without
    them the samples' variance is 3-13x the exact one (measured), with them within MC error."""
    prior, problem, y, post = mixture_problem()
    r = gp.solve(problem, y, method=method, prior=prior, generator=torch.Generator().manual_seed(1),
                 num_samples=2000, particles=2000, steps=100, weights=weights)
    ok, detail = check_moments(r.samples[:, 0], post, mean_tol=0.1, var_lo=0.7, var_hi=1.5)
    assert ok == (weights == "exact"), (method, weights, detail)


def test_noiseless_mcgdiff_pins_observed_coordinates():
    prior, problem, y, _ = gaussian_problem()
    problem = gp.InverseProblem(problem.operator, 0.0)
    r = gp.solve(problem, y, method="mcgdiff", prior=prior, generator=torch.Generator().manual_seed(2),
                 num_samples=2000, particles=2000, steps=100)
    resid = problem.operator.A(r.samples.reshape(-1, 4)).reshape(2000, 2, 2) - y
    assert resid.abs().max() < 1e-8
    post = prior.posterior(problem.operator.matrix, y[:1], 1e-6)
    ok, detail = check_moments(r.samples[:, 0], post)
    assert ok, detail


def test_mcgdiff_levels_inserted_snapped_and_above_start():
    prior, problem, y, posts = gaussian_problem()
    # two distinct tau_i = sigma_y / s_i join the 100-level schedule (NFE counts them)
    r = gp.solve(problem, y, method="mcgdiff", prior=prior, num_samples=4, particles=4, steps=100)
    assert r.info["steps"] == 102 and r.info["snapped"] is False
    # more distinct levels than max_levels: snapped onto the grid, the schedule keeps its length
    r = gp.solve(problem, y, method="mcgdiff", prior=prior, num_samples=4, particles=4, steps=100, max_levels=1)
    assert r.info["steps"] == 100 and r.info["snapped"] is True
    # tau_i above the start level (sigma_y = 500 > sigma_max = 100): the likelihood enters once at the
    # start, and the samples follow the (nearly prior) exact posterior
    noisy = gp.InverseProblem(problem.operator, 500.0)
    r = gp.solve(noisy, y, method="mcgdiff", prior=prior, generator=torch.Generator().manual_seed(0),
                 num_samples=2000, particles=2000, steps=50)
    ok, detail = check_moments(r.samples[:, 0], prior.posterior(problem.operator.matrix, y[:1], 500.0))
    assert ok, detail


@pytest.mark.parametrize("method", ["mcgdiff", "fps"])
def test_svd_methods_refuse_operator_without_svd(method):
    prior, problem, y, _ = gaussian_problem(PlainMatrix)
    with pytest.raises(TypeError, match="needs an operator with an SVD"):
        gp.solve(problem, y, method=method, prior=prior, num_samples=4, particles=4, steps=3)


def test_tds_accepts_any_operator():
    prior, problem, y, posts = gaussian_problem(PlainMatrix)
    r = gp.solve(problem, y, method="tds", prior=prior, generator=torch.Generator().manual_seed(1),
                 num_samples=2000, particles=2000, steps=60)
    ok, detail = check_moments(r.samples[:, 1], posts[1], mean_tol=0.25, var_lo=0.7, var_hi=1.4)
    assert ok, detail


def test_float32_and_single_sample():
    prior, problem, y, _ = gaussian_problem()
    for method in SMC:
        r = gp.solve(problem, y.float(), method=method, prior=prior, generator=torch.Generator().manual_seed(0),
                     particles=8, steps=10)
        assert r.x.shape == (2, 4) and r.x.dtype == torch.float32 and r.samples is None
        assert torch.isfinite(r.x).all()


@pytest.mark.parametrize("method", SMC)
def test_keep_particles_gives_the_weighted_set_the_draws_come_from(method):
    """keep_particles: info["final_particles"] (N, F, B, ...) and info["final_weights"] (N, F, B), normalised;
    every draw is one of its filter's particles, and the weighted mean of the set is the posterior
    mean within Monte-Carlo error (2 filters x 1000 particles on the Gaussian problem)."""
    prior, problem, y, posts = gaussian_problem()
    r = gp.solve(problem, y, method=method, prior=prior, generator=torch.Generator().manual_seed(4),
                 num_samples=4, particles=1000, filters=2, steps=40, keep_particles=True)
    P, W = r.info["final_particles"], r.info["final_weights"]
    assert P.shape == (1000, 2, 2, 4) and W.shape == (1000, 2, 2) and W.dtype == D
    assert torch.allclose(W.sum(0), torch.ones(2, 2, dtype=D)) and bool((W >= 0).all())
    for j in range(4):
        for b in range(2):
            d = (P[:, :, b] - r.samples[j, b]).abs().amax(-1)           # (N, F)
            assert float(d.min()) == 0                                   # a draw is a particle
    for b in range(2):
        mean = (W[:, :, b, None] * P[:, :, b]).sum(0).mean(0)
        assert float((mean - posts[b].mean().reshape(-1)).abs().max()) < 0.3, (method, b, mean)
    r2 = gp.solve(problem, y, method=method, prior=prior, num_samples=4, particles=8, steps=5)
    assert "final_particles" not in r2.info and r2.info["particles"] == 8


def test_normal_draws_are_standard_in_float64():
    """particles.normal: float64 draws (made in float32) with mean 0 and variance 1 (2e6 draws: 5 sd)."""
    z = P.normal((2_000_000,), D, "cpu", torch.Generator().manual_seed(0))
    assert z.dtype == D
    assert abs(float(z.mean())) < 5 / 2_000_000 ** 0.5 and abs(float(z.var()) - 1) < 5 * (2 / 2_000_000) ** 0.5


# -- particle machinery --------------------------------------------------------------------------
def test_systematic_resampling_is_unbiased():
    g = torch.Generator().manual_seed(3)
    logw = torch.randn(6, 3, generator=g, dtype=D) * 2
    w = P.normalise(logw)
    counts = torch.zeros(6, 3, dtype=D)
    R = 4000
    for _ in range(R):
        idx = P.systematic_resample(logw, g)
        one = torch.zeros(6, 3, dtype=D)
        one.scatter_add_(0, idx, torch.ones_like(idx, dtype=D))
        # systematic resampling: each count is floor or ceil of N w_i
        assert bool(((one - 6 * w).abs() < 1 + 1e-9).all())
        counts += one
    # expected counts = N w within Monte-Carlo error (each count varies by at most 1)
    assert torch.allclose(counts / R, 6 * w, atol=4 * 0.5 / math.sqrt(R))


def test_ess_bounds():
    N = 50
    assert torch.allclose(P.ess(torch.zeros(N, 2, dtype=D)), torch.full((2,), float(N), dtype=D))
    one_hot = torch.full((N, 1), -math.inf, dtype=D)
    one_hot[7] = 0.0
    assert P.ess(one_hot).item() == pytest.approx(1.0)
    g = torch.Generator().manual_seed(0)
    for scale in (0.1, 1.0, 10.0, 100.0):
        e = P.ess(torch.randn(N, 5, generator=g, dtype=D) * scale)
        assert bool((e >= 1 - 1e-9).all()) and bool((e <= N + 1e-9).all())


def test_tracker_resamples_per_filter_only():
    """Filters never mix: resampling draws only from the same filter's particles."""
    N, G = 8, 3
    tr = P.Tracker(N, G, 0.5, torch.Generator().manual_seed(0))
    x = (torch.arange(G, dtype=D)[None, :] * 100 + torch.arange(N, dtype=D)[:, None]).reshape(N * G, 1)
    inc = torch.zeros(N, G, dtype=D)
    inc[:, 1] = torch.linspace(0, 20, N, dtype=D)           # filter 1 degenerates, 0 and 2 stay uniform
    tr.add(inc.reshape(-1))
    x2, = tr.step(x)
    x2 = x2.reshape(N, G)
    assert tr.resamples == 1
    assert torch.equal(x2[:, 0], x.reshape(N, G)[:, 0]) and torch.equal(x2[:, 2], x.reshape(N, G)[:, 2])
    assert bool(((x2[:, 1] >= 100) & (x2[:, 1] < 200)).all())
    assert (x2[:, 1] == 107).all()       # weight of particle 7 is ~1


def test_options_validation():
    prior, problem, y, _ = gaussian_problem()
    for bad in (dict(particles=0), dict(ess_threshold=1.5), dict(eta=0.0), dict(weights="some"), dict(kernel_var="x")):
        with pytest.raises(ValueError):
            gp.solve(problem, y, method="mcgdiff", prior=prior, **bad)
