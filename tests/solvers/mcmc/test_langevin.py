"""Langevin (ULA, MALA) on a Gaussian prior with a linear A: the posterior is N(μ_post, C) exactly.

Monte-Carlo bounds (K independent chains, seeded): each chain's average over its kept draws has
variance ≤ Var(x_i), so the pooled mean has |error_i| ≤ 4.5 √(S_ii / K) except with probability
~7e-6 per coordinate; likewise each covariance entry ≤ 4.5 √((S_ii S_jj + S_ij²) / K) (the
Gaussian variance of a one-draw-per-chain estimate bounds the pooled one). S is the chain's
stationary covariance: C for MALA, (P (I - τP/2))⁻¹ with P = C⁻¹ for ULA (its O(τ) bias; exact mean).
"""
import pytest
import torch

import genprior as gp
from genprior.priors import GaussianEnergy, LinearGaussianGenerator
from genprior.priors.base import Prior

D = torch.float64
K = 1000


def setup():
    g = torch.Generator().manual_seed(4)
    Q = torch.linalg.qr(torch.randn(9, 9, generator=g, dtype=D))[0]
    cov = Q @ torch.diag(torch.linspace(0.3, 1.5, 9, dtype=D)) @ Q.T
    E = GaussianEnergy(torch.randn(1, 3, 3, generator=g, dtype=D), cov)
    pb = gp.tasks.make("cs", image_shape=(1, 3, 3), ratio=0.67, sigma_y=0.5)
    y = pb.measure(E.sample(2, generator=g, dtype=D), generator=g)
    mean, C = E.posterior(pb.operator.G, y, pb.sigma_y)
    return E, pb, y, mean, C


def check_moments(res, mean, S, K):
    s = res.samples.reshape(res.samples.shape[0], 2, 9)
    d = S.diagonal()
    assert ((s.mean(0) - mean).abs() <= 4.5 * (d / K).sqrt()).all()
    bound = 4.5 * ((d[:, None] * d[None] + S ** 2) / K).sqrt()
    for b in range(2):
        assert ((torch.cov(s[:, b].T) - S).abs() <= bound).all()
    # the Result's mean and std are the samples' moments
    assert torch.allclose(res.mean.reshape(2, 9), s.mean(0), atol=1e-10)
    assert torch.allclose(res.std.reshape(2, 9), s.std(0, unbiased=False), atol=1e-10)
    assert torch.equal(res.x, res.mean)


def test_ula_matches_its_stationary_gaussian():
    E, pb, y, mean, C = setup()
    res = gp.solve(pb, y, "langevin", E, algorithm="ula", step_scale=0.5, chains=K, burn_in=500, num_samples=20,
                   thin=10, generator=torch.Generator().manual_seed(0))
    assert res.samples.shape == (20 * K, 2, 1, 3, 3)
    tau = res.info["step"][0]
    L = E.lipschitz + pb.operator.norm() ** 2 / pb.sigma_y ** 2
    assert tau == pytest.approx(0.5 / L) and res.info["L_prior_source"] == "prior"
    P = torch.linalg.inv(C)
    S = torch.linalg.inv(P @ (torch.eye(9, dtype=D) - tau * P / 2))
    check_moments(res, mean, S, K)
    assert float((S - C).abs().max()) > 0.01          # the ULA bias is real at this step ...
    assert float((S - C).abs().max()) < 0.1 * float(C.abs().max())   # ... and small


def test_mala_matches_the_exact_posterior():
    E, pb, y, mean, C = setup()
    res = gp.solve(pb, y, "langevin", E, algorithm="mala", chains=K, burn_in=400, num_samples=20, thin=20,
                   generator=torch.Generator().manual_seed(1))
    check_moments(res, mean, C, K)
    acc = res.info["acceptance"]
    assert len(acc) == 2 and all(0.4 < a < 0.75 for a in acc)      # adapted towards 0.574


def test_mala_fixed_step_and_log_prob_only_prior():
    """A prior with only log_prob (a flow without value/grad): V = -log p, ∇V by autograd."""
    E, pb, y, mean, C = setup()

    class LogProbOnly(Prior):
        capabilities = frozenset({"log_prob"})
        image_shape = (1, 3, 3)

        def log_prob(self, x):
            return E.log_prob(x)
    k = 300
    res = gp.solve(pb, y, "langevin", LogProbOnly(), algorithm="mala", adapt=False, step_scale=2.0, chains=k,
                   burn_in=300, num_samples=10, thin=10, generator=torch.Generator().manual_seed(2))
    s = res.samples.reshape(-1, 2, 9)
    assert ((s.mean(0) - mean).abs() <= 4.5 * (C.diagonal() / k).sqrt()).all()
    assert res.info["L_prior_source"] == "estimate"
    assert res.info["L_prior"] == pytest.approx(E.lipschitz, rel=0.3)
    assert all(0.0 < a < 1.0 for a in res.info["acceptance"])


def test_store_samples_false_keeps_mean_and_std():
    E, pb, y, mean, C = setup()
    kw = dict(algorithm="ula", chains=50, burn_in=50, num_samples=5, thin=2)
    a = gp.solve(pb, y, "langevin", E, generator=torch.Generator().manual_seed(3), **kw)
    b = gp.solve(pb, y, "langevin", E, generator=torch.Generator().manual_seed(3), store_samples=False, **kw)
    assert b.samples is None and torch.allclose(a.mean, b.mean) and torch.allclose(a.std, b.std)


def test_langevin_errors():
    E, pb, y, mean, C = setup()
    gan = LinearGaussianGenerator(torch.randn(9, 2, dtype=D), image_shape=(1, 3, 3))
    with pytest.raises(TypeError, match="grad or log_prob"):
        gp.solve(pb, y, "langevin", gan)

    class GradOnly(Prior):
        capabilities = frozenset({"grad"})
        image_shape = (1, 3, 3)

        def grad(self, x):
            return E.grad(x)
    with pytest.raises(TypeError, match="value or log_prob"):
        gp.solve(pb, y, "langevin", GradOnly(), algorithm="mala")
    with pytest.raises(ValueError, match="algorithm"):
        gp.solve(pb, y, "langevin", E, algorithm="hmc")
    with pytest.raises(FloatingPointError, match=r"langevin \(ula\) iteration [1-9]\d*"):
        gp.solve(pb, y, "langevin", E, step=10.0, burn_in=2000, generator=torch.Generator().manual_seed(0))
