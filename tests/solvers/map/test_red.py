"""The red method: its defaults on small problems."""
import pytest

import genprior as gp


@pytest.mark.parametrize("method,options,gain", [("red", {}, 5.0)])
def test_defaults_beat_mle_on_deblurring(method, options, gain, deblur_small):
    p, y, psnr_of, mle = deblur_small
    assert psnr_of(gp.solve(p, y, method, prior=gp.priors.load("nlm"), **options)) > mle + gain


def test_defaults_denoise(denoise_small):
    """Issue 10: RED's former default (lam 0.05, sigma_d = 2 sigma_y) barely moved off the noisy image
    (+0.38 dB here, +0.07..+0.68 on the validation images); the by-kind default gains +3.0 dB."""
    p, y, psnr_of, mle = denoise_small
    assert psnr_of(gp.solve(p, y, "red", prior="nlm")) > mle + 2.0


def test_defaults_act_on_ct():
    """On CT the step 1/(||A||² + lam) left the prior idle when lam ignored ||A|| (||A|| ~ 30 at 32²):
    camera 32², 30 views: mle 25.55 dB, the former default 32.46, the scaled default 34.22."""
    import torch
    x = gp.data.image("camera", 32, dtype=torch.float64)
    p = gp.tasks.make("ct", (1, 32, 32), sigma_y=0.1, n_angles=30)
    y = p.measure(x, generator=torch.Generator().manual_seed(0))
    psnr = lambda r: float(gp.metrics.psnr(r.x.clamp(0, 1), x))  # noqa: E731
    assert psnr(gp.solve(p, y, "red", prior="nlm")) > psnr(gp.solve(p, y, "mle")) + 8.0


class _BoxDenoiser(gp.priors.base.Prior):
    """A linear denoiser (3x3 periodic box filter): RED's fixed point then solves a linear system."""
    capabilities = frozenset({"denoise"})
    image_shape = (1, 16, 16)

    def denoise(self, x, sigma):
        import torch
        return sum(torch.roll(x, (i, j), (-2, -1)) for i in (-1, 0, 1) for j in (-1, 0, 1)) / 9


@pytest.mark.parametrize("lam", [0.1, 1.0])
def test_red_reaches_its_fixed_point_with_the_weight_scaled_by_the_operator_norm(lam):
    """With a linear symmetric D, RED's stationary point solves (A^T A + w (I - D)) x = A^T y, w = lam
    max(||A||, 1)². On CT (||A|| ~ 19 at 16²) it must match that solve (CG in float64), not the one
    with w = lam."""
    import torch
    from genprior.linalg import cg
    x = gp.data.image("camera", 16, dtype=torch.float64)
    p = gp.tasks.make("ct", (1, 16, 16), sigma_y=0.1, n_angles=24)
    y = p.measure(x, generator=torch.Generator().manual_seed(0))
    A, den = p.operator, _BoxDenoiser()
    r = gp.solve(p, y, "red", prior=den, lam=lam, max_iter=5000, tol=1e-12)
    assert A.norm() > 10 and r.info["weight"] == pytest.approx(lam * A.norm() ** 2)

    def fixed_point(w):
        return cg(lambda v: A.normal(v) + w * (v - den.denoise(v, 0)), A.apply_adjoint(y), max_iter=2000, tol=1e-12).x
    err = lambda z: float((r.x - z).norm() / z.norm())  # noqa: E731
    assert err(fixed_point(lam * A.norm() ** 2)) < 1e-6
    assert err(fixed_point(lam)) > 1e-2


def test_red_by_kind_defaults_are_what_it_used_and_what_metrics_json_records():
    """lam and sigma_d left at None take the tables by operator kind; kind_defaults (metrics.json)
    reports the same numbers, so a rerun passes the values that were used."""
    import torch
    from genprior.solvers.base import build_options, method_info
    from genprior.solvers.map.common import kind_defaults
    from genprior.solvers.map.red import LAM_DEFAULT, SIGMA_D_MULT
    for task, kind, sy in [("denoise", "identity", 0.05), ("ct", "tomography", 0.1), ("mri", "fourier_sampling", 0.01)]:
        p = gp.tasks.make(task, (1, 16, 16), sigma_y=sy)
        y = p.measure(gp.data.image("camera", 16), generator=torch.Generator().manual_seed(0))
        r = gp.solve(p, y, "red", prior=_BoxDenoiser(), max_iter=3)
        scale = max(p.operator.norm(), 1.0)
        assert r.info["lam"] == LAM_DEFAULT[kind]
        assert r.info["sigma_d"] == pytest.approx(SIGMA_D_MULT[kind] * max(sy / scale, 0.01))
        assert kind_defaults("red", build_options(method_info("red"), {}), p) == pytest.approx(
            {"lam": r.info["lam"], "sigma_d": r.info["sigma_d"]})
