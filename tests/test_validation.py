"""Issue 10's validation gaps: each one a clear ValueError / TypeError (each test failed before the fix:
the input was accepted, or failed deep inside with an unrelated error)."""
import math
import warnings

import pytest
import torch

import genprior as gp
from genprior._checks import check_option


@pytest.fixture
def denoise16(gen):
    p = gp.tasks.make("denoise", (1, 16, 16), sigma_y=0.1)
    return p, p.measure(torch.rand(1, 1, 16, 16, generator=gen), generator=gen)


@pytest.fixture
def gmm16():
    return gp.priors.GaussianMixture(torch.zeros(1, 1, 16, 16), None, 0.1, dtype=torch.float32)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, -0.1])
def test_sigma_y_must_be_finite_and_nonnegative(bad):
    with pytest.raises(ValueError, match="sigma_y"):
        gp.tasks.make("denoise", (1, 8, 8), sigma_y=bad)
    with pytest.raises(ValueError, match="sigma_y"):
        gp.InverseProblem(gp.operators.Identity((1, 8, 8)), bad)
    with pytest.raises(TypeError, match="sigma_y"):
        gp.tasks.make("denoise", (1, 8, 8), sigma_y="0.1")


@pytest.mark.parametrize("value, error", [(2.5, TypeError), ("16", TypeError), (True, TypeError), (16.0, TypeError),
                                          (0, ValueError)])
def test_task_counts_must_be_integers(value, error):
    with pytest.raises(error, match="n_angles"):
        gp.tasks.make("ct", (1, 16, 16), n_angles=value)


def test_task_float_options_must_be_finite_numbers():
    for bad in (math.inf, math.nan):
        with pytest.raises(ValueError, match="'std' must be finite"):
            gp.tasks.make("deblur_gauss", (1, 16, 16), std=bad)
    with pytest.raises(TypeError, match="'keep' must be a number"):
        gp.tasks.make("inpaint_random", (1, 16, 16), keep="0.3")
    assert gp.tasks.make("deblur_gauss", (1, 16, 16), std=2).options == {"std": 2}   # an int is a fine float


@pytest.mark.parametrize("factor, match", [(0, "factor must be >= 1"), (-2, "factor must be >= 1"),
                                           (3, "must divide"), (2.0, "must be an integer")])
def test_sr_factor(factor, match):
    with pytest.raises((ValueError, TypeError), match=match):
        gp.tasks.make("sr4", (1, 16, 16), factor=factor)
    assert gp.tasks.make("sr4", (1, 16, 16), factor=2).y_shape == (1, 8, 8)


@pytest.mark.parametrize("shape, error", [((1, 0, 8), ValueError), ((1, -4, 8), ValueError),
                                          ((1, 8.5, 8), TypeError), ((1, 8), ValueError)])
def test_image_shape_must_be_positive_integers(shape, error):
    with pytest.raises(error, match="image_shape"):
        gp.tasks.make("denoise", shape)


@pytest.mark.parametrize("size, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), ((0, 8), ValueError)])
def test_image_size_must_be_positive(size, error):
    with pytest.raises(error, match="size"):
        gp.data.image("camera", size)


@pytest.mark.parametrize("options, error, match", [
    ({"num_samples": 2.5}, TypeError, "'num_samples' must be an integer"),
    ({"steps": "50"}, TypeError, "'steps' must be an integer"),
    ({"steps": True}, TypeError, "'steps' must be an integer"),
    ({"zeta": -0.1}, ValueError, "zeta must be finite and >= 0"),
    ({"zeta": math.inf}, ValueError, "'zeta' must be finite"),
    ({"zeta": math.nan}, ValueError, "'zeta' must be finite"),
    ({"sigma_min": 2.0, "sigma_max": 1.0}, ValueError, "sigma_min .* must be below sigma_max"),
    ({"sigma_max": -1.0}, ValueError, "sigma_max must be finite and > 0"),
    ({"schedule": 3}, TypeError, "'schedule' must be str"),
])
def test_dps_options_are_checked(denoise16, gmm16, options, error, match):
    p, y = denoise16
    with pytest.raises(error, match=match):
        gp.solve(p, y, "dps", prior=gmm16, **options)


def test_method_float_options_reject_non_finite_and_wrong_types(denoise16):
    p, y = denoise16
    with pytest.raises(ValueError, match="method 'mle' option 'tol' must be finite"):
        gp.solve(p, y, "mle", tol=math.nan)
    with pytest.raises(ValueError, match="method 'tv' option 'lam' must be finite"):
        gp.solve(p, y, "tv", lam=math.inf)
    with pytest.raises(TypeError, match="'isotropic' must be True or False"):
        gp.solve(p, y, "tv", isotropic="yes")
    with pytest.raises(TypeError, match="'x_init' must be Tensor or None"):
        gp.solve(p, y, "tv", x_init=[0.0])
    with pytest.raises(TypeError, match="progress"):
        gp.solve(p, y, "mle", progress="no")


def test_nested_options_from_a_dict(denoise16):
    """``hqs={"iters": 2}`` (what the CLI and a JSON file can say) builds the nested options dataclass."""
    p, y = denoise16
    blur = gp.tasks.make("deblur_gauss", (1, 16, 16), sigma_y=0.05)
    yb = blur.measure(torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(1)))
    a = gp.solve(blur, yb, "nlm", hqs={"iters": 2})
    b = gp.solve(blur, yb, "nlm", hqs=gp.solvers.map.pnp.PnPHQSOptions(iters=2))
    assert torch.equal(a.x, b.x)
    with pytest.raises(TypeError, match="hqs.*unknown options"):
        gp.solve(blur, yb, "nlm", hqs={"iterations": 2})
    with pytest.raises(TypeError, match="'iters' must be an integer"):
        gp.solve(blur, yb, "nlm", hqs={"iters": 2.5})


def test_a_prior_given_by_name_is_loaded(denoise16):
    p, y = denoise16
    a = gp.solve(p, y, "pnp_hqs", prior="nlm", iters=2)
    b = gp.solve(p, y, "pnp_hqs", prior=gp.priors.load("nlm"), iters=2)
    assert torch.equal(a.x, b.x)
    with pytest.raises(KeyError, match="unknown prior 'nlmm'"):
        gp.solve(p, y, "pnp_hqs", prior="nlmm")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gp.solve(p, y, "dps", prior="runs/no-such-prior")


def test_a_prior_that_the_method_ignores_warns(denoise16, gmm16):
    p, y = denoise16
    with pytest.warns(UserWarning, match="method 'mle' does not use a prior"):
        gp.solve(p, y, "mle", prior=gmm16)
    with pytest.warns(UserWarning, match="method 'tv' does not use a prior"):
        gp.solve(p, y, "tv", prior="tv", max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gp.solve(p, y, "pnp_hqs", prior="nlm", iters=1)         # an optional denoiser: used, no warning
        gp.solve(p, y, "dps", prior=gmm16, steps=2)
    used = {n for n in gp.solvers.names() if gp.solvers.method_info(n).uses_prior}
    assert {"pnp_hqs", "pnp_admm", "red", "langevin", "dps", "csgm"} <= used
    assert not used & {"mle", "fbp", "tv", "wavelet", "dct", "tikhonov", "nlm", "bm3d", "lowrank"}


def test_check_option_rules():
    from typing import Literal
    assert check_option(3, int, "n") == 3
    for bad in (3.0, "3", True, None):
        with pytest.raises(TypeError, match="n must be an integer"):
            check_option(bad, int, "n")
    assert check_option(2, float, "x") == 2 and check_option(0.5, float | None, "x") == 0.5
    assert check_option(None, float | None, "x") is None
    with pytest.raises(ValueError, match="x must be finite"):
        check_option(math.inf, float | None, "x")
    with pytest.raises(TypeError, match="x must be float or None"):
        check_option("auto", float | None, "x")
    assert check_option("auto", float | str | None, "x") == "auto"
    with pytest.raises(ValueError, match=r"one of \['a', 'b'\]"):
        check_option("c", Literal["a", "b"], "k")
    with pytest.raises(ValueError, match="NaN"):
        check_option(torch.tensor([math.nan]), torch.Tensor, "t")
    assert check_option(object(), "SomeUnresolvedName", "u") is not None       # unresolvable: not checked
