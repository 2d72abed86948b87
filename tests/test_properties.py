"""Property-based tests of the front door (hypothesis): over task options, method options and corrupted
measurements, every call either returns a finite result of the right shape or raises ValueError /
TypeError with a message — never a silent wrong answer, never an unrelated error from deep inside.

Derandomized (the same examples on every run) and sized to stay under ~20 s on one CPU thread; the
last test checks how many cases each property tried (``CASES``).
"""
import dataclasses
import math
from collections import Counter

import pytest
import torch

import genprior as gp
from genprior._checks import annotations_of

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SETTINGS = settings(max_examples=150, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
FEWER = settings(SETTINGS, max_examples=100)
CASES: Counter = Counter()            # property -> (examples run, of which raised a clear error)
ERRORS: list = []                     # the messages, for reading (pytest -s prints a sample)

SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -1.0, 1e-12]
JUNK = st.one_of(st.text(max_size=3), st.booleans(), st.none(), st.just([1, 2]))


def _clear_error(e: Exception) -> bool:
    return isinstance(e, (ValueError, TypeError)) and len(str(e)) > 5


def outcome(name: str, fn, check):
    """Run ``fn``; a result goes through ``check``, an error must be a clear ValueError/TypeError."""
    CASES[name, "run"] += 1
    try:
        res = fn()
    except (ValueError, TypeError) as e:
        CASES[name, "error"] += 1
        ERRORS.append(f"{name}: {type(e).__name__}: {e}")
        assert _clear_error(e), f"{type(e).__name__} without a useful message: {e!r}"
        return None
    check(res)
    return res


def value_for(annotation, name: str):
    """Values of the right type (valid and out of range), of the wrong type, and non-finite ones."""
    text = str(annotation)
    small_int = st.integers(-2, 6)
    num = st.one_of(st.floats(-1.0, 3.0, allow_nan=False), st.sampled_from(SPECIAL), st.integers(-1, 3))
    if annotation is int or text == "int | None":
        return st.one_of(small_int, small_int, small_int, st.floats(-1, 6), JUNK)
    if annotation is bool:
        return st.one_of(st.booleans(), st.booleans(), st.booleans(), JUNK)
    if annotation is str or "str" in text and "float" not in text:
        return st.one_of(st.sampled_from(["edm", "vp", "ve", "vp_cosine", "admm", "pdhg", "fista", "identity",
                                          "gradient", "laplacian", "ula", "mala", "ramp", "bogus", ""]), JUNK)
    if "Tensor" in text:
        return st.one_of(st.none(), st.just("tensor"), st.just("nan-tensor"), st.just("wrong-tensor"))
    if "float" in text:
        return st.one_of(st.floats(0.0, 2.0, allow_nan=False), num, num, JUNK)
    return st.none()


ITERATION_FIELDS = {"max_iter", "iters", "steps", "cg_iters", "pinv_iters", "burn_in", "ode_steps",
                    "langevin_steps"}


def options_strategy(method: str):
    """A dict of options for ``method``: iteration counts always drawn small (the run stays fast),
    any subset of the others drawn from ``value_for``."""
    opts_cls = gp.solvers.method_info(method).options
    hints = annotations_of(opts_cls)
    fixed, optional = {}, {}
    for f in dataclasses.fields(opts_cls):
        ann = hints.get(f.name, f.type)
        if f.name in ITERATION_FIELDS:
            fixed[f.name] = st.one_of(st.integers(-1, 5), st.integers(1, 5), st.sampled_from([2.5, "3", True]))
        elif f.name not in ("hqs", "dc", "dc_options", "z_init"):
            optional[f.name] = value_for(ann, f.name)
    return st.fixed_dictionaries(fixed, optional=optional)


def materialise(opts: dict, x_shape) -> dict:
    out = {}
    for k, v in opts.items():
        if v == "tensor":
            v = torch.full((1, *x_shape), 0.5)
        elif v == "nan-tensor":
            v = torch.full((1, *x_shape), math.nan)
        elif v == "wrong-tensor":
            v = torch.zeros(1, 2, 3)
        out[k] = v
    return out


# ---------------------------------------------------------------------------------------------- tasks

def task_options(name: str):
    """Options of the named task: each annotated option drawn from valid values, out-of-range ones,
    wrong types and non-finite numbers (integers kept small: no huge operators)."""
    import inspect
    hints = annotations_of(gp.tasks.TASKS.get(name))
    params = [p for p in inspect.signature(gp.tasks.TASKS.get(name)).parameters if p != "image_shape"]
    strategies = {}
    for p in params:
        ann = hints.get(p)
        if p in ("padding",):
            strategies[p] = st.sampled_from(["circular", "valid", "same"])
        elif p in ("kernel",):
            strategies[p] = st.sampled_from(["average", "bicubic", "gauss"])
        elif p in ("matrix",):
            strategies[p] = st.sampled_from(["gaussian", "structured", "random"])
        elif ann is int or str(ann) == "int | None":
            strategies[p] = st.one_of(st.integers(-2, 12), st.sampled_from([2.5, "16", True, None]))
        else:
            strategies[p] = st.one_of(st.floats(-0.5, 6.0, allow_nan=False), st.sampled_from(SPECIAL),
                                      st.sampled_from(["0.3", None, True]))
    return st.fixed_dictionaries({}, optional=strategies)


@st.composite
def task_cases(draw):
    name = draw(st.sampled_from(gp.tasks.names()))
    shape = (draw(st.sampled_from([1, 1, 3])), draw(st.sampled_from([8, 12, 16])), draw(st.sampled_from([8, 16])))
    sigma = draw(st.one_of(st.floats(0.0, 0.3), st.sampled_from([math.nan, math.inf, -0.1, 0])))
    return name, shape, sigma, draw(task_options(name))


@SETTINGS
@given(task_cases())
def test_tasks_build_and_measure_or_raise_clearly(case):
    name, shape, sigma, opts = case

    def run():
        p = gp.tasks.make(name, shape, sigma_y=sigma, **opts)
        return p, p.measure(torch.rand(2, *shape, generator=torch.Generator().manual_seed(0)),
                            generator=torch.Generator().manual_seed(1))

    def check(res):
        p, y = res
        assert tuple(y.shape) == (2, *p.y_shape) and bool(torch.isfinite(y).all())
        assert math.isfinite(p.sigma_y) and p.sigma_y >= 0
    outcome("tasks", run, check)


# ------------------------------------------------------------------------------------ method options

CLASSICAL = ["mle", "tikhonov", "tv", "wavelet", "dct", "red", "nlm", "pnp_hqs", "pnp_admm"]
DIFFUSION = ["dds", "dps"]


@pytest.fixture(scope="module")
def problem():
    p = gp.tasks.make("deblur_gauss", (1, 16, 16), sigma_y=0.05)
    x = gp.data.phantoms(1, 16, generator=torch.Generator().manual_seed(0))
    return p, p.measure(x, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def gmm():
    """A two-component Gaussian mixture on 16² images: an exact, cheap diffusion prior."""
    means = torch.full((2, 1, 16, 16), 0.5) + torch.tensor([-0.2, 0.2]).reshape(2, 1, 1, 1)
    return gp.priors.GaussianMixture(means, None, 0.05, dtype=torch.float32)


def _check_result(shape):
    def check(r):
        assert tuple(r.x.shape) == shape, r.x.shape
        assert bool(torch.isfinite(r.x).all()), "a non-finite reconstruction was returned"
    return check


@st.composite
def method_cases(draw, methods):
    m = draw(st.sampled_from(methods))
    return m, draw(options_strategy(m))


@FEWER
@given(case=method_cases(CLASSICAL))
def test_classical_method_options(problem, case):
    p, y = problem
    method, opts = case
    outcome("classical methods", lambda: gp.solve(p, y, method, **materialise(opts, p.x_shape)),
            _check_result(tuple(y.shape)))


@SETTINGS
@given(case=method_cases(DIFFUSION))
def test_diffusion_method_options(problem, gmm, case):
    p, y = problem
    method, opts = case
    opts = materialise(opts, p.x_shape)
    outcome("diffusion methods", lambda: gp.solve(p, y, method, prior=gmm, generator=torch.Generator().manual_seed(0),
                                                  **opts), _check_result(tuple(y.shape)))


@pytest.mark.parametrize("method, options", [("pnp_hqs", {"iters": -1}), ("pnp_hqs", {"lam": 0.0}),
                                             ("pnp_admm", {"sigma_d": 0.0})])
def test_pnp_options_are_range_checked(problem, method, options):
    p, y = problem
    with pytest.raises((ValueError, TypeError)):
        gp.solve(p, y, method, **options)


# ---------------------------------------------------------------------------------- bad measurements

@st.composite
def corruptions(draw):
    kind = draw(st.sampled_from(["nan", "inf", "-inf", "shape", "ndim", "batch0", "int", "half", "complex",
                                 "list", "numpy", "none"]))
    where = draw(st.tuples(st.integers(0, 15), st.integers(0, 15)))
    return kind, where


def corrupt(y: torch.Tensor, kind: str, where):
    y = y.clone()
    i, j = where
    if kind in ("nan", "inf", "-inf"):
        y[0, 0, i % y.shape[2], j % y.shape[3]] = float(kind)
        return y
    return {"shape": lambda: y[..., :-1], "ndim": lambda: y[0], "batch0": lambda: y[:0],
            "int": lambda: y.to(torch.int64), "half": lambda: y.half(), "complex": lambda: y.to(torch.complex64),
            "list": lambda: y.tolist(), "numpy": lambda: y.numpy(), "none": lambda: None}[kind]()


@FEWER
@given(method=st.sampled_from(["mle", "tv", "fbp", "tikhonov", "dds"]), task=st.sampled_from(["ct", "deblur_gauss"]),
       bad=corruptions())
def test_corrupted_measurements_are_refused(gmm, method, task, bad):
    """Every corruption here is invalid: a clear ValueError/TypeError, never a result."""
    if method == "fbp" and task != "ct":
        method = "mle"
    p = gp.tasks.make(task, (1, 16, 16), sigma_y=0.05, **({"n_angles": 8} if task == "ct" else {}))
    y = p.measure(torch.rand(1, 1, 16, 16, generator=torch.Generator().manual_seed(0)))
    yb = corrupt(y, *bad)
    prior = gmm if method == "dds" else None
    CASES["corrupted measurements", "run"] += 1
    with pytest.raises((ValueError, TypeError)) as e:
        gp.solve(p, yb, method, prior=prior, **({"steps": 2} if method == "dds" else {}))
    assert len(str(e.value)) > 5
    CASES["corrupted measurements", "error"] += 1


def test_how_many_cases_were_tried():
    """Each property ran its examples (hypothesis may stop early only when it runs out of distinct
    ones); the counts are printed with ``pytest -s``."""
    runs = {k[0]: v for k, v in CASES.items() if k[1] == "run"}
    if not runs:
        pytest.skip("run with the property tests above")
    print("\nproperty cases tried (run / raised a clear error): " +
          ", ".join(f"{k} {v} / {CASES[k, 'error']}" for k, v in runs.items()))
    for line in sorted(set(ERRORS))[::7]:
        print("  " + line[:160])
    assert all(v >= 20 for v in runs.values()), runs
    assert sum(runs.values()) >= 150
    # both branches are exercised: valid inputs that ran, invalid ones that were refused
    assert all(0 < CASES[k, "error"] < v for k, v in runs.items() if k != "corrupted measurements"), CASES
