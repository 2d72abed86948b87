"""The amortized point on the exact-posterior mixture benchmark: a conditional RealNVP per problem.

For each mixture problem of the `gmm` suite (same d_x, d_y, seeds, N and directions; the zero-shot
rows beside it are those of benchmarks/gmm/gmm_posterior.json, from the retired script),
a conditional flow q(x | y) is trained on pairs x ~ prior, y = A x + σ_y n (``--steps`` Adam steps,
batch 512, 1 thread), then sampled at the problem's y. Reported beside that benchmark's rows: the
sliced W2 to exact posterior samples (and its floor), seconds to draw the N samples, training
seconds, and — what no diffusion method gives — KL(p || q) = E_p[log p(x | y) - log q(x | y)]
estimated on the N exact posterior samples (exact densities on both sides).

    python benchmarks/gmm/amortized_flow.py     # writes benchmarks/gmm/amortized_flow.json
"""
import argparse
import json
import time
from pathlib import Path

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import gmm_problem
from genprior.training.amortized import FlowTrainConfig, train_amortized_flow

HERE = Path(__file__).resolve().parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dims", default="8")
    ap.add_argument("--dys", default="1,2,4")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--directions", type=int, default=200)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--runs", default="/tmp/genprior-amortized-flow", help="folder for the flow checkpoints")
    ap.add_argument("--out", default=str(HERE / "amortized_flow.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    ref_rows = {}
    f = HERE / "gmm_posterior.json"
    if f.exists():
        for r in json.loads(f.read_text())["results"]["rows"]:
            ref_rows[(r["d_x"], r["d_y"], r["seed"])] = r
    rows = []
    for d_x in [int(v) for v in args.dims.split(",")]:
        for d_y in [int(v) for v in args.dys.split(",")]:
            for seed in [int(v) for v in args.seeds.split(",")]:
                prior, problem, y, post = gmm_problem(d_x, d_y, seed)
                g = torch.Generator().manual_seed(10_000 + seed)            # as the gmm suite
                ref, ref2 = post.sample_exact(args.n, generator=g), post.sample_exact(args.n, generator=g)
                gdir = lambda: torch.Generator().manual_seed(7)  # noqa: E731
                floor = float(gp.metrics.sliced_wasserstein(ref2, ref, args.directions, generator=gdir()))
                t = time.perf_counter()
                q = train_amortized_flow(FlowTrainConfig(out=f"{args.runs}/dx{d_x}_dy{d_y}_s{seed}", steps=args.steps,
                                                         seed=seed),
                                         problem, lambda n, gen: prior.sample_exact(n, generator=gen), progress=False,
                                         log=lambda *_: None)
                train_s = time.perf_counter() - t
                r = gp.solve(problem, y, method="amortized", prior=q, num_samples=args.n,
                             generator=torch.Generator().manual_seed(seed))
                sw = float(gp.metrics.sliced_wasserstein(r.samples[:, 0], ref, args.directions, generator=gdir()))
                with torch.no_grad():
                    c = q.condition_input(problem, y).repeat(args.n, 1)
                    kl = float((post.log_prob(ref) - q.log_prob(ref, c)).mean())
                base = ref_rows.get((d_x, d_y, seed), {})
                others = {m: base[m] for m in ("dps", "pigdm", "mcg", "daps") if m in base}
                row = {"d_x": d_x, "d_y": d_y, "seed": seed, "floor": round(floor, 4), "flow": round(sw, 4),
                       "flow_sample_s": round(r.seconds, 3), "flow_train_s": round(train_s, 1),
                       "flow_kl_p_q": round(kl, 4), "zero_shot_from_gmm_posterior_json": others}
                rows.append(row)
                print(json.dumps(row), flush=True)
    summary = {"mean_flow_w2": round(sum(r["flow"] for r in rows) / len(rows), 4),
               "mean_floor": round(sum(r["floor"] for r in rows) / len(rows), 4)}
    for m in ("dps", "pigdm"):
        vals = [r["zero_shot_from_gmm_posterior_json"][m] for r in rows if m in r["zero_shot_from_gmm_posterior_json"]]
        if len(vals) == len(rows):
            summary[f"mean_{m}_w2"] = round(sum(vals) / len(vals), 4)
    print(json.dumps(summary))
    save_report(args.out, {"rows": rows, "summary": summary, "steps": args.steps, "samples": args.n,
                           "directions": args.directions},
                notes="sliced W2 to exact posterior samples (same N, directions and exact samples as "
                      "gmm_posterior.json); flow_sample_s = seconds to draw all N samples; KL(p||q) on exact "
                      "posterior samples; training pairs x ~ prior, y = A x + sigma_y n; 1 thread.")


if __name__ == "__main__":
    main()
