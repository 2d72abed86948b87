"""The suites of the later families (generative, few_step, amortized), the gmm suite's pinned options,
and the `grid` key of [[methods]] (one labelled method per combination of option values)."""
import textwrap
from collections import Counter
from pathlib import Path

import pytest

import genprior as gp
from genprior.bench import runner, suite
from genprior.bench.suite import SuiteError

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
AMORTIZED = ("amortized-sr4-fashion28", "amortized-sr4-fashion28-mmse", "amortized-ct16-phantom64",
             "amortized-ct16-phantom64-mmse")


def by_entry(cells):
    return Counter((c.spec["task"]["label"], c.spec["method"]["label"], c.spec["prior"]) for c in cells)


def test_generative_suite_plan():
    cells = runner.plan(suite.load("generative"))
    # Fashion: 3 tasks x (tv, csgm GAN, csgm VAE, flow_map, ebm_map, langevin) x 4 images;
    # phantoms: ct, mri x (tv, csgm gan-phantom64) x 4 images
    assert len(cells) == 3 * 6 * 4 + 2 * 2 * 4
    assert set(by_entry(cells).values()) == {4}
    priors = {c.spec["prior"] for c in cells} - {None}
    assert priors == {"gan-fashion28", "vae-fashion28", "flow-fashion28", "ebm-fashion28", "gan-phantom64"}
    assert priors <= set(gp.priors.shipped())
    for c in cells:     # every prior only on images of its own domain and size
        if c.spec["prior"]:
            assert c.spec["image_set"] == ("fashion28" if "fashion" in c.spec["prior"] else "phantoms64")
    # the suite's num_samples reaches the sampler only: langevin 32 draws, the MAP methods one
    ns = {c.spec["method"]["name"]: c.spec["num_samples"] for c in cells}
    assert ns == {"tv": 1, "csgm": 1, "flow_map": 1, "ebm_map": 1, "langevin": 32}


@pytest.mark.parametrize("name", ["generative", "few_step"])
def test_family_suites_pair_methods_with_capable_priors(name):
    """What each method needs (gp.solvers.method_info(..).needs) the prior it is paired with has."""
    s = suite.load(name)
    for m in s.methods:
        needs = gp.solvers.method_info(m.name).needs
        for p in m.priors:
            if p is None:
                continue
            prior = gp.priors.load(p)
            missing = [n for n in needs if n not in prior.capabilities]
            assert not missing, (m.name, p, missing)


def test_few_step_suite_plan():
    cells = runner.plan(suite.load("few_step"))
    assert len(cells) == 6 * 6 * 4                  # 6 tasks x (dmplug x 2, csgm, dps, dds, pigdm) x 4 images
    prior_of = {c.spec["method"]["label"]: c.spec["prior"] for c in cells}
    assert prior_of == {"dmplug": "consistency-fashion28", "dmplug_ddim": "diffusion-fashion28",
                        "csgm": "consistency-fashion28", "dps": "diffusion-fashion28", "dds": "diffusion-fashion28",
                        "pigdm": "diffusion-fashion28"}
    gammas = {c.spec["task"]["name"]: c.spec["method"]["options"]["gamma"] for c in cells
              if c.spec["method"]["name"] == "dds"}
    assert gammas == {"ct": 1.0, "mri": 100.0, "inpaint_random": 100.0, "sr4": 100.0, "deblur_gauss": 100.0,
                      "cs": 100.0}


def test_amortized_suite_parses_before_its_checkpoints_ship():
    s = suite.load("amortized", check_names=False)
    cells = runner.plan(s)
    # sr4 x 2 (trained, σ_y x2) on Fashion, ct x 3 (trained, σ_y x2, 32 angles) on phantoms;
    # each: sampler + regressor + dps + pigdm + tv, 4 images
    assert len(cells) == (2 + 3) * 5 * 4
    for c in cells:
        shifted = c.spec["task"]["label"] not in ("sr4", "ct")
        if c.spec["method"]["name"] == "amortized":
            assert c.spec["method"]["options"].get("allow_mismatch", False) is shifted
            assert c.spec["num_samples"] == 8
    assert {c.spec["prior"] for c in cells if c.spec["method"]["name"] == "amortized"} == set(AMORTIZED)
    missing = [p for p in AMORTIZED if p not in gp.priors.names()]
    if missing:
        with pytest.raises(SuiteError, match="unknown prior 'amortized-"):
            suite.load("amortized")
        pytest.skip(f"amortized checkpoints not shipped yet: {missing}")
    assert len(runner.plan(suite.load("amortized"))) == len(cells)


def test_gmm_suite_pins_the_constant_step_of_its_tuned_zeta():
    """DPS/MCG's zeta = 8 was tuned for the constant step on the EDM grid, DiffPIR ran with zeta 0.3:
    the suite spells these out now that the defaults differ (variance weighting, VP grid, zeta by
    operator kind), and runs the 27 problems of benchmarks/gmm/gmm_posterior.json."""
    s = suite.load("gmm")
    opts = {m.name: m.options for m in s.methods}
    for name in ("dps", "mcg"):
        assert opts[name] == {"steps": 100, "zeta": 8.0, "weighting": "constant", "schedule": "edm"}
    assert opts["diffpir"]["zeta"] == 0.3
    assert s.seeds == (0, 1, 2) and s.num_samples == 1000 and s.dtype == "float64"
    assert len(runner.plan(s)) == 9 * 10 * 3


# ------------------------------------------------------------------------------------------- grid

GRID = """
[suite]
name = "g"
seeds = [0]
imports = ["my_bench_method_grid"]

[images]
dataset = "images"
names = ["camera", "moon"]
size = 16

[[tasks]]
name = "denoise"
sigma_y = 0.1

[[tasks]]
name = "deblur_gauss"
options = { std = 1.0 }

[[methods]]
name = "scaled_adjoint"
grid = { factor = [0.0, 0.5, 1.0] }
tasks = ["denoise"]

[[methods]]
name = "tv"
options = { max_iter = 5 }
grid = { lam = [0.01, 0.1], tol = [1e-3, 1e-4] }
"""

METHOD = """
from dataclasses import dataclass
import genprior as gp

@dataclass
class ScaledOptions:
    factor: float = 1.0

@gp.solvers.register("scaled_adjoint", ScaledOptions)
def scaled(problem, y, prior, opts, generator, progress):
    return gp.Result(x=opts.factor * problem.operator.apply_adjoint(y))
"""


@pytest.fixture
def grid_suite(tmp_path, monkeypatch):
    (tmp_path / "my_bench_method_grid.py").write_text(textwrap.dedent(METHOD))
    monkeypatch.syspath_prepend(str(tmp_path))
    p = tmp_path / "g.toml"
    p.write_text(GRID)
    return p


def test_grid_expands_into_labelled_methods(grid_suite):
    s = suite.load(grid_suite)
    labels = [m.label for m in s.methods]
    assert labels == ["scaled_adjoint[factor=0]", "scaled_adjoint[factor=0.5]", "scaled_adjoint[factor=1]",
                      "tv[lam=0.01,tol=0.001]", "tv[lam=0.01,tol=0.0001]", "tv[lam=0.1,tol=0.001]",
                      "tv[lam=0.1,tol=0.0001]"]
    assert s.methods[4].options == {"max_iter": 5, "lam": 0.01, "tol": 1e-4}
    cells = runner.plan(s)
    # denoise: (3 + 4) methods x 2 images; deblur: 4 tv variants x 2 images
    assert len(cells) == 7 * 2 + 4 * 2
    assert len({c.key for c in cells}) == len(cells)


def test_grid_runs_each_value(grid_suite, tmp_path):
    """Each variant gets its own value: x = factor Aᵀy with A = I has relative residual |1 - factor|."""
    out = tmp_path / "out"
    summary = runner.run(grid_suite, out, progress=False)
    assert summary["errors"] == 0 and summary["left"] == 0
    rows = [r for r in runner.load_results(out) if r["method_name"] == "scaled_adjoint"]
    assert len(rows) == 6
    for r in rows:
        assert r["residual"] == pytest.approx(abs(1.0 - r["method_options"]["factor"]), abs=1e-6)
    tv = {r["method"] for r in runner.load_results(out) if r["method_name"] == "tv"}
    assert len(tv) == 4


@pytest.mark.parametrize("edit, message", [
    (("grid = { factor = [0.0, 0.5, 1.0] }", "grid = { factor = [] }"), "grid.factor is an empty list"),
    (("grid = { factor = [0.0, 0.5, 1.0] }", "grid = {}"), "grid is empty"),
    (("grid = { factor = [0.0, 0.5, 1.0] }", "grid = { factor = 0.5 }"), "grid.factor must be list"),
    (("grid = { factor = [0.0, 0.5, 1.0] }", "grid = { factor = [0.5, 0.5] }"), "repeats a value"),
    (("grid = { factor = [0.0, 0.5, 1.0] }", "grid = { factr = [0.5] }"), "has no option(s) ['factr']"),
    (("options = { max_iter = 5 }", "options = { max_iter = 5, lam = 1.0 }"), "in both `options` and `grid`"),
    (("options = { max_iter = 5 }", "per_task = { denoise = { lam = 1.0 } }"), "in both `grid` and per_task"),
])
def test_bad_grids_raise(grid_suite, edit, message):
    old, new = edit
    assert old in GRID
    grid_suite.write_text(GRID.replace(old, new, 1))
    with pytest.raises(SuiteError) as e:
        suite.load(grid_suite)
    assert message in str(e.value)


def test_tuning_suite_with_a_grid():
    """benchmarks/tuning/tune_diffpir_zeta.toml (the example of a sweep as a suite) parses: 4 zetas x
    6 tasks x 2 validation images per prior."""
    s = suite.load(BENCH / "tuning" / "tune_diffpir_zeta.toml")
    cells = runner.plan(s)
    assert len(cells) == 2 * 4 * 6 * 2
    zetas = Counter(c.spec["method"]["options"]["zeta"] for c in cells)
    assert zetas == {0.03: 24, 0.1: 24, 0.3: 24, 1.0: 24}
    assert {c.spec["method"]["label"] for c in cells} == {f"diffpir[zeta={z}]" for z in ("0.03", "0.1", "0.3", "1")}
    # validation images only: the last two Fashion-MNIST test images, phantoms from seed 20000
    assert {c.spec["image"] for c in cells if c.spec["image_set"] == "fashion28_val"} == {"test[9998]", "test[9999]"}
    assert {c.spec["image_source"]["seed"] for c in cells if c.spec["image_set"] == "phantoms64_val"} == {20000}


def test_gmm_cells_share_their_problem_and_equal_a_fresh_computation(tmp_path):
    """The runner makes each mixture problem and its exact reference samples once per process; every
    row still equals the computation from scratch (problem, method, references, sliced W2)."""
    import torch

    from genprior.bench.problems import gmm_problem
    p = tmp_path / "gmm.toml"
    p.write_text(textwrap.dedent("""
        [suite]
        seeds = [0, 1]
        num_samples = 100
        dtype = "float64"
        [[tasks]]
        name = "gmm8"
        problem = "gmm"
        options = { d_x = 8, d_y = 2, directions = 30 }
        [[methods]]
        name = "ddrm"
        options = { steps = 10 }
        [[methods]]
        name = "dds"
        options = { steps = 10 }
    """))
    runner.run(p, tmp_path / "out", progress=False)
    rows = runner.load_results(tmp_path / "out")
    assert len(rows) == 4 and not any("error" in r for r in rows)

    def sw(a, b):
        return float(gp.metrics.sliced_wasserstein(a, b, 30, generator=torch.Generator().manual_seed(7)))
    for r in rows:
        prior, problem, y, post = gmm_problem(8, 2, r["seed"])
        g = torch.Generator().manual_seed(10_000 + r["seed"])
        ref, ref2 = post.sample_exact(100, generator=g), post.sample_exact(100, generator=g)
        res = gp.solve(problem, y, method=r["method_name"], prior=prior, num_samples=100, steps=10,
                       generator=torch.Generator().manual_seed(r["seed"]))
        assert r["sliced_w2_floor"] == sw(ref2, ref)
        assert r["sliced_w2"] == sw(res.samples[:, 0], ref)
    # the report does not show the suite's nominal σ_y for mixture tasks (each problem draws its own)
    from genprior.bench.report import write
    page = Path(write(tmp_path / "out")).read_text()
    assert "σ_y drawn per problem" in page and "σ_y = 0.01" not in page
