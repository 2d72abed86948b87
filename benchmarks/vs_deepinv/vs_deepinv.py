"""TV deblurring side by side with deepinv, in one process and on the same measurement.

Camera 256², Gaussian blur std 2 (circular, the same 13x13 kernel in both libraries),
sigma_y = 0.01 on [0, 1]; objective 1/2||A x - y||² + lam TV(x) in both. deepinv's ADMM and
FISTA with its TVPrior (inner prox iterations) and genprior's ``tv`` (ADMM with the FTVd
x-update) each tune lam on a grid over a validation image (coffee) and are reported on camera at
their tuned lam and at their defaults. 1 thread for both.

Needs deepinv, which is not a genprior dependency (it imports torchvision eagerly); run it from a
separate venv that has both, e.g.
    python3 -m venv .venv-deepinv && .venv-deepinv/bin/pip install torch==2.14.1 torchvision==0.29.1 deepinv
    .venv-deepinv/bin/pip install -e . --no-deps && .venv-deepinv/bin/pip install safetensors PyWavelets scikit-image
    .venv-deepinv/bin/python benchmarks/vs_deepinv/vs_deepinv.py
"""
import argparse
import time

import torch

import genprior as gp
from genprior.bench import save_report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/vs_deepinv/vs_deepinv.json")
    ap.add_argument("--lams", default="1e-4,3e-4,1e-3")
    ap.add_argument("--val-image", default="coffee")
    ap.add_argument("--max-iter", type=int, default=1000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    import deepinv as dinv

    problem = gp.tasks.make("deblur_gauss", (1, 256, 256), sigma_y=0.01, std=2.0)
    kernel = problem.operator.kernel.float()[None, None]
    physics = dinv.physics.BlurFFT(img_size=(1, 256, 256), filter=kernel)
    data = {}
    for split, name in (("val", args.val_image), ("test", "camera")):
        x = gp.data.image(name, 256, grayscale=True)
        data[split] = (x, problem.measure(x, generator=torch.Generator().manual_seed(0)))
        same = float((physics.A(x) - problem.operator.A(x)).abs().max())
        assert same < 1e-5, f"the two forward models differ by {same}"
    psnr = lambda z, x: round(float(gp.metrics.psnr(z.clamp(0, 1), x)), 3)  # noqa: E731
    rows = [{"library": "input", "split": s, "psnr": psnr(data[s][1], data[s][0])} for s in data]

    def deepinv_tv(it_name, lam, split):
        x, y = data[split]
        params = {"stepsize": 1.0, "a": 3}
        if lam is not None:
            params["lambda"] = lam
        model = dinv.optim.optim_builder(
            iteration=it_name, prior=dinv.optim.prior.TVPrior(n_it_max=20),
            data_fidelity=dinv.optim.data_fidelity.L2(), max_iter=args.max_iter, early_stop=True, crit_conv="residual",
            thres_conv=1e-5, params_algo=params, verbose=False)
        t = time.perf_counter()
        with torch.no_grad():
            xr = model(y, physics)
        return psnr(xr, x), time.perf_counter() - t, {"lam": lam if lam is not None else 1.0}

    def genprior_tv(_, lam, split):
        x, y = data[split]
        opts = {} if lam is None else {"lam": lam}
        gp.solve(problem, y, method="tv", **opts)                     # warm-up (allocations)
        t = time.perf_counter()
        res = gp.solve(problem, y, method="tv", **opts)
        return psnr(res.x, x), time.perf_counter() - t, {"lam": res.info["lam"], "iters": res.info["iters"]}

    lams = [float(v) for v in args.lams.split(",")]
    summary = {}
    for lib, it_name, fn in (("deepinv", "ADMM", deepinv_tv), ("deepinv", "FISTA", deepinv_tv),
                             ("genprior", "ADMM-FTVd", genprior_tv)):
        key = f"{lib}/{it_name}-TV"
        scores = {}
        for lam in lams:
            p, dt, info = fn(it_name, lam, "val")
            scores[lam] = p
            rows.append({"library": lib, "method": f"{it_name}-TV", "split": "val", "psnr": p, "seconds": round(dt, 3), **info})
            print(rows[-1], flush=True)
        best = max(scores, key=scores.get)
        out = {"val_grid": {str(k): v for k, v in scores.items()}, "best_lam": best,
               "best_is_interior": lams[0] < best < lams[-1]}
        for setting, lam in (("tuned on val", best), ("defaults", None)):
            p, dt, info = fn(it_name, lam, "test")
            rows.append({"library": lib, "method": f"{it_name}-TV", "split": "test", "setting": setting, "psnr": p,
                         "seconds": round(dt, 3), **info})
            print(rows[-1], flush=True)
            out["test_tuned" if lam is not None else "test_defaults"] = p
            out["seconds_tuned" if lam is not None else "seconds_defaults"] = round(dt, 3)
            if lam is None:
                out["default_lam"] = info["lam"]
        summary[key] = out
    print(summary)
    save_report(args.out, {"rows": rows, "summary": summary, "deepinv_version": dinv.__version__},
                notes="lam tuned per library and algorithm on a validation image (coffee, grayscale 256²), reported on "
                      "camera tuned and at defaults (deepinv: its params_algo default lambda = 1; genprior: its "
                      "per-operator default); same x, y, kernel and objective 1/2||Ax-y||² + lam TV; 1 thread; "
                      "deepinv's TV is Neumann-boundary with 20 inner prox iterations, genprior's ADMM uses periodic "
                      "differences (exact Fourier x-update). Timings under a loaded shared machine.")


if __name__ == "__main__":
    main()
