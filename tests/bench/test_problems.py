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

