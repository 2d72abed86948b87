"""Time per step of the SMC samplers against the raw network on the same batch (issue 13's
performance check: <= 1.2x), on a shipped diffusion prior. CPU process time (1 thread), so other
jobs on the shared machine count less; each number is the median of ``--repeats`` runs.

    python benchmarks/gmm/smc_overhead.py      # writes benchmarks/gmm/smc_overhead.json
"""
import argparse
import statistics
import time

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import DIFFUSION_TASKS, diffusion_images


def cpu(fn, repeats):
    out = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        out.append(time.process_time() - t)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/gmm/smc_overhead.json")
    ap.add_argument("--prior", default="diffusion-fashion28")
    ap.add_argument("--task", default="inpaint_random")
    ap.add_argument("--particles", type=int, default=32)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    prior = gp.priors.load(args.prior)
    x = diffusion_images(args.prior, prior, 1, "test")
    spec = DIFFUSION_TASKS[args.task]
    problem = gp.tasks.make(args.task, tuple(x.shape[1:]), sigma_y=spec["sigma_y"], **spec["options"])
    y = problem.measure(x, generator=torch.Generator().manual_seed(0))
    batch = torch.randn(args.particles, *x.shape[1:])
    with torch.no_grad():
        raw = cpu(lambda: [prior.x0(batch, 1.0) for _ in range(args.steps)], args.repeats) / args.steps
    rows = {"raw_network_per_call_s": round(raw, 4)}
    for method, kv in [("mcgdiff", "ddpm"), ("mcgdiff", "tweedie"), ("fps", "ddpm"), ("tds", "ddpm"), ("tds", "tweedie")]:
        if method in ("mcgdiff", "fps") and not problem.operator.has_svd:
            continue
        res = {}

        def go():
            res["r"] = gp.solve(problem, y, method=method, prior=prior, generator=torch.Generator().manual_seed(0),
                                num_samples=args.particles, particles=args.particles, steps=args.steps, kernel_var=kv)
        t = cpu(go, args.repeats)
        steps = res["r"].info["steps"]
        per = t / steps
        calls = res["r"].nfe / steps
        rows[f"{method}/{kv}"] = {"per_step_s": round(per, 4), "network_calls_per_step": calls,
                                  "x_raw_network": round(per / raw, 2),
                                  "x_raw_network_per_call": round(per / (raw * calls), 2)}
        print(method, kv, rows[f"{method}/{kv}"], flush=True)
    save_report(args.out, {"prior": args.prior, "task": args.task, "particles": args.particles, "steps": args.steps,
                           "results": rows},
                notes="CPU process seconds, 1 thread, median of repeats. x_raw_network: one SMC step over one raw "
                      "network call on the same batch; x_raw_network_per_call divides by the network calls per step "
                      "(2 with the Tweedie variance probe; tds's backward pass counts as one call).")


if __name__ == "__main__":
    main()
