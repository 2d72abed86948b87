"""genprior.bench.problems: the shared test problems reproduce the committed benchmark's problems,
and the mixture problem's exact posterior agrees with a brute-force (importance-sampling) estimate."""
import json
import math
from pathlib import Path

import pytest
import torch

from genprior.bench.problems import gmm_problem

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def test_gmm_problem_reproduces_the_committed_benchmark_problems():
    """benchmarks/gmm/gmm_posterior.json records sigma_y (4 decimals) of each of its 27 problems (the
    d_x = 80 and 800 ones are checked by the slow test: 800-dim posteriors take ~40 s)."""
    rows = json.loads((BENCH / "gmm" / "gmm_posterior.json").read_text())["results"]["rows"]
    assert len(rows) == 27
    _check_rows([r for r in rows if r["d_x"] == 8])


@pytest.mark.slow
def test_gmm_problem_reproduces_all_committed_benchmark_problems():
    rows = json.loads((BENCH / "gmm" / "gmm_posterior.json").read_text())["results"]["rows"]
    _check_rows([r for r in rows if r["d_x"] != 8])


def _matrix(problem, d_x):
    return problem.operator.apply(torch.eye(d_x, dtype=torch.float64)).T       # rows of A^T -> A


def _check_rows(rows):
    assert rows
    for r in rows:
        prior, problem, y, post = gmm_problem(r["d_x"], r["d_y"], r["seed"])
        assert abs(problem.sigma_y - r["sigma_y"]) < 6e-5, r
        assert y.shape == (1, r["d_y"]) and post.mu.shape == (25, r["d_x"])


def test_gmm_problem_operator_has_the_stated_spectrum():
    prior, problem, y, post = gmm_problem(8, 4, 3)
    s = torch.linalg.svdvals(_matrix(problem, 8))
    assert s.shape == (4,) and float(s.max()) <= 1 and float(s.min()) >= 0
    assert torch.all(s[:-1] >= s[1:])                              # U[0, 1] draws, sorted
    assert 0 <= problem.sigma_y <= float(s.max()) + 1e-12         # sigma_y = U[0, 1] * max(s)
    assert abs(float(prior.weights.sum()) - 1) < 1e-12 and prior.mu.shape == (25, 8)


def test_gmm_posterior_mean_matches_importance_sampling():
    """E[x | y] by self-normalised importance sampling from the prior, weights N(y; A x, s² I), against
    the closed-form posterior; the tolerance is 5 Monte-Carlo standard errors (from the effective sample
    size and the exact posterior's spread)."""
    prior, problem, y, post = gmm_problem(8, 2, 2)          # sigma_y 0.38: an effective sample size ~5000
    A, s = _matrix(problem, 8), problem.sigma_y
    x = prior.sample_exact(400_000, generator=torch.Generator().manual_seed(7))
    logw = -((x @ A.T - y) ** 2).sum(1) / (2 * s * s)
    w = torch.softmax(logw, 0)
    est = (w[:, None] * x).sum(0)
    ess = float(1 / (w * w).sum())
    exact = post.mean().reshape(-1)
    sd = post.covariance().diagonal().sqrt()
    assert ess > 1000
    assert torch.all((est - exact).abs() < 5 * sd / math.sqrt(ess) + 1e-9), (est, exact, ess)
    # and the posterior has moved: far from the prior mean in units of its spread
    assert float(((exact - prior.mean().reshape(-1)) / sd).abs().max()) > 1



@pytest.mark.parametrize("d_x, d_y, seed", [(8, 2, 0), (8, 4, 1), (80, 1, 2)])
def test_gmm_problem_spectral_is_the_rotated_problem(d_x, d_y, seed):
    """gmm_problem_spectral is gmm_problem in A's right-singular basis: the same A (x̄ = x Vtᵀ), the
    same denoiser up to the rotation, and its closed-form diagonal posterior rotated back equals the
    original posterior (weights, means, full covariances); its operator's adjoint is the adjoint."""
    from genprior.bench.problems import gmm_problem_spectral
    prior, problem, y, post = gmm_problem(d_x, d_y, seed)
    pr, pb, y2, po, Vt = gmm_problem_spectral(d_x, d_y, seed)
    assert torch.equal(y, y2) and pb.sigma_y == problem.sigma_y
    assert torch.allclose(Vt @ Vt.T, torch.eye(d_x, dtype=D), atol=1e-12)
    x = torch.randn(5, d_x, generator=torch.Generator().manual_seed(3), dtype=D) * 4
    assert torch.allclose(pb.operator.apply(x @ Vt.T), problem.operator.apply(x), atol=1e-12)
    z = torch.randn(5, d_y, generator=torch.Generator().manual_seed(4), dtype=D)
    assert abs(float((pb.operator.apply(x) * z).sum() - (x * pb.operator.apply_adjoint(z)).sum())) < 1e-10
    for sigma in (0.5, 3.0, 40.0):
        assert torch.allclose(pr.x0(x @ Vt.T, sigma) @ Vt, prior.x0(x, sigma), atol=1e-10)
    assert abs(pr.sigma_max - prior.sigma_max) < 1e-9 * prior.sigma_max and abs(pr.data_std - prior.data_std) < 1e-10
    assert torch.allclose(po.weights, post.weights, atol=1e-12)
    assert torch.allclose(po.mu @ Vt, post.mu, atol=1e-10)
    assert torch.allclose(Vt.T @ torch.diag_embed(po.lam) @ Vt, post.covariances(), atol=1e-10)
    # the SVD filters see V = I and the singular values of A
    s = torch.linalg.svdvals(_matrix(problem, d_x))
    assert torch.equal(pb.operator.V_adjoint(x), x)
    assert torch.allclose(pb.operator.singulars()[:d_y], s, atol=1e-12) and not pb.operator.singulars()[d_y:].any()


D = torch.float64
