"""genprior.cli: the `genprior` command, run as a subprocess."""
import json
import subprocess
import sys

import pytest

from genprior.cli import main


@pytest.mark.slow
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


def test_cli_list_and_solve_in_process(tmp_path, capsys):
    """The same commands as the subprocess tests, through main(argv): fast enough for the default run."""
    assert main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "deblur_gauss" in listed and "mle" in listed and "tv" in listed
    out = tmp_path / "denoise"
    assert main(["solve", "--task", "deblur_gauss", "--image", "camera", "--method", "mle", "--size", "32",
                 "--out", str(out), "--opt", "iters=5", "--no-progress", "--threads", "1"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["method"] == "mle" and m["psnr"] > 20 and m["measurement_picture"] == "measurement"
    assert json.loads(capsys.readouterr().out.splitlines()[0])["psnr"] == m["psnr"]
