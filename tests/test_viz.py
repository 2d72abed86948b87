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
