"""csgm against closed forms: a linear generator x = W z + b makes the latent MAP a ridge regression."""
import pytest
import torch

import genprior as gp
from genprior.priors import GaussianEnergy, LinearGaussianGenerator
from genprior.priors.base import Prior

D = torch.float64


class SigmoidGenerator(Prior):
    """x = sigmoid(W z + b): a small non-linear (non-convex) generator for the restart tests."""

    capabilities = frozenset({"generate"})

    def __init__(self, W, b, image_shape):
        self.W, self.b, self.image_shape, self.latent_shape, self.nfe = W, b, image_shape, (W.shape[1],), 0

    def generate(self, z):
        self.nfe += 1
        return torch.sigmoid(z @ self.W.T + self.b).reshape(z.shape[0], *self.image_shape)

    def sample_latent(self, n, generator=None, dtype=torch.float32):
        return torch.randn(n, *self.latent_shape, generator=generator, dtype=dtype)


def linear_setup(k=4, ratio=0.75, sigma=0.1, B=3):
    g = torch.Generator().manual_seed(0)
    W = 0.3 * torch.randn(16, k, generator=g, dtype=D)
    G = LinearGaussianGenerator(W, torch.full((16,), 0.5, dtype=D), image_shape=(1, 4, 4))
    pb = gp.tasks.make("cs", image_shape=(1, 4, 4), ratio=ratio, sigma_y=sigma)
    y = pb.measure(G.generate(torch.randn(B, k, generator=g, dtype=D)), generator=g)
    return G, pb, y


@pytest.mark.parametrize("z_weight", [1.0, 0.0, 0.3])
@pytest.mark.parametrize("optimizer,opts,tol", [("lbfgs", dict(max_iter=100, tol=1e-14), 1e-8),
                                                ("adam", dict(lr=0.3, lr_decay=1e-4, max_iter=1000, tol=0), 1e-6)])
def test_linear_generator_matches_closed_form_map(z_weight, optimizer, opts, tol):
    G, pb, y = linear_setup()
    z_star = G.posterior(pb.operator.G, y, pb.sigma_y, z_weight)   # (W'A'AW/s² + w I)^-1 W'A'(y - Ab)/s²
    res = gp.solve(pb, y, "csgm", G, generator=torch.Generator().manual_seed(1), optimizer=optimizer,
                   z_weight=z_weight, **opts)
    assert (res.info["z"] - z_star).abs().max() < tol
    assert torch.allclose(res.x, G.generate(z_star), atol=10 * tol)
    assert res.x.shape == (3, 1, 4, 4) and res.x.dtype == D
    obj = [float(v) for v in res.info["objective"]]
    r = pb.operator.A(G.generate(z_star)) - y
    exact = (r ** 2).sum(1) / (2 * pb.sigma_y ** 2) + 0.5 * z_weight * (z_star ** 2).sum(1)
    assert torch.allclose(torch.tensor(obj, dtype=D), exact, rtol=1e-10)
    assert len(res.history["objective"]) == res.info["iterations"]


def test_bora_lambda_relation():
    """Bora et al.'s mean-loss (1/m)||A G(z) - y||² + λ||z||² has the minimiser of csgm with
    z_weight = m λ / σ_y² (the docstring's relation)."""
    G, pb, y = linear_setup()
    A, m, lam, s = pb.operator.G, pb.operator.G.shape[0], 0.1, pb.sigma_y
    AW = A @ G.W
    z_bora = torch.linalg.solve(AW.T @ AW / m + lam * torch.eye(4, dtype=D), ((y - G.b @ A.T) @ AW / m).T).T
    res = gp.solve(pb, y, "csgm", G, optimizer="lbfgs", z_weight=m * lam / s ** 2, max_iter=100, tol=1e-14,
                   generator=torch.Generator().manual_seed(0))
    assert (res.info["z"] - z_bora).abs().max() < 1e-8
    assert (z_bora - G.posterior(A, y, s, 1.0)).abs().max() > 0.1      # and it is not the MAP weight


def sigmoid_setup(B=3):
    g = torch.Generator().manual_seed(3)
    W, b = 2.0 * torch.randn(16, 3, generator=g, dtype=D), torch.randn(16, generator=g, dtype=D)
    G = SigmoidGenerator(W, b, (1, 4, 4))
    pb = gp.tasks.make("cs", image_shape=(1, 4, 4), ratio=0.5, sigma_y=0.02)
    x = G.generate(2 * torch.randn(B, 3, generator=g, dtype=D))
    return G, pb, x, pb.measure(x, generator=g)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_restarts_keep_the_best_objective_per_measurement(optimizer):
    G, pb, x, y = sigmoid_setup()
    B, R, it = 3, 5, 4
    res = gp.solve(pb, y, "csgm", G, generator=torch.Generator().manual_seed(7), restarts=R, max_iter=it, tol=0,
                   optimizer=optimizer, lr=0.05 if optimizer == "adam" else None)
    # the same R B starting latents, each restart run alone: the batch must not couple them
    z0 = torch.randn(R * B, 3, generator=torch.Generator().manual_seed(7), dtype=D).reshape(R, B, 3)
    per = []
    for r in range(R):
        single = gp.solve(pb, y, "csgm", G, z_init=z0[r], max_iter=it, tol=0, optimizer=optimizer,
                          lr=0.05 if optimizer == "adam" else None)
        per.append(torch.tensor(single.info["objective"], dtype=D))
    per = torch.stack(per)                           # (R, B)
    assert res.info["restart"] == per.argmin(0).tolist()
    assert torch.allclose(torch.tensor(res.info["objective"], dtype=D), per.min(0).values, rtol=1e-9)
    assert len(set(res.info["restart"])) > 1 or float(per.max() - per.min()) > 0   # restarts differ
    assert float((per.max(0).values - per.min(0).values).min()) > 1e-3


def test_three_measurements_three_reconstructions():
    G, pb, x, y = sigmoid_setup()
    res = gp.solve(pb, y, "csgm", G, generator=torch.Generator().manual_seed(0), restarts=4, optimizer="lbfgs",
                   max_iter=200)
    err = ((res.x[:, None] - x[None]) ** 2).flatten(2).sum(2)      # (reconstruction, truth)
    assert torch.equal(err.argmin(1), torch.arange(3))             # each closest to its own truth
    for i in range(3):
        for j in range(i + 1, 3):
            assert float((res.x[i] - res.x[j]).norm()) > 0.5
    assert float(err.diagonal().max()) < 0.05 * float((x ** 2).sum((1, 2, 3)).min())


def test_inits_zero_and_encode():
    G, pb, y = linear_setup()
    z_star = G.posterior(pb.operator.G, y, pb.sigma_y, 1.0)
    for init in ("zero", "encode"):
        res = gp.solve(pb, y, "csgm", G, init=init, optimizer="lbfgs", max_iter=100, tol=1e-14)
        assert (res.info["z"] - z_star).abs().max() < 1e-8 and res.info["init"] == init
    # one lbfgs iteration from z = 0 is deterministic: no generator needed, same answer twice
    a = gp.solve(pb, y, "csgm", G, init="zero", optimizer="lbfgs", max_iter=1)
    b = gp.solve(pb, y, "csgm", G, init="zero", optimizer="lbfgs", max_iter=1)
    assert torch.equal(a.x, b.x)


def test_float32_and_seeded():
    G, pb, y = linear_setup()
    y32 = y.float()
    a = gp.solve(pb, y32, "csgm", G, generator=torch.Generator().manual_seed(5), max_iter=50, restarts=2)
    b = gp.solve(pb, y32, "csgm", G, generator=torch.Generator().manual_seed(5), max_iter=50, restarts=2)
    assert a.x.dtype == torch.float32 and torch.equal(a.x, b.x) and a.nfe > 0


def test_capability_shape_and_divergence_errors():
    G, pb, y = linear_setup()
    with pytest.raises(TypeError, match="generate"):
        gp.solve(pb, y, "csgm", GaussianEnergy(torch.zeros(1, 4, 4)))
    with pytest.raises(TypeError, match="encode"):
        Gs, pbs, _, ys = sigmoid_setup()
        gp.solve(pbs, ys, "csgm", Gs, init="encode")
    with pytest.raises(ValueError, match="shape"):
        gp.solve(gp.tasks.make("cs", image_shape=(1, 5, 5), ratio=0.5), torch.zeros(3, 12, dtype=D), "csgm", G)
    with pytest.raises(ValueError, match="optimizer"):
        gp.solve(pb, y, "csgm", G, optimizer="sgd")
    with pytest.raises(TypeError, match="unknown options"):
        gp.solve(pb, y, "csgm", G, lam=0.1)

    class NaNGen(SigmoidGenerator):
        def generate(self, z):
            return super().generate(z) * torch.sqrt(z[:, :1, None, None] - 100)     # NaN for every z < 100
    Gn, pbn, _, yn = sigmoid_setup()
    with pytest.raises(FloatingPointError, match="csgm iteration 0"):
        gp.solve(pbn, yn, "csgm", NaNGen(Gn.W, Gn.b, (1, 4, 4)), generator=torch.Generator().manual_seed(0))
