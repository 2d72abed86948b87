"""Calibration of posterior samplers on the mixture problems (genprior.bench.problems.gmm_problem).

For each problem (prior and A fixed by (d_x, d_y, seed)), B truths x_b are drawn from the prior
and measured, y_b = A x_b + sigma_y n_b (the prior predictive: where a calibrated sampler's
credible intervals cover the truth at their nominal rate). Every method draws S samples per
measurement (all B measurements in one batch); per coordinate, the central credible interval at
50/80/90/95 % from the samples' quantiles either covers the truth or not (gp.metrics.coverage).
Reported: empirical coverage (over coordinates, measurements and problems) against the nominal,
and the Pearson correlation of the posterior std with the actual error |mean - x| over
coordinates x measurements. "exact" (samples of the exact posterior) is the reference: it shows
the Monte-Carlo spread of the coverage itself.

    python benchmarks/calibration/calibration.py            # writes calibration.json and .png
"""
import argparse
import json
import math
import statistics
import time
from pathlib import Path

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import gmm_problem

from genprior.bench import suite as bench_suite

# the mixture options of the approximate samplers: those of the built-in `gmm` suite (which replaced
# benchmarks/gmm/gmm_posterior.py; its `steps` = 100 as set below)
APPROX = {m.name: dict(m.options) for m in bench_suite.load("gmm", check_names=False).methods}

LEVELS = (0.5, 0.8, 0.9, 0.95)
# SMC: 64 particles per filter, 4 draws per filter (independent filters keep the mode proportions
# from drifting with resampling; benchmarks/gmm/exact_samplers.py)
EXACT = {"mcgdiff": {"particles": 64, "draws": 4}, "fps": {"particles": 64, "draws": 4}, "tds": {"particles": 64, "draws": 4},
         "pnp_dm": {"iterations": 80, "steps": 20, "rho0": 50.0, "rho_min": 0.1},
         "annealed_langevin": {}}
APPROX_USED = ("dps", "pigdm", "dds", "diffpir", "ddrm", "daps", "reddiff", "mcg")


def method_options(name):
    if name in EXACT:
        return dict(EXACT[name])
    o = dict(APPROX[name])
    if name != "ddrm":
        o.setdefault("steps", 100)
    return o


def measurements(prior, problem, B, seed):
    g = torch.Generator().manual_seed(40_000 + seed)
    x = prior.sample_exact(B, generator=g)
    y = problem.operator.A(x) + problem.sigma_y * torch.randn(B, *problem.operator.y_shape, generator=g, dtype=x.dtype)
    return x, y


def evaluate(samples, x):
    """coverage per level (over coordinates x measurements) and corr(std, |error|) (gp.metrics.calibration)."""
    out = gp.metrics.calibration(samples, x, LEVELS)
    del out["mean"], out["std"]
    return out


def run(args):
    out = Path(args.out)
    rows = json.loads(out.read_text())["results"]["rows"] if out.exists() else []
    have = {(r["d_x"], r["d_y"], r["seed"], r["method"]) for r in rows}
    methods = [m for m in args.methods.split(",") if m]
    for d_x in [int(v) for v in args.dims.split(",")]:
        for d_y in [int(v) for v in args.dys.split(",")]:
            for seed in [int(v) for v in args.seeds.split(",")]:
                prior, problem, _, _ = gmm_problem(d_x, d_y, seed)
                x, y = measurements(prior, problem, args.B, seed)
                for name in methods:
                    if (d_x, d_y, seed, name) in have:
                        continue
                    t = time.perf_counter()
                    if name == "exact":
                        g = torch.Generator().manual_seed(50_000 + seed)
                        s = torch.stack([prior.posterior(problem.operator.matrix, y[b:b + 1], problem.sigma_y)
                                         .sample_exact(args.S, generator=g) for b in range(args.B)], 1)
                    else:
                        o = method_options(name)
                        if "draws" in o:
                            o["filters"] = args.S // o.pop("draws")
                        r = gp.solve(problem, y, method=name, prior=prior, generator=torch.Generator().manual_seed(seed),
                                     num_samples=args.S, **o)
                        s = r.samples
                    row = {"d_x": d_x, "d_y": d_y, "seed": seed, "method": name, **evaluate(s, x),
                           "seconds": round(time.perf_counter() - t, 2)}
                    rows.append(row)
                    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}, flush=True)
                    save(args, rows)
    save(args, rows, final=True)
    plot(rows, Path(args.out).with_suffix(".png"))


def summarise(rows):
    out = {}
    for name in dict.fromkeys(r["method"] for r in rows):
        sel = [r for r in rows if r["method"] == name]
        s = {f"cov{int(lv * 100)}": round(statistics.mean(r[f"cov{int(lv * 100)}"] for r in sel), 3) for lv in LEVELS}
        s["corr_std_err"] = round(statistics.mean(r["corr_std_err"] for r in sel if not math.isnan(r["corr_std_err"])), 3)
        s["problems"] = len(sel)
        out[name] = s
    return out


def save(args, rows, final=False):
    save_report(args.out, {"summary": summarise(rows), "rows": rows, "levels": LEVELS, "measurements_per_problem": args.B,
                           "samples": args.S, "options": {m: method_options(m) for m in
                                                          dict.fromkeys(r["method"] for r in rows) if m != "exact"},
                           "complete": final},
                notes="float64, exact mixture denoiser; coverage = fraction of (coordinate, measurement) pairs whose "
                      "truth lies in the samples' central interval (gp.metrics.coverage), truths drawn from the prior. "
                      "'exact': exact posterior samples (the reference; its spread around the nominal is the "
                      "Monte-Carlo error of the measurement itself).")


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    summ = summarise(rows)
    fig, ax = plt.subplots(figsize=(6.5, 5))
    ax.plot([0.4, 1], [0.4, 1], "k--", lw=1, label="nominal")
    for name, s in summ.items():
        exact_family = name in EXACT or name == "exact"
        ax.plot(LEVELS, [s[f"cov{int(lv * 100)}"] for lv in LEVELS], "o-" if exact_family else "x:",
                lw=2 if exact_family else 1, label=f"{name} (r={s['corr_std_err']:.2f})")
    ax.set_xlabel("nominal coverage of the central interval")
    ax.set_ylabel("empirical coverage")
    ax.set_title("Calibration on the mixture problems")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/calibration/calibration.json")
    ap.add_argument("--dims", default="8")
    ap.add_argument("--dys", default="1,2,4")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--B", type=int, default=20, help="measurements (truths) per problem")
    ap.add_argument("--S", type=int, default=100, help="samples per measurement")
    ap.add_argument("--methods", default=",".join(("exact",) + tuple(EXACT) + APPROX_USED))
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.plot_only:
        plot(json.loads(Path(args.out).read_text())["results"]["rows"], Path(args.out).with_suffix(".png"))
        return
    run(args)


if __name__ == "__main__":
    main()
