"""The consistency model as the x0-estimator of a splitting-loop solver, against its own teacher at the
same number of steps (issue 14): DDS 20 steps, DiffPIR 10 and 20, ΠGDM 10, on the validation images
(2 Fashion-MNIST images, the last of the test split) of three tasks; ΠGDM at its defaults (50 steps)
with the teacher as the reference. One reconstruction per image; PSNR mean over images.

    PYTHONPATH=src python benchmarks/few_step/cm_vs_teacher.py --out benchmarks/few_step/cm_vs_teacher.json
"""
import argparse
import json

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import diffusion_images, diffusion_problem


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prior", default="diffusion-fashion28")
    ap.add_argument("--consistency", default="consistency-fashion28")
    ap.add_argument("--tasks", default="inpaint_random,ct,sr4")
    ap.add_argument("--images", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/few_step/cm_vs_teacher.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    prior, cm = gp.priors.load(args.prior), gp.priors.load(args.consistency)
    x = diffusion_images(args.prior, prior, args.images, "val")
    rows = []

    def psnr(r):
        return round(float(gp.metrics.psnr(r.x.clamp(0, 1), x).mean()), 2)
    for task in args.tasks.split(","):
        pb = diffusion_problem(task, prior.image_shape)
        y = pb.measure(x, generator=torch.Generator().manual_seed(1))
        for method, steps in [("dds", 20), ("diffpir", 10), ("diffpir", 20), ("pigdm", 10)]:
            row = {"task": task, "method": method, "steps": steps}
            for name, use in (("consistency", cm), ("teacher", prior)):
                r = gp.solve(pb, y, method=method, prior=use, generator=torch.Generator().manual_seed(0), steps=steps)
                row[name] = {"psnr": psnr(r), "nfe": int(r.nfe)}
            rows.append(row)
            print(json.dumps(row), flush=True)
        r = gp.solve(pb, y, method="pigdm", prior=prior, generator=torch.Generator().manual_seed(0))
        rows.append({"task": task, "method": "pigdm", "steps": "default", "teacher": {"psnr": psnr(r), "nfe": int(r.nfe)}})
        print(json.dumps(rows[-1]), flush=True)
    save_report(args.out, {"rows": rows, "prior": args.prior, "consistency": args.consistency},
                notes="validation images (not the benchmark's); same seed for both priors; NFE = network passes")


if __name__ == "__main__":
    main()
