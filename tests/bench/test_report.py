"""The HTML report: leaderboard values (mean ± std, best in bold), embedded figures, nothing fetched."""
import json
import re

import numpy as np
import pytest

from genprior.bench import report, runner

pytest.importorskip("matplotlib")


def _row(key, method, image, psnr, **kw):
    r = {"key": key, "suite": "synthetic", "task": "deblur", "task_name": "deblur_gauss",
         "task_options": {"std": 1.0},
         "sigma_y": 0.01, "method": method, "method_name": method, "method_options": {}, "prior": None,
         "image_set": "test", "image": image, "seed": 0, "psnr": psnr,
         "ssim": None if psnr is None else psnr / 100, "residual": 0.01,
         "nfe": 0, "seconds": 0.5, "cell_seconds": 0.6, "index": 0,
         "env": {"commit": "abc123def", "torch": "2.x", "threads": 1}}
    r.update(kw)
    return r


@pytest.fixture
def results(tmp_path):
    out = tmp_path / "res"
    (out / "recon").mkdir(parents=True)
    rows = [_row("a1", "mle", "camera", 20.0), _row("a2", "mle", "moon", 22.0), _row("a3", "mle", "coins", 24.0),
            _row("b1", "tv", "camera", 25.0, recon_file="recon/b1.npz"), _row("b2", "tv", "moon", 25.0),
            _row("b3", "tv", "coins", 25.0),
            _row("c1", "dps", "camera", 23.0, prior="diffusion-x", nfe=200, seconds=3.0, recon_file="recon/c1.npz",
                 coverage={"0.5": 0.4, "0.7": 0.6, "0.9": 0.8, "0.95": 0.9}),
            _row("c2", "dps", "moon", 21.0, prior="diffusion-x", nfe=200, seconds=3.0,
                 coverage={"0.5": 0.5, "0.7": 0.7, "0.9": 0.85, "0.95": 0.9}),
            _row("d1", "boom", "camera", None, error="FloatingPointError: diverged")]
    rng = np.random.default_rng(0)
    t = rng.random((1, 8, 8)).astype(np.float16)
    np.savez_compressed(out / "recon" / "b1.npz", truth=t, recon=t)
    np.savez_compressed(out / "recon" / "c1.npz", truth=t, recon=t, std=(0.1 * t))
    for r in rows:
        runner.append_row(out / "results.jsonl", r)
    # a torn last line (a killed run) is ignored
    with open(out / "results.jsonl", "a") as f:
        f.write('{"key": "torn"')
    return out


def test_leaderboard_values():
    rows = [_row("a1", "mle", "x", 20.0), _row("a2", "mle", "y", 22.0), _row("a3", "mle", "z", 24.0),
            _row("b", "tv", "x", 30.0)]
    e = {x["entry"]: x for x in report.leaderboard(rows)}
    assert e["mle"]["psnr"] == pytest.approx(22.0) and e["mle"]["psnr_std"] == pytest.approx(2.0)
    assert [x["entry"] for x in report.leaderboard(rows)] == ["tv", "mle"]     # sorted by PSNR


def test_html_has_the_table_values_and_no_network(results, tmp_path):
    path = report.write(results, tmp_path / "r.html")
    text = path.read_text()
    assert not re.search(r"https?://", text)
    assert "<script" not in text and "<link" not in text
    assert "<b>25.00 ± 0.00</b>" in text                      # tv: best PSNR, in bold
    assert "22.00 ± 2.00" in text                             # mle: mean ± std over its three images
    assert "22.00 ± 1.41" in text                             # dps: (23, 21)
    assert "dps (diffusion-x)" in text and "(1 error)" in text
    assert "FloatingPointError: diverged" in text             # the errors table
    assert "abc123def" in text                                # the commit
    assert "0.825" in text                                    # dps coverage@0.9 = mean(0.8, 0.85)
    imgs = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    # Pareto plots, reconstruction grid, posterior std maps, calibration curve
    assert len(imgs) == 4
    assert all(len(i) > 1000 for i in imgs)


def test_report_of_a_real_run(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text("""
[suite]
name = "real"
[images]
dataset = "images"
names = ["camera", "moon"]
size = 16
[[tasks]]
name = "denoise"
sigma_y = 0.1
[[methods]]
name = "mle"
[[methods]]
name = "tv"
""")
    runner.run(p, tmp_path / "out", progress=False)
    rows = runner.load_results(tmp_path / "out")
    text = report.build(tmp_path / "out")
    for m in ("mle", "tv"):
        ps = [r["psnr"] for r in rows if r["method"] == m]
        mean, std = np.mean(ps), np.std(ps, ddof=1)
        assert f"{mean:.2f} ± {std:.2f}" in text
    assert json.loads((tmp_path / "out" / "meta.json").read_text())["suite"]["name"] == "real"


def test_empty_folder_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results"):
        report.build(tmp_path)


@pytest.mark.slow
def test_report_renders_in_headless_chromium(results, tmp_path):
    """A real browser (Chromium from Debian) loads the page offline, finds the tables, and draws a
    non-blank screenshot."""
    import shutil
    import subprocess
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium not installed (apt-get install chromium)")
    page = report.write(results, tmp_path / "r.html")
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1000,1400"]
    dom = subprocess.run([exe, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert "<b>25.00 ± 0.00</b>" in dom.stdout and dom.stdout.count("<img") == 4
    shot = tmp_path / "shot.png"
    subprocess.run([exe, *flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    from PIL import Image
    a = np.asarray(Image.open(shot).convert("L"), dtype=np.float64)
    assert a.shape == (1400, 1000)
    assert a.std() > 10 and (a < 128).mean() > 0.005       # text and figures, not a blank page
