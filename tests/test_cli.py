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


def _tiny_checkpoint(folder):
    from genprior.nets.checkpoint import save_checkpoint
    from genprior.nets.unet import UNet
    import torch
    torch.manual_seed(0)
    net = UNet(in_channels=1, channels=(8, 16))
    cfg = {"kind": "diffusion", "architecture": {"class": "UNet", "config": net.config}, "parameterization": "edm",
           "sigma_data": 0.5, "image_shape": [1, 16, 16], "data_range": [0.0, 1.0], "network_range": [-1.0, 1.0]}
    save_checkpoint(folder, net, cfg)
    return folder


def _fails(argv, capsys, status=2):
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genprior: error: "), err
    return lines[0]


def test_cli_errors_are_one_line_with_status_2_for_bad_input(tmp_path, capsys):
    out = str(tmp_path / "o")
    assert "prior folder 'runs/p64' does not exist" in _fails(
        ["solve", "--task", "ct", "--method", "dds", "--prior", "runs/p64", "--out", out], capsys)
    assert "unknown task 'nope'" in _fails(["solve", "--task", "nope", "--out", out], capsys)
    assert "--size: expected an integer >= 1, got 0" in _fails(["solve", "--task", "ct", "--size", "0", "--out", out],
                                                               capsys)
    assert "--sigma-y: expected a finite number >= 0" in _fails(
        ["solve", "--task", "ct", "--sigma-y", "inf", "--out", out], capsys)
    assert "'n_angles' must be an integer, got float 2.5" in _fails(
        ["solve", "--task", "ct", "--task-opt", "n_angles=2.5", "--out", out], capsys)
    assert "factor must be >= 1" in _fails(["solve", "--task", "sr4", "--task-opt", "factor=0", "--out", out], capsys)
    assert "key=value" in _fails(["solve", "--task", "ct", "--opt", "iters", "--out", out], capsys)
    assert "image file" in _fails(["solve", "--task", "ct", "--image", str(tmp_path / "x.png"), "--out", out], capsys)
    assert "needs --task and --out" in _fails(["solve", "--task", "ct"], capsys)
    assert "unknown method" in _fails(["info", "method", "tv_typo"], capsys)
    assert not (tmp_path / "o").exists()


def test_cli_train_with_zero_steps_is_an_error(tmp_path, capsys):
    assert "--steps: expected an integer >= 1, got 0" in _fails(
        ["train", "diffusion", "--data", "phantoms64", "--out", str(tmp_path / "t"), "--steps", "0"], capsys)
    assert not (tmp_path / "t").exists()


def test_cli_a_failure_while_running_exits_1(monkeypatch, tmp_path, capsys):
    import genprior.bench.solve_image as si

    def boom(*a, **k):
        raise RuntimeError("the solver diverged")
    monkeypatch.setattr(si, "run_solve", boom)
    line = _fails(["solve", "--task", "ct", "--out", str(tmp_path)], capsys, status=1)
    assert "RuntimeError: the solver diverged" in line and "--debug" in line
    with pytest.raises(RuntimeError, match="diverged"):            # --debug: the exception itself
        main(["solve", "--task", "ct", "--out", str(tmp_path), "--debug"])


def test_cli_debug_prints_the_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "genprior.cli", "solve", "--task", "ct", "--prior", "runs/p64",
                        "--method", "dds", "--out", str(tmp_path), "--debug"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1 and "Traceback" in r.stderr and "FileNotFoundError" in r.stderr


def test_cli_solve_help_gives_each_flag_and_its_default():
    from genprior.cli import build_parser
    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["solve"]
    text = sub.format_help()
    for flag, default in (("--sigma-y", "0.01"), ("--seed", "0"), ("--method", "mle"), ("--dtype", "float32"),
                          ("--channels", "auto"), ("--image", "shepp_logan")):
        assert flag in text
        assert f"(default: {default})" in " ".join(text.split()), flag
    assert all(a.help for a in sub._actions), [a.dest for a in sub._actions if not a.help]


def test_cli_info(capsys):
    assert main(["info", "dps"]) == 0
    out = capsys.readouterr().out
    assert "zeta: float | None = None" in out and "steps: int = 100" in out and "needs x0" in out
    assert "weighting: str = 'variance'  # variance | constant" in out     # the field's comment
    main(["info", "ct"])
    assert "n_angles: int = 60" in capsys.readouterr().out
    main(["info", "tv"])
    out = capsys.readouterr().out
    assert out.startswith("method tv") and "\nprior tv" in out and "isotropic: bool = True" in out
    main(["info", "prior", "diffusion-phantom64"])
    out = capsys.readouterr().out
    assert "image_shape: [1, 64, 64]" in out and "method tv" not in out
    main(["info", "dmplug"])                 # a requirement ``needs`` cannot express is stated, not "optional"
    out = capsys.readouterr().out
    assert "prior: required: one with x0" in out and "optional" not in out.split("\n")[4]


def test_cli_own_image_file_rgb_and_folder(tmp_path, capsys):
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    (tmp_path / "imgs").mkdir()
    Image.fromarray((rng.random((40, 30, 3)) * 255).astype(np.uint8)).save(tmp_path / "imgs" / "a.png")
    Image.fromarray((rng.random((25, 25)) * 255).astype(np.uint8)).save(tmp_path / "imgs" / "b.tif")
    out = tmp_path / "out"
    assert main(["solve", "--task", "denoise", "--image", str(tmp_path / "imgs"), "--method", "mle", "--size", "16",
                 "--out", str(out), "--no-progress"]) == 0
    a = json.loads((out / "a" / "metrics.json").read_text())
    b = json.loads((out / "b" / "metrics.json").read_text())
    assert a["image_shape"] == [3, 16, 16] and b["image_shape"] == [1, 16, 16]       # RGB kept
    assert len(a["image_source"]["sha256"]) == 64 and a["psnr"] > 30
    assert len(json.loads((out / "summary.json").read_text())) == 2
    # a 1-channel prior and an RGB image: a clear message, and --channels gray converts
    prior = _tiny_checkpoint(tmp_path / "prior")
    argv = ["solve", "--task", "denoise", "--image", str(tmp_path / "imgs" / "a.png"), "--method", "dds",
            "--prior", str(prior), "--opt", "steps=2", "--out", str(tmp_path / "c"), "--no-progress"]
    assert "--channels gray" in _fails(argv, capsys)
    assert main(argv + ["--channels", "gray"]) == 0
    m = json.loads((tmp_path / "c" / "metrics.json").read_text())
    assert m["image_shape"] == [1, 16, 16] and m["size"] == 16            # --size defaults to the prior's


def test_cli_rerun_reproduces_bit_for_bit(tmp_path, capsys):
    """A sampler with random noise at every step, a seeded measurement, 2 samples: the rerun's
    reconstruction array equals the first one exactly, and metrics.json records the provenance."""
    import hashlib

    import numpy as np

    import genprior as gp
    prior = _tiny_checkpoint(tmp_path / "prior")
    out = tmp_path / "run"
    assert main(["solve", "--task", "ct", "--image", "phantom", "--method", "dps", "--prior", str(prior),
                 "--task-opt", "n_angles=8", "--opt", "steps=3", "--opt", "zeta=0.2", "--num-samples", "2",
                 "--seed", "7", "--sigma-y", "0.05", "--dtype", "float64", "--out", str(out), "--no-progress"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["seed"] == 7 and m["dtype"] == "float64" and m["num_samples"] == 2
    assert m["resolved_method_options"] == {"zeta": 0.2, "steps": 3, "schedule": "vp", "sigma_max": None,
                                            "sigma_min": None, "num_samples": 2, "eta": 1.0,
                                            "weighting": "variance", "clip_x0": False}
    assert m["resolved_task_options"] == {"n_angles": 8, "circle": False}
    sha = hashlib.sha256((prior / "model.safetensors").read_bytes()).hexdigest()
    assert m["prior_checkpoint"]["checkpoint_sha256"] == sha and m["genprior_version"] == gp.__version__
    assert "git_commit" in m and m["threads"] >= 1
    capsys.readouterr()
    assert main(["solve", "--rerun", str(out / "metrics.json"), "--no-progress"]) == 0
    first, again = np.load(out / "reconstruction.npy"), np.load(out / "rerun" / "reconstruction.npy")
    assert first.dtype == np.float64 and first.shape == (1, 1, 16, 16)
    assert np.array_equal(first, again)
    other = tmp_path / "seed8"
    main(["solve", "--rerun", str(out / "metrics.json"), "--out", str(other), "--no-progress"])
    m["seed"] = 8                                 # a different seed gives a different result
    (tmp_path / "m8.json").write_text(json.dumps(m))
    main(["solve", "--rerun", str(tmp_path / "m8.json"), "--out", str(other), "--no-progress"])
    assert not np.array_equal(first, np.load(other / "reconstruction.npy"))
    assert "does not exist" in _fails(["solve", "--rerun", str(tmp_path / "nope.json")], capsys)


def test_cli_writes_a_std_map_with_a_colour_bar(tmp_path):
    from PIL import Image
    prior = _tiny_checkpoint(tmp_path / "prior")
    out = tmp_path / "s"
    assert main(["solve", "--task", "denoise", "--image", "phantom", "--method", "dds", "--prior", str(prior),
                 "--opt", "steps=2", "--num-samples", "3", "--out", str(out), "--no-progress"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    std = Image.open(out / "posterior_std.png")
    assert std.width > 2 * 16 and m["posterior_std_scale"] in gp_viz_scales()     # a figure, not a bare map
    assert "σ_y = 0.01" in m["caption"] and "prior" in m["caption"] and (out / "figure.png").exists()


def gp_viz_scales():
    from genprior.viz import STD_SCALE
    return STD_SCALE


def test_metrics_record_the_by_kind_default_that_was_used(tmp_path, capsys):
    """A diffusion option left at its per-operator-kind default is recorded as the value used (not None),
    and the rerun, which passes it explicitly, reproduces the result bit for bit."""
    import numpy as np

    from genprior.solvers.diffusion.dds import GAMMA_DEFAULT
    prior = _tiny_checkpoint(tmp_path / "prior")
    out = tmp_path / "run"
    assert main(["solve", "--task", "ct", "--image", "phantom", "--method", "dds", "--prior", str(prior),
                 "--task-opt", "n_angles=8", "--opt", "steps=3", "--seed", "3", "--out", str(out), "--no-progress"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["resolved_method_options"]["gamma"] == GAMMA_DEFAULT["tomography"] != GAMMA_DEFAULT["default"]
    capsys.readouterr()
    assert main(["solve", "--rerun", str(out / "metrics.json"), "--no-progress"]) == 0
    assert np.array_equal(np.load(out / "reconstruction.npy"), np.load(out / "rerun" / "reconstruction.npy"))
