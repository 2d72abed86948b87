"""Tune the default regularisation weights of tv / wavelet / dct (lam = c * sigma_y) per task on
validation images that the benchmark does not use (coffee, chelsea at 64², grayscale).

    python benchmarks/tuning/tune_classical.py      # writes benchmarks/tuning/tune_classical.json
The chosen c (best mean PSNR over images and noise levels) is copied into LAM_SCALE in
src/genprior/solvers/map/methods.py.
"""
import argparse
import json

import torch

import genprior as gp
from genprior.bench import save_report

TASKS = {"denoise": {}, "deblur_gauss": {}, "deblur_motion": {}, "sr4": {}, "inpaint_box": {}, "inpaint_random": {},
         "cs": {}, "ct": {"n_angles": 30}, "mri": {}}
SCALES = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/tuning/tune_classical.json")
    ap.add_argument("--methods", default="tv,wavelet,dct")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--scales", default=",".join(map(str, SCALES)))
    ap.add_argument("--opts", default="{}", help="extra method options as JSON, e.g. '{\"wavelet\": \"haar\"}'")
    args = ap.parse_args()
    torch.set_num_threads(1)
    images = [gp.data.image(n, 64, grayscale=True) for n in ("coffee", "chelsea")]
    table, best = {}, {}
    scales = [float(v) for v in args.scales.split(",")]
    extra = json.loads(args.opts)
    for method in args.methods.split(","):
        for task in args.tasks.split(","):
            opts = TASKS[task]
            scores = {c: [] for c in scales}
            for sy in (0.01, 0.05):
                p = gp.tasks.make(task, (1, 64, 64), sigma_y=sy, **opts)
                for i, x in enumerate(images):
                    y = p.measure(x, generator=torch.Generator().manual_seed(i))
                    for c in scales:
                        r = gp.solve(p, y, method=method, lam=c * sy, **extra)
                        scores[c].append(float(gp.metrics.psnr(r.x.clamp(0, 1), x)))
            mean = {c: sum(v) / len(v) for c, v in scores.items()}
            c_best = max(mean, key=mean.get)
            table[f"{method}/{task}"] = {str(c): round(v, 3) for c, v in mean.items()}
            best.setdefault(method, {})[task] = c_best
            print(method, task, c_best, {c: round(v, 2) for c, v in mean.items()}, flush=True)
    save_report(args.out, {"mean_psnr_by_scale": table, "best_scale": best, "options": extra},
                notes="lam = scale * sigma_y for the objective 1/2||Ax-y||^2 + lam r(x); images coffee, chelsea "
                      "(64², grayscale), sigma_y in {0.01, 0.05}, seeds 0-1; ct with 30 angles.")


if __name__ == "__main__":
    main()
