"""The named tasks: measurement noise and bad options."""
import pytest
import torch

import genprior as gp


D = torch.float64


@pytest.mark.parametrize("task,opts", [("denoise", {}), ("deblur_gauss", {}), ("inpaint_random", {"keep": 0.5}),
                                       ("mri", {}), ("cs", {"ratio": 0.5}), ("ct", {"n_angles": 30})])
def test_measure_noise_std(task, opts):
    sigma = 0.1
    p = gp.tasks.make(task, (1, 32, 32), sigma_y=sigma, **opts)
    x = torch.rand(16, 1, 32, 32, generator=torch.Generator().manual_seed(0), dtype=D)
    n = p.measure(x, generator=torch.Generator().manual_seed(1)) - p.operator.A(x)
    sup = p.operator.measurement_support(n)
    parts = [n.real, n.imag] if n.is_complex() else [n]
    for part in parts:
        vals = part[sup.expand_as(part) > 0] if sup is not None else part.reshape(-1)
        assert abs(float(vals.std()) / sigma - 1) < 0.03
    # reproducible from the generator
    y1 = p.measure(x, generator=torch.Generator().manual_seed(5))
    y2 = p.measure(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(y1, y2)


def test_bad_task_inputs():
    with pytest.raises(KeyError, match="unknown task 'blurr'.*deblur_gauss"):
        gp.tasks.make("blurr")
    with pytest.raises(ValueError, match="sigma_y"):
        gp.tasks.make("denoise", sigma_y=-0.1)
    with pytest.raises(TypeError, match="unknown options"):
        gp.tasks.make("ct", n_angle=3)
    with pytest.raises(ValueError, match="ratio"):
        gp.tasks.make("cs", ratio=1.5)
    with pytest.raises(ValueError, match="too large"):
        gp.tasks.make("cs", (1, 256, 256), ratio=0.5)
