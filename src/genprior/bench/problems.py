"""Test problems shared by the benchmarks and the tests (import them from here, not by file path).

``gmm_problem``: the Gaussian-mixture inverse problems of Cardoso et al. 2023 (MCGdiff), used by
benchmarks/gmm/ and the tests: 25 components with means (8i, 8j), i, j in {-2..2}, tiled to d_x,
identity covariances, weights ~ N(0,1)² normalised; A = U diag(s) V^T from the SVD of a Gaussian
d_y x d_x matrix with s replaced by sorted U[0, 1] draws; sigma_y = U[0,1] * max(s); y from a
prior draw.

``DIFFUSION_TASKS`` and ``diffusion_images``: the image tasks and the held-out / validation images
of the diffusion benchmark (benchmarks/diffusion/) and its tuning scripts (benchmarks/tuning/).
"""
import torch

import genprior as gp

# task -> (task options, sigma_y) of the diffusion image benchmark
DIFFUSION_TASKS = {
    "ct": dict(options={"n_angles": 16}, sigma_y=0.1),
    "mri": dict(options={"acceleration": 4, "center_fraction": 0.08}, sigma_y=0.01),
    "inpaint_random": dict(options={"keep": 0.3}, sigma_y=0.01),
    "sr4": dict(options={"factor": 4}, sigma_y=0.01),
    "deblur_gauss": dict(options={"std": 2.0}, sigma_y=0.01),
    "cs": dict(options={"ratio": 0.25}, sigma_y=0.01),
}


def diffusion_images(prior_name: str, prior, n: int, split: str) -> torch.Tensor:
    """``n`` images of a shipped prior's domain: ``split="test"`` held out (phantoms from generator seed
    10000, the first Fashion-MNIST test images), ``"val"`` for tuning (seed 20000, the last ones)."""
    if "phantom" in prior_name:
        seed = {"test": 10_000, "val": 20_000}[split]
        return gp.data.phantoms(n, prior.image_shape[-1], generator=torch.Generator().manual_seed(seed))
    if "fashion" in prior_name:
        data = gp.data.fashion_mnist("test", pad_to=prior.image_shape[-1] if prior.image_shape[-1] != 28 else None)
        return data[:n] if split == "test" else data[-n:]
    raise ValueError(prior_name)


def gmm_problem(d_x: int, d_y: int, seed: int, dtype=torch.float64):
    """(prior, problem, y, exact posterior) of one random mixture problem (see the module docstring)."""
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
