"""Test problems shared by the benchmarks and the tests (import them from here, not by file path).

``gmm_problem``: the Gaussian-mixture inverse problems of Cardoso et al. 2023 (MCGdiff), used by
benchmarks/gmm/ and the tests: 25 components with means (8i, 8j), i, j in {-2..2}, tiled to d_x,
identity covariances, weights ~ N(0,1)² normalised; A = U diag(s) V^T from the SVD of a Gaussian
d_y x d_x matrix with s replaced by sorted U[0, 1] draws; sigma_y = U[0,1] * max(s); y from a
prior draw.

``DIFFUSION_TASKS`` and ``diffusion_images``: the image tasks and the held-out / validation images
of the diffusion benchmark (benchmarks/diffusion/) and its tuning scripts (benchmarks/tuning/).

``CLASSICAL_TASKS`` and ``CLASSICAL_VALIDATION_IMAGES``: the nine tasks of the classical benchmarks
(benchmarks/defaults/, the ``classical`` suite) and the test images the classical defaults are tuned
on (benchmarks/tuning/; never the benchmarks' camera, astronaut, moon, coins).
"""
import torch

import genprior as gp

# task -> (task options, sigma_y) of the classical benchmarks, as the `classical` suite
# (src/genprior/bench/suites/classical.toml)
CLASSICAL_TASKS = {
    "denoise": ({}, 0.1),
    "deblur_gauss": ({"std": 2.0}, 0.01),
    "deblur_motion": ({}, 0.01),
    "sr4": ({}, 0.01),
    "inpaint_box": ({}, 0.01),
    "inpaint_random": ({"keep": 0.3}, 0.01),
    "cs": ({"ratio": 0.25}, 0.01),
    "ct": ({"n_angles": 30}, 0.1),
    "mri": ({}, 0.01),
}
CLASSICAL_VALIDATION_IMAGES = ("brick", "chelsea", "clock", "gravel", "page", "coffee")

# task -> (task options, sigma_y) of the diffusion image benchmark
DIFFUSION_TASKS = {
    "ct": dict(options={"n_angles": 16}, sigma_y=0.1),
    "mri": dict(options={"acceleration": 4, "center_fraction": 0.08}, sigma_y=0.01),
    "inpaint_random": dict(options={"keep": 0.3}, sigma_y=0.01),
    "sr4": dict(options={"factor": 4}, sigma_y=0.01),
    "deblur_gauss": dict(options={"std": 2.0}, sigma_y=0.01),
    "cs": dict(options={"ratio": 0.25}, sigma_y=0.01),
}


def diffusion_problem(task: str, image_shape) -> "gp.InverseProblem":
    """The diffusion benchmark's ``task`` (its options and sigma_y from :data:`DIFFUSION_TASKS`) on images
    of ``image_shape``."""
    spec = DIFFUSION_TASKS[task]
    return gp.tasks.make(task, tuple(image_shape), sigma_y=spec["sigma_y"], **spec["options"])


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
    prior, problem, y = _gmm_parts(d_x, d_y, seed, dtype)
    return prior, problem, y, prior.posterior(problem.operator.matrix, y, problem.sigma_y)


def _gmm_parts(d_x: int, d_y: int, seed: int, dtype=torch.float64):
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
    return prior, problem, y


class SpectralMatrix(gp.operators.base.DecomposableOperator):
    """A = U diag(s) [I_m 0] on vectors (d,): a matrix already in its right-singular basis
    (V = I), so the SVD filters' V / V^T products are free. ``U``: (m, m) orthogonal, ``s``: (m,)."""

    name = "spectral_matrix"

    def __init__(self, U: torch.Tensor, s: torch.Tensor, d: int):
        m = U.shape[0]
        if U.shape != (m, m) or s.shape != (m,) or not m <= d:
            raise ValueError(f"SpectralMatrix needs U (m, m), s (m,) and m <= d; got {tuple(U.shape)}, {tuple(s.shape)}, d={d}")
        super().__init__((d,), (m,))
        self.U, self.s, self.m = U, s, m
        self.s_full = torch.cat([s, torch.zeros(d - m, dtype=s.dtype)])
        self.matrix = torch.cat([U * s, torch.zeros(m, d - m, dtype=U.dtype)], 1)      # dense form (m, d)

    def _forward(self, x):
        return (x[:, : self.m] * self._buf("s", x)) @ self._buf("U", x).T

    def _adjoint(self, y):
        head = (y @ self._buf("U", y)) * self._buf("s", y)
        return torch.cat([head, head.new_zeros(head.shape[0], self.x_shape[0] - self.m)], 1)

    def V_adjoint(self, x):
        return x

    def V(self, s):
        return s

    def singulars(self, like=None):
        return self.s_full if like is None else self._buf("s_full", like)


def gmm_problem_spectral(d_x: int, d_y: int, seed: int, dtype=torch.float64):
    """The problem of :func:`gmm_problem` written in A's right-singular basis x̄ = V^T x: (prior,
    problem, y, exact posterior, Vt) with x = x̄ Vt (rows). Every object is the rotation of the
    original one (the mixture's components are isotropic, so its prior becomes means mu_k V with
    the same covariances; A becomes U diag(s) [I 0], a :class:`SpectralMatrix`; y is unchanged), and
    the exact posterior has diagonal covariances there: per component, on the observed coordinates
    i < d_y, precision 1 + s_i²/sigma_y² and mean (mu̅_ki + s_i (U^T y)_i / sigma_y²) / precision,
    weights w_k N(U^T y; s mu̅_k, diag(s² + sigma_y²)). At d_x = 800 this is what makes the
    asymptotically exact samplers affordable (no dense 800 x 800 products per particle and step,
    exact posterior samples without (K, d, d) covariances); samples map back by x = x̄ Vt."""
    prior, problem, y = _gmm_parts(d_x, d_y, seed, dtype)
    if prior.iso is None:
        raise ValueError("gmm_problem_spectral needs isotropic mixture components")
    U, s, Vt = torch.linalg.svd(problem.operator.matrix.to(dtype), full_matrices=True)
    m = s.shape[0]
    mu = prior.mu @ Vt.T                                                         # (K, d) rotated means
    prior_r = gp.priors.GaussianMixture(mu, prior.weights, prior.iso, dtype=dtype)
    problem_r = gp.InverseProblem(SpectralMatrix(U, s, d_x), problem.sigma_y)
    sy2 = problem.sigma_y ** 2
    v = prior.iso[:, None]                                                       # (K, 1) component variances
    ut = (y.reshape(-1) @ U).to(dtype)                                           # (m,)
    prec = 1 / v + s ** 2 / sy2                                                  # (K, m)
    mean = mu.clone()
    mean[:, :m] = (mu[:, :m] / v + s * ut / sy2) / prec
    var = v.expand(-1, d_x).clone()
    var[:, :m] = 1 / prec
    pred = v * s ** 2 + sy2                                                      # (K, m) predictive variances
    logw = torch.log(prior.weights) - 0.5 * (((ut - s * mu[:, :m]) ** 2 / pred) + torch.log(pred)).sum(1)
    post = gp.priors.GaussianMixture(mean, torch.softmax(logw, 0), var, dtype=dtype)
    return prior_r, problem_r, y, post, Vt
