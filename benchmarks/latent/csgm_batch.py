"""Batched CSGM throughput: B measurements × R restarts as one batch of R·B latents (one generate()
call per iteration) against one measurement at a time (its R restarts batched) and against one
latent at a time. Gaussian CS on 28² (m = 100 of 784, σ_y = 0.01), Adam with a fixed iteration
count (tol = 0) so every variant does the same work; the same starting latents in every variant,
so the reconstructions must agree (reported as max_abs_diff).

Uses the shipped ``gan-fashion28`` when it is present, else a randomly initialised small DCGAN-type
generator (z ∈ R^64 → 128·7·7 → 14² → 28², sigmoid output) — timing only, not quality.

    python benchmarks/latent/csgm_batch.py --iters 30        # writes benchmarks/latent/csgm_batch.json
"""
import argparse
import time

import torch
from torch import nn

import genprior as gp
from genprior.bench import save_report
from genprior.priors.base import Prior


class RandomConvGenerator(Prior):
    capabilities = frozenset({"generate"})
    name = "random-dcgan28"

    def __init__(self, latent_dim=64, width=64, seed=0):
        torch.manual_seed(seed)   # script-level: initialises the throw-away network's weights
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 2 * width * 7 * 7), nn.Unflatten(1, (2 * width, 7, 7)), nn.ReLU(),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.ConvTranspose2d(width, 1, 4, 2, 1), nn.Sigmoid()).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.image_shape, self.latent_shape, self.nfe, self.dtype = (1, 28, 28), (latent_dim,), 0, torch.float32

    def generate(self, z):
        self.nfe += 1
        return self.net(z)


def load_prior():
    try:
        return gp.priors.load("gan-fashion28"), "gan-fashion28"
    except Exception:            # not shipped yet in this checkout
        return RandomConvGenerator(), "random-dcgan28 (untrained)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="benchmarks/latent/csgm_batch.json")
    ap.add_argument("--B", type=int, default=16)
    ap.add_argument("--R", type=int, default=8)
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    G, prior_name = load_prior()
    B, R, it = args.B, args.R, args.iters
    pb = gp.tasks.make("cs", image_shape=G.image_shape, ratio=100 / 784, sigma_y=0.01)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        x = G.generate(torch.randn(B, *G.latent_shape, generator=g))
    y = pb.measure(x, generator=g).float()
    z0 = torch.randn(R, B, *G.latent_shape, generator=g)
    common = dict(optimizer="adam", max_iter=it, tol=0.0)
    rows = []

    def run(label, calls):
        t = time.perf_counter()
        outs = [f() for f in calls]
        s = time.perf_counter() - t
        rows.append({"variant": label, "calls": len(calls), "seconds": round(s, 4),
                     "latent_iterations_per_s": round(R * B * it / s, 1)})
        return outs

    # warm-up (allocations, autograd graph code paths)
    gp.solve(pb, y[:1], "csgm", G, z_init=z0[0, :1], max_iter=2, tol=0.0)
    # 1) all R·B latents in one batch: restart r of measurement b is element r B + b
    zb = z0.reshape(R * B, *G.latent_shape)

    def batched():
        from genprior.solvers.latent.common import minimize, repeat_batch, sigma_of
        from genprior.solvers.latent.csgm import latent_objective, pick_restarts
        fg = latent_objective(pb, repeat_batch(y, R), G, 1.0, sigma_of(pb))
        with torch.no_grad():
            z, f, _, _ = minimize(fg, zb, optimizer="adam", lr=0.01, max_iter=it, tol=0.0)
            return pick_restarts(z, f, B, R)
    (zbat, fbat, _), = run(f"one batch of R*B = {R * B} latents", [batched])
    # the public entry point on the same problem (random inits from a generator): same cost
    run("gp.solve(csgm, restarts=R) on all B", [lambda: gp.solve(pb, y, "csgm", G, restarts=R, **common,
                                                                 generator=torch.Generator().manual_seed(1))])
    # 2) one measurement at a time, its R restarts batched
    def one_measurement(b):
        from genprior.solvers.latent.common import minimize, sigma_of
        from genprior.solvers.latent.csgm import latent_objective, pick_restarts
        fg = latent_objective(pb, y[b:b + 1].repeat(R, 1), G, 1.0, sigma_of(pb))
        with torch.no_grad():
            z, f, _, _ = minimize(fg, z0[:, b], optimizer="adam", lr=0.01, max_iter=it, tol=0.0)
            return pick_restarts(z, f, 1, R)
    outs = run(f"B = {B} calls of R = {R} latents (one measurement at a time)",
               [lambda b=b: one_measurement(b) for b in range(B)])
    zm = torch.cat([o[0] for o in outs])
    # 3) one latent at a time
    singles = run(f"R*B = {R * B} calls of 1 latent", [
        lambda r=r, b=b: gp.solve(pb, y[b:b + 1], "csgm", G, z_init=z0[r, b:b + 1], **common)
        for r in range(R) for b in range(B)])
    fs = torch.tensor([s.info["objective"][0] for s in singles]).reshape(R, B)
    zs = torch.stack([s.info["z"][0] for s in singles]).reshape(R, B, -1)[fs.argmin(0), torch.arange(B)]
    base = rows[0]["seconds"]
    for r in rows:
        r["time_vs_one_batch"] = round(r["seconds"] / base, 2)
    result = {"prior": prior_name, "B": B, "R": R, "iterations": it, "threads": args.threads,
              "rows": rows,
              "throughput_ratio_batch_vs_per_measurement": round(rows[2]["seconds"] / base, 2),
              "throughput_ratio_batch_vs_per_latent": round(rows[3]["seconds"] / base, 2),
              "max_abs_diff_latent_batch_vs_per_measurement": float((zbat - zm).abs().max()),
              "max_abs_diff_latent_batch_vs_per_latent": float((zbat - zs).abs().max())}
    print(result)
    save_report(args.out, result, notes="CPU, float32; Adam lr 0.01, fixed iterations; same starting latents "
                                         "in every variant. Timing of an untrained generator when gan-fashion28 "
                                         "is absent.")


if __name__ == "__main__":
    main()
