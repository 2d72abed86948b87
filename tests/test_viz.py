"""genprior.viz: PNG writing and the measurement picture (its caption follows the operator type)."""
import numpy as np
import pytest
import torch

import genprior as gp
from genprior.viz import measurement_image, save_png, to_uint8


def test_to_uint8_maps_the_range_and_clips():
    a = np.array([[-0.5, 0.0, 0.25], [0.5, 1.0, 2.0]])
    assert to_uint8(a).tolist() == [[0, 0, 64], [128, 255, 255]]
    # its own range [-0.5, 2]; 0.75 / 2.5 * 255 = 76.5 rounds to even
    assert to_uint8(a, None, None).tolist() == [[0, 51, 76], [102, 153, 255]]


def test_save_png_round_trips(tmp_path):
    from PIL import Image
    x = torch.linspace(0, 1, 12, dtype=torch.float64).reshape(1, 3, 4)
    p = save_png(x, tmp_path / "a" / "x.png", scale=2)
    im = np.asarray(Image.open(p))
    assert im.shape == (6, 8) and im[0, 0] == 0 and im[-1, -1] == 255
    assert np.array_equal(im[::2, ::2], to_uint8(x[0].numpy()))


@pytest.mark.parametrize("task, opts, caption", [
    ("ct", {"n_angles": 8}, "sinogram"), ("deblur_gauss", {}, "measurement"), ("inpaint_random", {}, "measurement"),
    ("mri", {}, "log |k-space|"), ("cs", {}, "A^T y (back-projection)")])
def test_measurement_captions(task, opts, caption, gen):
    p = gp.tasks.make(task, (1, 16, 16), sigma_y=0.01, **opts)
    y = p.measure(torch.rand(1, 1, 16, 16, generator=gen), generator=gen)
    img, cap = measurement_image(p, y)
    assert cap == caption and np.squeeze(img).ndim == 2 and np.isfinite(img).all()


def test_a_radon_after_another_operator_still_gives_a_sinogram(gen):
    radon = gp.operators.Radon((1, 16, 16), 8)
    p = gp.InverseProblem(gp.operators.Composed(radon, gp.operators.Identity((1, 16, 16))), 0.01)
    img, cap = measurement_image(p, p.measure(torch.rand(1, 1, 16, 16, generator=gen), generator=gen))
    assert cap == "sinogram" and img.shape == tuple(radon.y_shape[1:])
    renamed = gp.operators.Radon((1, 16, 16), 8)
    renamed.name = "fan"                          # the caption does not depend on the name
    q = gp.InverseProblem(renamed, 0.01)
    assert measurement_image(q, q.measure(torch.rand(1, 1, 16, 16, generator=gen)))[1] == "sinogram"


def test_std_maps_keep_their_units(tmp_path):
    """The colour scale starts at 0 and tops at a fixed ladder value above the map's 99.5th
    percentile: a map of tiny std is not stretched to fill the colours."""
    from genprior.viz import STD_SCALE, save_std_map, std_scale
    assert std_scale(torch.full((8, 8), 0.003)) == 0.005
    assert std_scale(torch.full((8, 8), 0.03)) == 0.05
    assert std_scale(np.full((8, 8), 0.3)) == 0.5
    assert std_scale(np.full((8, 8), 3.0)) == 3.0                 # beyond the ladder: its own top
    assert list(STD_SCALE) == sorted(STD_SCALE)
    top = save_std_map(torch.full((1, 16, 16), 0.003), tmp_path / "s.png", title="ct, σ_y = 0.1")
    assert top == 0.005 and (tmp_path / "s.png").stat().st_size > 1000


def test_progress_bars_stay_off_without_a_terminal(capsys):
    """Under pytest stderr is not a terminal: progress=True gives a plain range, nothing printed."""
    from genprior.solvers.base import progress_range
    it = progress_range(5, True, "x")
    assert isinstance(it, range) and list(it) == [0, 1, 2, 3, 4]
    p = gp.tasks.make("denoise", (1, 8, 8), sigma_y=0.1)
    gp.solve(p, p.measure(torch.rand(1, 1, 8, 8)), "tv", progress=True, max_iter=5)
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err == ""


def test_caption_names_task_options_noise_and_prior():
    from genprior.viz import caption
    assert caption("ct", {"n_angles": 16}, 0.1, "diffusion-phantom64") == \
        "ct (n_angles=16), σ_y = 0.1, prior diffusion-phantom64"
    assert caption("denoise", {}, 0.05) == "denoise, σ_y = 0.05"
