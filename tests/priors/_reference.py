"""Independent references shared by the prior tests: explicit matrices and brute-force prox."""
import warnings

import numpy as np
import torch
from scipy.optimize import minimize

D = torch.float64


def diff_matrix(H, W, boundary):
    """Forward differences as explicit (2 H W, H W) matrices: rows (direction, i, j)."""
    n = H * W
    M = np.zeros((2, H, W, n))
    for i in range(H):
        for j in range(W):
            for k, (di, dj) in enumerate(((1, 0), (0, 1))):
                ii, jj = i + di, j + dj
                if boundary == "periodic":
                    ii, jj = ii % H, jj % W
                elif ii >= H or jj >= W:
                    continue
                M[k, i, j, ii * W + jj] += 1
                M[k, i, j, i * W + j] -= 1
    return torch.tensor(M.reshape(2 * n, n))


def transform_matrix(fn, H, W):
    """The matrix of a linear map on (H, W) arrays, column by column."""
    cols = []
    with warnings.catch_warnings():                   # pywt warns when a level is too deep for the filter
        warnings.simplefilter("ignore")
        for k in range(H * W):
            e = np.zeros(H * W)
            e[k] = 1
            cols.append(np.asarray(fn(e.reshape(H, W))).reshape(-1))
    return torch.tensor(np.stack(cols, 1))


def brute_prox(r_smooth, x, gamma, eps_list=(1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)):
    """argmin_u gamma r_eps(u) + 1/2 ||u - x||² by L-BFGS-B on the smoothed objective, eps -> 0."""
    xt = x.reshape(-1)
    u = xt.numpy().copy()
    for eps in eps_list:
        def f(v, eps=eps):
            t = torch.tensor(v, dtype=D, requires_grad=True)
            val = gamma * r_smooth(t, eps) + 0.5 * ((t - xt) ** 2).sum()
            val.backward()
            return val.item(), t.grad.numpy()
        u = minimize(f, u, jac=True, method="L-BFGS-B", options=dict(maxiter=20000, ftol=1e-16, gtol=1e-13)).x
    return torch.tensor(u).reshape(x.shape)


def check_prox(prox_u, x, gamma, r_exact, r_smooth, *, atol=1e-4):
    """prox objective <= brute-force objective + 1e-6, and the minimisers agree."""
    brute = brute_prox(r_smooth, x, gamma)
    obj = lambda u: float(gamma * r_exact(u.reshape(-1)) + 0.5 * ((u - x) ** 2).sum())  # noqa: E731
    assert obj(prox_u) <= obj(brute) + 1e-6, (obj(prox_u), obj(brute))
    assert float((prox_u - brute).abs().max()) < atol
    return obj(prox_u)


def tiny(shape=(1, 1, 4, 4), seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=D)


def rel_adjoint_error(Ax, y, x, ATy):
    return abs(float((Ax * y).sum() - (x * ATy).sum())) / float(Ax.norm() * y.norm())
