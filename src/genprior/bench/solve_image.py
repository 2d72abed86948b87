"""One solve on an offline test image, with its pictures and metrics written to a folder: the work
behind ``genprior solve`` and each entry of ``genprior demo`` (both call this, not each other)."""
from __future__ import annotations

import json
from pathlib import Path


def run_solve(task: str, image: str, method: str, out, *, size: int = 64, sigma_y: float = 0.01, prior=None,
              seed: int = 0, task_opts=None, method_opts=None, progress: bool = True, num_samples: int | None = None,
              dtype: str = "float32") -> dict:
    """Measure an offline test image, reconstruct it, write PNGs and a metrics JSON; return the metrics."""
    import torch

    import genprior as gp
    from ..viz import measurement_image, save_png
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    if image.startswith("phantom"):
        x = gp.data.phantoms(1, size, generator=torch.Generator().manual_seed(10_000 + seed), dtype=dt)
    else:
        x = gp.data.image(image, size, grayscale=True, dtype=dt)
    problem = gp.tasks.make(task, tuple(x.shape[1:]), sigma_y=sigma_y, **(task_opts or {}))
    y = problem.measure(x, generator=torch.Generator().manual_seed(seed))
    prior_obj = gp.priors.load(prior) if isinstance(prior, str) else prior
    opts = dict(method_opts or {})
    if num_samples is not None:
        opts["num_samples"] = num_samples
    res = gp.solve(problem, y, method=method, prior=prior_obj, generator=torch.Generator().manual_seed(seed),
                   progress=progress, **opts)
    xr = res.x.clamp(0, 1)
    meas, caption = measurement_image(problem, y)
    save_png(x[0], out / "truth.png")
    save_png(meas, out / "measurement.png", lo=None, hi=None)
    save_png(xr[0], out / "reconstruction.png")
    if res.samples is not None:
        n = min(res.samples.shape[0], 8)
        row = torch.cat([s[0, 0] for s in res.samples[:n].clamp(0, 1)], dim=-1)
        save_png(row, out / "samples.png")
        save_png(res.mean[0].clamp(0, 1), out / "posterior_mean.png")
        save_png(res.std[0], out / "posterior_std.png", lo=None, hi=None)
    if "ess" in res.info:                       # particle samplers: the ESS trace over the steps
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot(res.info["ess"])
        ax.set(xlabel="step", ylabel="ESS (mean over filters)", ylim=(0, res.info["particles"] * 1.05),
               title=f"{method}: {res.info['particles']} particles, {res.info['resamples']} resamplings")
        fig.tight_layout()
        fig.savefig(out / "ess.png", dpi=100)
        plt.close(fig)
    metrics = {"task": task, "image": image, "size": size, "sigma_y": sigma_y, "method": method,
               "prior": prior if isinstance(prior, str) or prior is None else type(prior).__name__,
               "psnr": float(gp.metrics.psnr(xr, x)[0]), "ssim": float(gp.metrics.ssim(xr, x)[0]),
               "residual": float(gp.metrics.residual(problem.operator, res.x, y)[0]),
               "nfe": res.nfe, "seconds": round(res.seconds, 3), "measurement_picture": caption,
               "task_options": task_opts or {}, "method_options": method_opts or {},
               "units": "images in [0, 1]; sigma_y on that scale"}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics
