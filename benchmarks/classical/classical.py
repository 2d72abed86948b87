"""Classical and plug-and-play methods on the nine tasks at 64² (offline test images):
PSNR / SSIM / seconds per task x method, with the default (tuned) regularisation weights.

    python benchmarks/classical/classical.py        # writes benchmarks/classical/classical.json

Images: camera, astronaut, moon, coins (grayscale, 64²), none of which were used to tune the
defaults (benchmarks/tuning/tune_classical.py used coffee and chelsea). PnP-ADMM and PnP-HQS use the best
available denoiser (BM3D when installed, else NL-means); RED uses NL-means (BM3D inside 200 RED
iterations is too slow here).
"""
import argparse
import time

import torch

import genprior as gp
from genprior.bench import save_report

TASKS = {
    "denoise": ({}, 0.1),
    "deblur_gauss": ({"std": 2.0}, 0.01),
    "deblur_motion": ({}, 0.01),
    "sr4": ({}, 0.01),
    "inpaint_box": ({}, 0.01),
    "inpaint_random": ({"keep": 0.3}, 0.01),
    "cs": ({"ratio": 0.25}, 0.01),
    "ct": ({"n_angles": 30}, 0.1),
    "mri": ({}, 0.01),
}
IMAGES = ("camera", "astronaut", "moon", "coins")


def methods_for(task, best_denoiser, nlm):
    ms = [("mle", None, {}), ("tikhonov", None, {"L": "gradient"}), ("tv", None, {}), ("wavelet", None, {}),
          ("dct", None, {}), ("pnp_hqs", best_denoiser, {}), ("pnp_admm", best_denoiser, {"max_iter": 20, "min_iter": 5}),
          ("red", nlm, {})]
    if task == "denoise":
        ms += [("nlm", None, {}), ("lowrank", None, {}), ("bm3d", None, {})]
    if task == "ct":
        ms.insert(1, ("fbp", None, {}))
    return ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/classical/classical.json")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(1)
    nlm = gp.priors.load("nlm")
    try:
        best = gp.priors.load("bm3d")
    except ImportError:
        best = nlm
    xs = torch.cat([gp.data.image(n, args.size, grayscale=True) for n in IMAGES])
    rows = []
    for task in args.tasks.split(","):
        opts, sy = TASKS[task]
        p = gp.tasks.make(task, (1, args.size, args.size), sigma_y=sy, **opts)
        y = p.measure(xs, generator=torch.Generator().manual_seed(0))
        for method, prior, mopts in methods_for(task, best, nlm):
            if method == "bm3d" and best is nlm:
                continue
            t = time.perf_counter()
            r = gp.solve(p, y, method=method, prior=prior, **mopts)
            dt = time.perf_counter() - t
            xr = r.x.clamp(0, 1)
            row = {"task": task, "method": method, "sigma_y": sy, "task_options": opts,
                   "denoiser": r.info.get("denoiser"), "lam": r.info.get("lam"),
                   "psnr": round(float(gp.metrics.psnr(xr, xs).mean()), 3),
                   "ssim": round(float(gp.metrics.ssim(xr, xs).mean()), 4),
                   "seconds_per_image": round(dt / xs.shape[0], 3),
                   "psnr_per_image": [round(float(v), 2) for v in gp.metrics.psnr(xr, xs)]}
            rows.append(row)
            print(row, flush=True)
    checks = {}
    for task in args.tasks.split(","):
        ps = {r["method"]: r["psnr"] for r in rows if r["task"] == task}
        checks[task] = {"tv_beats_mle": ps["tv"] > ps["mle"], "wavelet_beats_mle": ps["wavelet"] > ps["mle"]}
        if task in ("denoise", "deblur_gauss"):
            pnp = max(ps["pnp_hqs"], ps["pnp_admm"], ps.get("bm3d", 0))
            checks[task]["pnp_beats_tv"] = pnp > ps["tv"]
    print(checks)
    save_report(args.out, {"rows": rows, "checks": checks, "images": IMAGES, "size": args.size},
                notes="grayscale images in [0, 1], sigma_y on that scale; default options of each method "
                      "(lam from LAM_SCALE); 1 thread; batch of the 4 images solved together.")


if __name__ == "__main__":
    main()
