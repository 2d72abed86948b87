import json
import subprocess
import sys

import pytest
import torch

import genprior as gp


def test_mle_converges_to_least_squares(gen):
    p = gp.tasks.make("cs", (1, 8, 8), sigma_y=0.0, ratio=0.5)
    x = torch.rand(2, 1, 8, 8, generator=gen, dtype=torch.float64)
    y = p.measure(x)
    res = gp.solve(p, y, method="mle", iters=200, tol=1e-12)
    # the minimum-norm solution is A^+ y; CG from 0 reaches it
    assert torch.allclose(res.x, p.operator.A_dagger(y), atol=1e-8)
    assert len(res.history["residual"]) >= 1 and res.history["residual"][-1] < 1e-8
    assert res.seconds > 0


def test_fbp_beats_backprojection_on_ct():
    x = gp.data.image("shepp_logan", 64, dtype=torch.float64)
    p = gp.tasks.make("ct", (1, 64, 64), sigma_y=0.0, n_angles=90)
    y = p.measure(x)
    xr = gp.solve(p, y, method="fbp").x
    assert float(gp.metrics.psnr(xr.clamp(0, 1), x)) > 20
    with pytest.raises(TypeError, match="CT"):
        gp.solve(gp.tasks.make("denoise", (1, 64, 64)), x, method="fbp")


def test_solve_rejects_bad_input(gen):
    p = gp.tasks.make("deblur_gauss", (1, 16, 16), sigma_y=0.01)
    y = p.measure(torch.rand(1, 1, 16, 16, generator=gen))
    with pytest.raises(KeyError, match="unknown method 'mlee'.*mle"):
        gp.solve(p, y, method="mlee")
    with pytest.raises(TypeError, match="unknown options.*iters"):
        gp.solve(p, y, method="mle", iterations=3)
    bad = y.clone()
    bad[0, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        gp.solve(p, bad, method="mle")
    with pytest.raises(ValueError, match="shape"):
        gp.solve(p, y[..., :8], method="mle")
    with pytest.raises(TypeError, match="dtype"):
        gp.solve(p, y.to(torch.int32), method="mle")
    with pytest.raises(ValueError, match="iters"):
        gp.solve(p, y, method="mle", iters=0)
    with pytest.raises(TypeError, match="InverseProblem"):
        gp.solve(p.operator, y, method="mle")


def test_cli_solve_writes_outputs(tmp_path):
    out = tmp_path / "ct"
    r = subprocess.run([sys.executable, "-m", "genprior.cli", "solve", "--task", "ct", "--image", "shepp_logan",
                        "--method", "mle", "--size", "32", "--out", str(out), "--task-opt", "n_angles=20",
                        "--opt", "iters=5", "--no-progress"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["method"] == "mle" and m["psnr"] > 12
    for f in ("truth.png", "measurement.png", "reconstruction.png"):
        assert (out / f).stat().st_size > 100
    r = subprocess.run([sys.executable, "-m", "genprior.cli", "list"], capture_output=True, text=True, timeout=60)
    assert "deblur_gauss" in r.stdout and "mle" in r.stdout


def test_cli_unknown_task_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "genprior.cli", "solve", "--task", "nope", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "unknown task 'nope'" in r.stderr


def test_import_stays_light():
    code = ("import sys, genprior; heavy = [m for m in ('matplotlib', 'diffusers', 'skimage', 'sklearn', 'bm3d') "
            "if m in sys.modules]; print(heavy)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


def test_cli_solve_with_a_diffusion_prior_writes_samples(tmp_path):
    from genprior.nets.checkpoint import save_checkpoint
    from genprior.nets.unet import UNet
    net = UNet(in_channels=1, channels=(8, 16))
    cfg = {"kind": "diffusion", "architecture": {"class": "UNet", "config": net.config}, "parameterization": "edm",
           "sigma_data": 0.5, "image_shape": [1, 16, 16], "data_range": [0.0, 1.0], "network_range": [-1.0, 1.0]}
    save_checkpoint(tmp_path / "prior", net, cfg)
    out = tmp_path / "dds"
    r = subprocess.run([sys.executable, "-m", "genprior.cli", "solve", "--task", "ct", "--image", "phantom", "--size", "16",
                        "--method", "dds", "--prior", str(tmp_path / "prior"), "--num-samples", "3", "--opt", "steps=4",
                        "--task-opt", "n_angles=8", "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["nfe"] == 4 and m["method"] == "dds"
    for f in ("samples.png", "posterior_mean.png", "posterior_std.png", "reconstruction.png"):
        assert (out / f).stat().st_size > 50
