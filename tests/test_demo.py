"""genprior.demo: the gallery that `make demo` runs, end to end through the library call."""
import json

import pytest

from genprior.demo import DEMO, run_demo

# PSNR floors (dB) ~1 dB under the values measured when this test was written (2-core CPU, float32):
# ct fbp 34.86, mle 36.91, tv 40.45, dds 40.34, pigdm 47.38; mri mle 29.87, tv 35.08, ddrm 32.43,
# dds 35.51; deblur_gauss mle 26.46, tv 28.94, wavelet 27.05, pnp_hqs 29.23
FLOORS = {
    ("ct", "fbp"): 33.8, ("ct", "mle"): 35.9, ("ct", "tv"): 39.4, ("ct", "dds"): 39.3, ("ct", "pigdm"): 46.3,
    ("mri", "mle"): 28.8, ("mri", "tv"): 34.0, ("mri", "ddrm"): 31.4, ("mri", "dds"): 34.5,
    ("deblur_gauss", "mle"): 25.4, ("deblur_gauss", "tv"): 27.9, ("deblur_gauss", "wavelet"): 26.0,
    ("deblur_gauss", "pnp_hqs"): 28.2,
}


@pytest.mark.slow
def test_demo_gallery_writes_its_figure_and_beats_the_floors(tmp_path):
    rows = run_demo(tmp_path, quick=False)
    assert [(r["task"], r["method"]) for r in rows] == [(t, m) for t, *_, ms in DEMO for m, _, _ in ms]
    assert set(FLOORS) == {(r["task"], r["method"]) for r in rows}
    low = {(r["task"], r["method"]): round(r["psnr"], 2) for r in rows if r["psnr"] < FLOORS[r["task"], r["method"]]}
    assert not low, f"below the floors: {low}"
    # the learned prior beats the classical methods where the demo says it does (CT, MRI)
    best = {t: max(rows, key=lambda r: r["psnr"] if r["task"] == t else -1) for t in ("ct", "mri")}
    assert best["ct"]["prior"] == "diffusion-phantom64" and best["mri"]["prior"] == "diffusion-phantom64"
    assert (tmp_path / "demo.png").stat().st_size > 20_000
    assert json.loads((tmp_path / "summary.json").read_text()) == rows
    for r in rows:
        d = tmp_path / r["task"] / (r["method"] + (f"-{r['prior']}" if r["prior"] else ""))
        assert (d / "reconstruction.png").stat().st_size > 100 and json.loads((d / "metrics.json").read_text()) == r
