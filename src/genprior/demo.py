"""``genprior demo``: a gallery of tasks x methods on offline images, with figures and a JSON table.

Each entry measures an image, runs several methods through ``genprior.solve`` and writes its PNGs
(via ``genprior.bench.solve_image.run_solve``, the code path of ``genprior solve``); a panel figure
``demo.png`` puts them side by side.
"""
from __future__ import annotations

import json
from pathlib import Path

# (task, image, size, sigma_y, task options, [(method, prior, method options), ...])
DEMO = [
    # the CT row uses a held-out random phantom for every method: the phantom prior's own domain
    # (on Shepp-Logan, a thin bright rim, the phantom prior is out of domain)
    ("ct", "phantom", 64, 0.1, {"n_angles": 16},
     [("fbp", None, {}), ("mle", None, {"iters": 20}), ("tv", None, {}), ("dds", "diffusion-phantom64", {}),
      ("pigdm", "diffusion-phantom64", {})]),
    ("mri", "phantom", 64, 0.01, {"acceleration": 4},
     [("mle", None, {}), ("tv", None, {}), ("ddrm", "diffusion-phantom64", {}),
      ("dds", "diffusion-phantom64", {"num_samples": 4})]),
    ("deblur_gauss", "camera", 64, 0.01, {"std": 1.5},
     [("mle", None, {"iters": 10}), ("tv", None, {}), ("wavelet", None, {}), ("pnp_hqs", None, {})]),
]
QUICK = [
    ("ct", "shepp_logan", 64, 0.05, {"n_angles": 30}, [("fbp", None, {}), ("mle", None, {"iters": 10}), ("tv", None, {})]),
    ("deblur_gauss", "camera", 64, 0.01, {"std": 1.5}, [("mle", None, {"iters": 10}), ("tv", None, {})]),
]


def _available(method: str, prior) -> bool:
    import genprior as gp
    if method not in gp.solvers.names():
        return False
    return prior is None or prior in gp.priors.names()


def run_demo(out="out/demo", quick: bool = False) -> list[dict]:
    from .bench.solve_image import run_solve
    out = Path(out)
    rows = []
    for task, image, size, sigma_y, topts, methods in (QUICK if quick else DEMO):
        for method, prior, mopts in methods:
            if not _available(method, prior):
                continue
            # diffusion priors work at their own resolution
            sz = size
            if prior is not None:
                import genprior as gp
                pr = gp.priors.load(prior)
                sz = pr.image_shape[-1] if getattr(pr, "image_shape", None) else size
            img = "phantom" if (prior is not None and "phantom" in prior) else image
            d = out / task / (method + (f"-{prior}" if prior else ""))
            m = run_solve(task, img, method, d, size=sz, sigma_y=sigma_y, prior=prior, task_opts=topts,
                          method_opts=mopts, progress=True)
            rows.append(m)
            print(f"{task:14s} {method:10s} {str(prior or ''):22s} PSNR {m['psnr']:6.2f} dB  SSIM {m['ssim']:.3f}  "
                  f"{m['seconds']:7.2f} s")
    (out / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    fig = _panel(out, rows)
    print(f"wrote {out / 'summary.json'}" + (f" and the figure {fig}" if fig else " (no figure: matplotlib missing)"))
    return rows


def _panel(out: Path, rows: list[dict]) -> Path | None:
    """demo.png: a row per task (truth, measurement, each method's reconstruction); the row says the
    task's options and σ_y, each panel the method, its prior and its PSNR."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # the panel is optional; the PNGs are already written
        return None
    from PIL import Image

    from .viz import caption
    tasks = []
    for r in rows:
        if r["task"] not in tasks:
            tasks.append(r["task"])
    ncol = 2 + max(sum(r["task"] == t for r in rows) for t in tasks)
    fig, axes = plt.subplots(len(tasks), ncol, figsize=(2.2 * ncol, 2.4 * len(tasks)), squeeze=False)
    for i, t in enumerate(tasks):
        rs = [r for r in rows if r["task"] == t]
        first = out / t / (rs[0]["method"] + (f"-{rs[0]['prior']}" if rs[0]["prior"] else ""))
        panels = [(first / "truth.png", "truth"), (first / "measurement.png", rs[0]["measurement_picture"])]
        for r in rs:
            d = out / t / (r["method"] + (f"-{r['prior']}" if r["prior"] else ""))
            who = r["method"] + (f" + {r['prior']}" if r["prior"] else "")
            panels.append((d / "reconstruction.png", f"{who}\n{r['psnr']:.2f} dB"))
        for j, ax in enumerate(axes[i]):
            ax.axis("off")
            if j < len(panels):
                im = Image.open(panels[j][0])
                ax.imshow(im, cmap="gray", vmin=0, vmax=255, aspect="auto" if im.width != im.height else "equal")
                ax.set_title(panels[j][1], fontsize=7)
        label = caption(t, rs[0]["task_options"], rs[0]["sigma_y"]).replace(", σ", "\nσ")
        axes[i][0].text(-0.1, 0.5, label, transform=axes[i][0].transAxes, rotation=90, va="center", ha="right",
                        fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "demo.png", dpi=110)
    plt.close(fig)
    return out / "demo.png"
