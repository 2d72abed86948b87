"""Asymptotically exact samplers on the exact-posterior mixture benchmark (the problems, metric,
floor and 'ignore y' reference of benchmarks/gmm/gmm_posterior.py; Cardoso et al. 2023's setup).

For every problem (d_x, d_y, seed) each method draws N = 1000 posterior samples with the exact
mixture denoiser as its prior; the sliced W2 (200 random directions, the same for every row) to
1000 exact posterior samples is reported beside the floor (exact vs exact). The SMC methods
(mcgdiff, fps, tds) sweep the particle count N: the 1000 samples come from 1000 / draws
independent filters of N particles (``--draws`` per filter, default 4), so the cost grows as
(1000 / draws) N and the sweep measures the bias that particles remove; ``--max-total`` caps the
particles of one run (N = 1024: 62 filters of 1024, 16-17 draws each; ``<key>_filters``). (One filter of 1024
particles for all 1000 samples is cheaper but its mode proportions drift with every resampling
round: 3-8x the floor where several modes share the posterior; exact_samplers_onefilter.json.) Rows are written as they
come; a rerun skips the cells already in the JSON (resumable).

From d_x = ``--spectral-from`` (800) on, every method runs on the same problem written in A's
right-singular basis (genprior.bench.problems.gmm_problem_spectral: an exact rotation, V = I, so no
dense d x d products per particle; the exact posterior has diagonal covariances there) and its
samples are rotated back; the reference samples come from that posterior (same law, other draws
than gmm_posterior.py's).

    python benchmarks/gmm/exact_samplers.py --dims 8,80 --seeds 0,1,2
    python benchmarks/gmm/exact_samplers.py --out benchmarks/gmm/exact_sweep.json --methods tds,mcgdiff \
        --particles 16,64,256,1024 --big-particles 16,64      # the particle sweep (d_x = 800: 16, 64)
"""
import argparse
import json
import statistics
import time
from pathlib import Path

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.bench.problems import gmm_problem, gmm_problem_spectral

SMC = ("mcgdiff", "fps", "tds")
#: the mixture's scale is ~10 (grid of spacing 8, unit components): PnP-DM's rho0 drowns the grid
#: (50), rho_min is a tenth of a component's std; annealed Langevin runs with its defaults
MCMC = {"pnp_dm": {"iterations": 80, "steps": 20, "rho0": 50.0, "rho_min": 0.1},
        "annealed_langevin": {}}


def cells(methods, particles):
    for m in methods:
        if m in SMC:
            for n in particles:
                yield f"{m}@{n}", m, {"particles": n, "steps": 100}
        else:
            yield m, m, dict(MCMC[m])


def run(args):
    out = Path(args.out)
    done = json.loads(out.read_text())["results"]["rows"] if out.exists() else []
    rows = {(r["d_x"], r["d_y"], r["seed"]): r for r in done}
    methods = [m for m in args.methods.split(",") if m]
    particles = [int(v) for v in args.particles.split(",")]
    for d_x in [int(v) for v in args.dims.split(",")]:
        for d_y in [int(v) for v in args.dys.split(",")]:
            for seed in [int(v) for v in args.seeds.split(",")]:
                spectral = d_x >= args.spectral_from
                if spectral:
                    prior, problem, y, post, Vt = gmm_problem_spectral(d_x, d_y, seed)
                else:
                    prior, problem, y, post = gmm_problem(d_x, d_y, seed)
                    Vt = None
                back = (lambda s: s @ Vt) if spectral else (lambda s: s)   # noqa: E731  samples in the original basis
                g = torch.Generator().manual_seed(10_000 + seed)
                ref = back(post.sample_exact(args.n, generator=g))
                ref2 = back(post.sample_exact(args.n, generator=g))
                gdir = lambda: torch.Generator().manual_seed(7)  # noqa: E731  same directions for every row
                row = rows.setdefault((d_x, d_y, seed), {"d_x": d_x, "d_y": d_y, "seed": seed})
                if "floor" not in row:
                    row["sigma_y"] = round(problem.sigma_y, 4)
                    row["basis"] = "spectral" if spectral else "original"
                    row["floor"] = round(float(gp.metrics.sliced_wasserstein(ref2, ref, args.directions, generator=gdir())), 4)
                    # the floor is one draw of a random distance: its mean over 5 more exact sets is steadier
                    ge = torch.Generator().manual_seed(30_000 + seed)
                    row["floor_mean"] = round(statistics.mean(
                        float(gp.metrics.sliced_wasserstein(back(post.sample_exact(args.n, generator=ge)), ref, args.directions,
                                                            generator=gdir())) for _ in range(5)), 4)
                    pri = back(prior.sample_exact(args.n, generator=torch.Generator().manual_seed(20_000 + seed)))
                    row["prior_samples"] = round(float(gp.metrics.sliced_wasserstein(pri, ref, args.directions,
                                                                                   generator=gdir())), 4)
                for key, name, opts in cells(methods, particles):
                    if key in row:
                        continue
                    if d_x >= 800 and name in SMC and opts["particles"] not in args.big_particles:
                        continue
                    if name in SMC and args.draws:
                        opts = {**opts, "filters": max(1, min(args.n // args.draws, args.max_total // opts["particles"]))}
                    t = time.perf_counter()
                    c0 = time.process_time()
                    r = gp.solve(problem, y, method=name, prior=prior, generator=torch.Generator().manual_seed(seed),
                                 num_samples=args.n, **opts)
                    sw = float(gp.metrics.sliced_wasserstein(back(r.samples[:, 0]), ref, args.directions, generator=gdir()))
                    row[key] = round(sw, 4)
                    row[key + "_x"] = round(sw / row["floor"], 2)
                    row[key + "_xm"] = round(sw / row["floor_mean"], 2)
                    row[key + "_s"] = round(time.perf_counter() - t, 2)
                    row[key + "_cpu_s"] = round(time.process_time() - c0, 2)
                    row[key + "_nfe"] = r.nfe
                    if name in SMC:
                        row[key + "_filters"] = r.info["filters_per_measurement"]
                        row[key + "_ess_min"] = round(min(r.info["ess"]), 1)
                        row[key + "_resamples"] = r.info["resamples"]
                    print(d_x, d_y, seed, key, row[key + "_x"], "x floor", row[key + "_s"], "s", flush=True)
                    save(args, list(rows.values()))
    save(args, list(rows.values()), final=True)
    plot(list(rows.values()), Path(args.out).with_suffix(".png"))


def plot(rows, path):
    """Per d_x: the sliced W2 as a multiple of floor_mean (median over d_y and seeds) against the particle
    count N, per SMC method, beside the 'ignore y' reference (exact prior samples)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    dims = sorted({r["d_x"] for r in rows})
    fig, axes = plt.subplots(1, len(dims), figsize=(4.3 * len(dims), 4), squeeze=False)
    for ax, d_x in zip(axes[0], dims):
        sel = [r for r in rows if r["d_x"] == d_x]
        for m in SMC:
            ns = sorted({int(k.split("@")[1][:-3]) for r in sel for k in r if k.startswith(m + "@") and k.endswith("_xm")})
            pts = [(n, statistics.median(r[f"{m}@{n}_xm"] for r in sel if f"{m}@{n}_xm" in r)) for n in ns]
            if pts:
                ax.plot(*zip(*pts), "o-", label=m)
        ax.axhline(statistics.median(r["prior_samples"] / r["floor_mean"] for r in sel), color="k", ls=":", label="ignore y (prior samples)")
        ax.axhline(1, color="k", ls="--", lw=1, label="floor")
        ax.set(xscale="log", yscale="log", xlabel="particles per filter", title=f"d_x = {d_x} ({len(sel)} problems)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("sliced W2 / floor_mean (median over problems)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summarise(rows):
    keys = sorted({k for r in rows for k in r if k.endswith(("_x", "_xm")) and k != "d_x"})
    out = {}
    for d_x in sorted({r["d_x"] for r in rows}):
        for d_y in sorted({r["d_y"] for r in rows}):
            sel = [r for r in rows if r["d_x"] == d_x and r["d_y"] == d_y]
            if not sel:
                continue
            s = {"floor": round(statistics.mean(r["floor"] for r in sel), 3),
                 "floor_mean": round(statistics.mean(r["floor_mean"] for r in sel), 3),
                 "prior_samples_x": round(statistics.mean(r["prior_samples"] / r["floor"] for r in sel), 2),
                 "prior_samples_xm": round(statistics.mean(r["prior_samples"] / r["floor_mean"] for r in sel), 2),
                 "seeds": len(sel)}
            for k in keys:
                vals = [r[k] for r in sel if k in r]
                if vals:
                    s[k] = round(statistics.mean(vals), 2)
            out[f"d_x={d_x},d_y={d_y}"] = s
    return out


def save(args, rows, final=False):
    rows = sorted(rows, key=lambda r: (r["d_x"], r["d_y"], r["seed"]))
    save_report(args.out, {"summary_mean_multiple_of_floor": summarise(rows), "rows": rows,
                           "mcmc_options": MCMC, "smc_steps": 100, "samples": args.n,
                           "directions": args.directions, "complete": final},
                notes="float64, exact mixture denoiser. '<method>@<N>': SMC with N particles per filter, "
                      "1000 samples from 250 independent filters (4 draws each; fewer where N x filters would pass --max-total: "
                      "'<key>_filters'). Rows with basis 'spectral' ran in A's right-singular basis (an exact rotation). '_s' wall seconds on a shared, "
                      "contended 2-core machine, '_cpu_s' process CPU seconds (1 thread). '_x': sliced W2 as a multiple of the floor "
                      "(two exact sample sets of 1000, as gmm_posterior.py); '_xm': the same against floor_mean, the mean distance of 5 more exact sets (a single floor draw is noisy: ratios below 1 happen); prior_samples_x: exact prior samples against the exact "
                      "posterior (ignoring y). nfe: batched network calls (the SMC methods call the denoiser twice "
                      "per step: x0 and the Tweedie-variance probe; tds adds one backward pass). Same problems, "
                      "directions and reference samples as benchmarks/gmm/gmm_posterior.py.")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/gmm/exact_samplers.json")
    ap.add_argument("--dims", default="8,80")
    ap.add_argument("--dys", default="1,2,4")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--directions", type=int, default=200)
    ap.add_argument("--methods", default=",".join(SMC + tuple(MCMC)))
    ap.add_argument("--particles", default="16,64,256")
    ap.add_argument("--draws", type=int, default=4, help="samples drawn per filter (0: ceil(n / particles) filters)")
    ap.add_argument("--spectral-from", type=int, default=800, help="from this d_x on, run in A's right-singular basis")
    ap.add_argument("--max-total", type=int, default=65536, help="at most this many particles per run (fewer filters)")
    ap.add_argument("--big-particles", default="16,64", type=lambda s: [int(v) for v in s.split(",")],
                    help="particle counts run at d_x >= 800")
    ap.add_argument("--plot-only", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.plot_only:
        plot(json.loads(Path(args.out).read_text())["results"]["rows"], Path(args.out).with_suffix(".png"))
        return
    run(args)


if __name__ == "__main__":
    main()
