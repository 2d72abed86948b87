"""The Gaussian-mixture inverse problems of Cardoso et al. 2023 (MCGdiff), shared by the
benchmark and the tests: 25 components with means (8i, 8j), i, j in {-2..2}, tiled to d_x,
identity covariances, weights ~ N(0,1)² normalised; A = U diag(s) V^T from the SVD of a Gaussian
d_y x d_x matrix with s replaced by sorted U[0, 1] draws; sigma_y = U[0,1] * max(s); y from a
prior draw."""
import torch

import genprior as gp


def gmm_problem(d_x: int, d_y: int, seed: int, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    means = []
    for i in range(-2, 3):
        for j in range(-2, 3):
            means.append(torch.tensor([8.0 * i, 8.0 * j] * (d_x // 2), dtype=dtype))
    means = torch.stack(means)
    weights = torch.randn(25, generator=g, dtype=dtype) ** 2
    prior = gp.priors.GaussianMixture(means, weights / weights.sum(), 1.0, dtype=dtype)
    M = torch.randn(d_y, d_x, generator=g, dtype=dtype)
    U, S, Vh = torch.linalg.svd(M, full_matrices=False)
    s = torch.sort(torch.rand(S.shape, generator=g, dtype=dtype), descending=True).values
    A = U @ torch.diag(s) @ Vh
    sigma_y = float(torch.rand(1, generator=g, dtype=dtype)) * float(s.max())
    x = prior.sample_exact(1, generator=g)
    y = x @ A.T + sigma_y * torch.randn(1, d_y, generator=g, dtype=dtype)
    problem = gp.InverseProblem(gp.operators.Matrix(A), sigma_y)
    return prior, problem, y, prior.posterior(A, y, sigma_y)
