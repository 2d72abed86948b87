"""ebm_map against the closed-form MAP of a Gaussian energy under a linear-Gaussian likelihood."""
import pytest
import torch

import genprior as gp
from genprior.priors import GaussianEnergy
from genprior.priors.base import Prior

D = torch.float64


def setup(task="cs", sigma=0.05, B=3, **opts):
    g = torch.Generator().manual_seed(2)
    Q = torch.linalg.qr(torch.randn(16, 16, generator=g, dtype=D))[0]
    cov = Q @ torch.diag(torch.linspace(0.005, 0.05, 16, dtype=D)) @ Q.T
    E = GaussianEnergy(0.5 + 0.1 * torch.randn(1, 4, 4, generator=g, dtype=D), cov)
    pb = gp.tasks.make(task, image_shape=(1, 4, 4), sigma_y=sigma, **opts)
    x = E.sample(B, generator=g, dtype=D)
    return E, pb, pb.measure(x, generator=g)


class GradOnly(Prior):
    """The energy without ``value`` and without a stated Lipschitz constant."""

    def __init__(self, E, caps=("grad",)):
        self.E, self.image_shape, self.capabilities = E, E.image_shape, frozenset(caps)

    def grad(self, x):
        return self.E.grad(x)


@pytest.mark.parametrize("optimizer,opts,tol", [("agd", dict(max_iter=3000, tol=1e-13), 1e-7),
                                                ("lbfgs", dict(max_iter=200, tol=1e-15), 1e-7),
                                                ("gd", dict(max_iter=3000, tol=1e-13), 1e-4),
                                                ("adam", dict(lr=0.01, max_iter=2000, tol=0), 1e-3)])
def test_gaussian_energy_map_closed_form(optimizer, opts, tol):
    E, pb, y = setup()
    x_star, _ = E.posterior(pb.operator.G, y, pb.sigma_y)      # (A'A/s² + S^-1)^-1 (A'y/s² + S^-1 mu)
    res = gp.solve(pb, y, "ebm_map", E, optimizer=optimizer, **opts)
    err = (res.x.reshape(3, -1) - x_star).abs().max()
    assert err < tol, (optimizer, float(err))
    assert res.x.shape == (3, 1, 4, 4)


def test_inpainting_and_estimated_lipschitz():
    E, pb, y = setup("inpaint_box", box_fraction=0.5)
    A = pb.operator.A(torch.eye(16, dtype=D).reshape(16, 1, 4, 4)).reshape(16, -1).T    # the mask as a matrix
    x_star, _ = E.posterior(A, y.reshape(3, -1), pb.sigma_y)
    res = gp.solve(pb, y, "ebm_map", GradOnly(E), max_iter=3000, tol=1e-13,
                   generator=torch.Generator().manual_seed(0))
    assert res.info["L_prior_source"] == "estimate"
    assert 0.5 * E.lipschitz <= res.info["L_prior"] <= 1.01 * E.lipschitz
    assert (res.x.reshape(3, -1) - x_star).abs().max() < 1e-7
    assert "objective" not in res.info          # no value: nothing to report


def test_ebm_map_errors():
    E, pb, y = setup()
    with pytest.raises(TypeError, match="grad"):
        gp.solve(pb, y, "ebm_map", GradOnly(E, caps=("value",)))
    with pytest.raises(TypeError, match="value"):
        gp.solve(pb, y, "ebm_map", GradOnly(E), optimizer="lbfgs")
    with pytest.raises(ValueError, match="shape"):
        gp.solve(pb, y, "ebm_map", GaussianEnergy(torch.zeros(1, 5, 5)))

    class Exploding(GradOnly):
        def grad(self, x):
            return self.E.grad(x) * 1e200 * 1e200       # inf -> inf - inf = NaN in the step
    with pytest.raises(FloatingPointError, match="ebm_map iteration 0"):
        gp.solve(pb, y, "ebm_map", Exploding(E), generator=torch.Generator().manual_seed(0))


def test_autograd_energy_under_solve_no_grad_and_float32():
    """An EBM whose grad is an autograd call (as a trained E_θ's is) works inside gp.solve's no_grad;
    float32 reaches the float64 closed form to float32 accuracy."""
    E, pb, y = setup()

    class AutogradEnergy(Prior):
        capabilities = frozenset({"value", "grad"})
        image_shape = (1, 4, 4)
        lipschitz = E.lipschitz

        def value(self, x):
            return E.value(x)

        def grad(self, x):
            x = x.detach().requires_grad_(True)
            g, = torch.autograd.grad(self.value(x).sum(), x)
            return g
    x_star, _ = E.posterior(pb.operator.G, y, pb.sigma_y)
    res = gp.solve(pb, y.float(), "ebm_map", AutogradEnergy(), max_iter=3000, tol=1e-7)
    assert res.x.dtype == torch.float32
    assert (res.x.reshape(3, -1).double() - x_star).abs().max() < 1e-4
    assert len(res.history["objective"]) == res.info["iterations"]
