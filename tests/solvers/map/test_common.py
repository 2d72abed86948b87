"""The operator kinds behind the lambda tables, the default lambda, the smooth start."""
import pytest
import torch

import genprior as gp
from genprior.solvers.map import sparsity, tv
from genprior.solvers.map.common import ResidualHistory, default_lam, operator_kind, smooth_init

KIND = {"denoise": "identity", "deblur_gauss": "blur_symmetric", "deblur_motion": "blur", "sr4": "downsampling",
        "inpaint_box": "box_inpainting", "inpaint_random": "scattered_inpainting", "cs": "random_projection",
        "ct": "tomography", "mri": "fourier_sampling"}

# the scales the tables held when they were keyed by task name (before the operator kinds)
BY_TASK = {
    "tv": {"default": 0.1, "denoise": 0.3, "inpaint_box": 0.3, "ct": 1.0, "mri": 0.3},
    "wavelet": {"default": 0.3, "deblur_gauss": 0.03, "deblur_motion": 0.1, "sr4": 0.1},
    "wavelet_orthogonal": {"default": 0.3, "denoise": 1.0, "inpaint_box": 0.003, "inpaint_random": 0.0003,
                           "cs": 0.001, "mri": 0.0003},
    "dct": {"default": 0.3, "sr4": 0.1, "inpaint_box": 0.01, "inpaint_random": 0.0003, "cs": 0.0003, "mri": 0.0003},
}


def test_every_task_has_its_operator_kind():
    assert sorted(KIND) == gp.tasks.names()
    for task, kind in KIND.items():
        assert operator_kind(gp.tasks.make(task, (1, 16, 16)).operator) == kind, task


@pytest.mark.parametrize("task,opts,kind", [("deblur_gauss", {"padding": "valid"}, "blur_symmetric"),
                                            ("deblur_motion", {"padding": "valid"}, "blur"),
                                            ("cs", {"matrix": "structured"}, "random_projection"),
                                            ("mri", {"coils": 2}, "fourier_sampling"),
                                            ("inpaint_random", {"keep": 1.0}, "identity"),
                                            ("sr4", {"kernel": "bicubic"}, "downsampling")])
def test_task_variants_keep_their_kind(task, opts, kind):
    assert operator_kind(gp.tasks.make(task, (1, 16, 16), **opts).operator) == kind


def test_user_built_problems_get_the_defaults_of_their_operator():
    mask = torch.ones(1, 16, 16)
    mask[:, 3:9, 4:12] = 0
    box = gp.InverseProblem(gp.operators.Inpainting(mask, (1, 16, 16)), 0.02)        # no task name
    assert operator_kind(box.operator) == "box_inpainting"
    assert default_lam(tv.LAM_SCALE, box, None) == pytest.approx(0.3 * 0.02)
    mat = gp.InverseProblem(gp.operators.Matrix(torch.eye(3)), 0.0)
    assert operator_kind(mat.operator) == "default"
    assert default_lam(tv.LAM_SCALE, mat, None) == pytest.approx(0.1 * 1e-3)   # the SIGMA_FLOOR
    assert default_lam(tv.LAM_SCALE, mat, 0.25) == 0.25
    with pytest.raises(ValueError, match="lam"):
        default_lam(tv.LAM_SCALE, mat, -1.0)


@pytest.mark.parametrize("table", sorted(BY_TASK))
def test_tables_give_the_scales_once_keyed_by_task_name(table):
    new = tv.LAM_SCALE if table == "tv" else sparsity.LAM_SCALE[table]
    for task in gp.tasks.names():
        p = gp.tasks.make(task, (1, 16, 16), sigma_y=0.04)
        old = BY_TASK[table].get(task, BY_TASK[table]["default"])
        assert default_lam(new, p, None) == pytest.approx(old * 0.04, rel=1e-12), (table, task)


def test_wavelet_default_is_haar_for_fourier_sampling_only():
    for task in gp.tasks.names():
        kind = operator_kind(gp.tasks.make(task, (1, 16, 16)).operator)
        want = ("haar", 4) if task == "mri" else ("db4", 3)
        assert sparsity.WAVELET_DEFAULT.get(kind, sparsity.WAVELET_DEFAULT["default"]) == want


def test_smooth_init_fills_the_hole_and_the_residual_history(gen):
    x = torch.full((1, 1, 16, 16), 0.5, dtype=torch.float64)
    p = gp.tasks.make("inpaint_box", (1, 16, 16), sigma_y=0.0)
    y = p.measure(x)
    x0 = smooth_init(p, y)
    assert float((x0 - 0.5).abs().max()) < 0.05             # harmonic filling of a constant is the constant
    assert torch.equal(smooth_init(p, y, x), x)
    hist = ResidualHistory(p, y)
    hist(x)
    hist(torch.zeros_like(x))
    assert hist[0] == pytest.approx(0.0, abs=1e-12) and hist[1] == pytest.approx(1.0)
