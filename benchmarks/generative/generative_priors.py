"""One table of the generative families: every shipped prior (GAN, VAE, flow, EBM, diffusion) with its
parameter count, training steps and wall time (from its config.json), sample quality as FID, bits/dim
where exact (flow) or bounded (VAE: the negative ELBO), and a 64-sample grid PNG each.

FID: the Fréchet distance of the penultimate features (128-d, pre-ReLU) of the project's own
Fashion-MNIST classifier (``gp.metrics.fid_extractor()``, checkpoints/classifier-fashion28) between N
samples and the whole Fashion-MNIST test split (10k). FID is biased upwards at small N, so every prior
is also scored on its first ``--n-small`` samples, and the floor — N random *train* images against the
same test split — is given at each N used. Samplers: GAN / VAE (decoder mean) / flow (T = 1, plus
T = 0.8 at n-small) x = G(z), z ~ N(0, I); diffusion: Heun (Karras et al. 2022) with ``--diffusion-steps``
steps (2 steps - 1 network evaluations); EBM: walk-jump sampling (Saremi & Hyvärinen 2019, "Neural
empirical Bayes"): ULA on the σ-smoothed density the DSM-trained energy models,
x_{k+1} = x_k - τ ∇E(x_k) + √(2τ) ξ_k, K = ``--ebm-steps`` (20) from x_0 ~ N(pixel mean, pixel variance of
the train split) (``--ebm-init uniform``: U[0, 1]^D), τ = ``--ebm-tau`` (default σ²/2), then one jump to the
Tweedie estimate x̂ = x_K - σ² ∇E(x_K). Phantom priors: no FID (no feature net), grids only.

Rows are merged into ``--out`` by prior name (each row carries its own command), so a prior can be
re-scored alone. Samples are cached in ``--cache`` keyed by the weights' sha256 and the sampler settings.

    python benchmarks/generative/generative_priors.py                       # all shipped priors
    python benchmarks/generative/generative_priors.py --prior gan-fashion28=/work/runs/gan-fashion28 --n 2000
"""
import argparse
import hashlib
import json
import math
import shutil
import sys
import time
from pathlib import Path

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.training.diffusion import save_grid

HERE = Path(__file__).resolve().parent
DEFAULT = ["gan-fashion28", "vae-fashion28", "flow-fashion28", "ebm-fashion28", "diffusion-fashion28",
           "gan-phantom64", "diffusion-phantom64"]


def checkpoint_folder(spec):
    name, _, path = spec.partition("=")
    if path:
        return name, Path(path)
    from genprior.priors.registry import CHECKPOINT_DIR
    return name, CHECKPOINT_DIR / name


def cache_key(folder: Path, extra: str) -> str:
    """The weights' content (so a copied checkpoint keeps its cached samples) and the sampler settings."""
    w = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    return hashlib.sha1(f"{w}|{extra}".encode()).hexdigest()[:16]


def ebm_walk_jump(prior, n, steps, tau, generator, init=None, batch=250, progress=None):
    """Walk-jump samples of an energy trained by DSM at sigma: ULA walk on p_sigma, Tweedie jump.
    ``init``: (mean, std) images of a pixel-wise Gaussian start, or None for U[0, 1]."""
    sigma = prior.sigma
    tau = tau if tau is not None else sigma ** 2 / 2
    out = []
    for i in range(0, n, batch):
        b = min(batch, n - i)
        if init is None:
            x = torch.rand(b, *prior.image_shape, generator=generator)
        else:
            x = init[0] + init[1] * torch.randn(b, *prior.image_shape, generator=generator)
        for _ in range(steps):
            x = x - tau * prior.grad(x) + math.sqrt(2 * tau) * torch.randn(x.shape, generator=generator)
        out.append(x - sigma ** 2 * prior.grad(x))
        if progress:
            progress(i + b)
    return torch.cat(out), {"sampler": "walk-jump (ULA on p_sigma + Tweedie jump)", "ula_steps": steps,
                            "tau": tau, "sigma": sigma, "grad_evals_per_sample": steps + 1,
                            "init": "U[0,1]" if init is None else "N(pixel mean, pixel var) of the train split"}


def draw(name, prior, kind, n, args, generator):
    """n samples of a prior and a description of the sampler."""
    t = time.perf_counter()

    def progress(k):
        print(f"  {name}: {k}/{n} samples, {time.perf_counter() - t:.0f}s", flush=True)

    with torch.no_grad():
        if kind == "diffusion":
            xs = []
            for i in range(0, n, args.batch):
                xs.append(prior.sample(min(args.batch, n - i), steps=args.diffusion_steps, generator=generator))
                progress(i + xs[-1].shape[0])
            x = torch.cat(xs)
            info = {"sampler": "heun (EDM)", "steps": args.diffusion_steps, "nfe_per_sample": 2 * args.diffusion_steps - 1}
        elif kind == "ebm":
            init = None
            if args.ebm_init == "gaussian":
                tr = gp.data.fashion_mnist("train")
                init = (tr.mean(0), tr.std(0))
            x, info = ebm_walk_jump(prior, n, args.ebm_steps, args.ebm_tau, generator, init=init, progress=progress)
        else:
            xs = [prior.sample(min(1000, n - i), generator=generator) for i in range(0, n, 1000)]
            x = torch.cat(xs)
            info = {"sampler": "x = G(z), z ~ N(0, I)" + (" (decoder mean)" if kind == "vae" else "")}
    info["seconds"] = round(time.perf_counter() - t, 2)
    info["seconds_per_sample"] = round(info["seconds"] / n, 5)
    return x, info


def cached_draw(name, folder, prior, kind, n, args, seed):
    extra = json.dumps({"n": n, "seed": seed, "ds": args.diffusion_steps if kind == "diffusion" else None,
                        "ebm": [args.ebm_steps, args.ebm_tau, args.ebm_init] if kind == "ebm" else None})
    f = Path(args.cache) / f"{name}-{cache_key(folder, extra)}.pt"
    if f.exists() and not args.no_cache:
        d = torch.load(f, weights_only=False)
        print(f"  {name}: {n} samples from cache {f}", flush=True)
        return d["x"], d["info"]
    x, info = draw(name, prior, kind, n, args, torch.Generator().manual_seed(seed))
    f.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"x": x, "info": info}, f)
    return x, info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prior", action="append", help="NAME or NAME=CHECKPOINT_FOLDER (repeatable; 'none': merge "
                                                      "only); default all")
    ap.add_argument("--n", type=int, default=10_000, help="samples for FID (GAN, VAE, flow)")
    ap.add_argument("--n-diffusion", type=int, default=1000, help="samples for the diffusion FID (CPU cost)")
    ap.add_argument("--n-ebm", type=int, default=1000, help="samples for the EBM FID (CPU cost)")
    ap.add_argument("--n-small", type=int, default=1000, help="every prior is also scored on this many samples")
    ap.add_argument("--diffusion-steps", type=int, default=18)
    ap.add_argument("--ebm-steps", type=int, default=20)
    ap.add_argument("--ebm-tau", type=float, default=None)
    ap.add_argument("--ebm-init", choices=["gaussian", "uniform"], default="gaussian")
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--bpd-images", type=int, default=10_000, help="test images for the flow / VAE bits/dim")
    ap.add_argument("--extractor", default=None, help="FID classifier checkpoint folder (default: the shipped one)")
    ap.add_argument("--cache", default="/tmp/genbench_cache")
    ap.add_argument("--no-cache", action="store_true")
    ap.add_argument("--out", default=str(HERE / "generative_priors.json"))
    ap.add_argument("--merge", default="", help="comma list of other outputs of this script whose rows are merged in")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    command = " ".join(["python"] + [str(Path(sys.argv[0]))] + sys.argv[1:])

    from genprior.priors.registry import CHECKPOINT_DIR
    ext_folder = Path(args.extractor) if args.extractor else CHECKPOINT_DIR / gp.metrics.FID_EXTRACTOR
    extractor = gp.metrics.fid_extractor(ext_folder)
    ext_cfg = json.loads((ext_folder / "config.json").read_text())
    x_test = gp.data.fashion_mnist("test")
    x_train = gp.data.fashion_mnist("train")
    cache = {}

    def stats_test():                  # the test split's feature statistics, on first use
        if "test" not in cache:
            cache["test"] = gp.metrics.feature_stats(gp.metrics.fid_features(x_test, extractor))
        return cache["test"]
    floors = {}

    def floor(n):
        if n not in floors:
            idx = torch.randperm(x_train.shape[0], generator=torch.Generator().manual_seed(n))[:n]
            floors[n] = gp.metrics.frechet_distance(
                *gp.metrics.feature_stats(gp.metrics.fid_features(x_train[idx], extractor)), *stats_test())
        return round(floors[n], 4)

    def fid_vs_test(x):
        return round(gp.metrics.frechet_distance(
            *gp.metrics.feature_stats(gp.metrics.fid_features(x.clamp(0, 1), extractor)), *stats_test()), 4)

    ext_sha = hashlib.sha256((ext_folder / "model.safetensors").read_bytes()).hexdigest()[:16]
    out = Path(args.out)
    old = json.loads(out.read_text())["results"] if out.exists() else {"rows": []}
    same = old.get("extractor", {}).get("sha256") == ext_sha        # floors depend on the extractor
    old["floors"] = dict(old.get("floors_train_vs_test_by_n", {})) if same else {}
    for f in filter(None, args.merge.split(",")):
        other = json.loads(Path(f).read_text())["results"]
        for r in other.get("rows", []):          # bring the grid PNG next to --out
            src = Path(r["samples_png"]) if Path(r["samples_png"]).is_absolute() else HERE.parent.parent / r["samples_png"]
            dst = out.parent / src.name
            if src.resolve() != dst.resolve():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
            r["samples_png"] = (str(dst.resolve().relative_to(HERE.parent.parent))
                                if dst.resolve().is_relative_to(HERE.parent.parent) else str(dst))
        old["rows"] = old["rows"] + other.get("rows", [])
        if other.get("extractor", {}).get("sha256") == ext_sha:
            old["floors"].update(other.get("floors_train_vs_test_by_n", {}))
    rows = {r["prior"]: r for r in old.get("rows", [])}

    def save():
        floors_all = {**old.get("floors", {}), **{str(k): round(v, 4) for k, v in floors.items()}}
        order = {p: i for i, p in enumerate(DEFAULT)}
        save_report(out, {"rows": sorted(rows.values(), key=lambda r: order.get(r["prior"], 99)),
                          "floors_train_vs_test_by_n": floors_all,
                          "extractor": {"checkpoint": ext_cfg.get("name", str(ext_folder)), "sha256": ext_sha,
                                        "features": "penultimate linear layer (128-d, pre-ReLU) of a 3-conv CNN",
                                        "test_accuracy": ext_cfg.get("test_accuracy"),
                                        "training": ext_cfg.get("training")}},
                    command=command,
                    notes=__doc__.split("\n\n")[1].replace("\n", " ") + " 1 thread; rows merged by prior name, "
                          "each with its own command; every FID names its extractor's sha256. /tmp/final/<name> in the "
                          "commands: a copy of the final training checkpoint shipped as <name>.")

    for spec in args.prior or DEFAULT:
        if spec == "none":            # merge only
            continue
        name, folder = checkpoint_folder(spec)
        print(f"{name} ({folder})", flush=True)
        prior = gp.priors.load(str(folder))
        cfg = prior.config
        kind = cfg["kind"]
        tr = cfg.get("training", {})
        net = prior.net
        row = {"prior": name, "kind": kind, "dataset": cfg.get("dataset", tr.get("data")),
               "image_shape": list(prior.image_shape), "parameters": sum(p.numel() for p in net.parameters()),
               "training_steps": tr.get("steps_done"), "training_wall_time_s": tr.get("wall_time_s"),
               "training_batch_size": tr.get("batch_size"), "objective": cfg.get("objective", cfg.get("likelihood", cfg.get("parameterization"))),
               "command": command}
        fashion = "fashion" in str(row["dataset"])
        n = {"diffusion": args.n_diffusion, "ebm": args.n_ebm}.get(kind, args.n) if fashion else 64
        x, info = cached_draw(name, folder, prior, kind, n, args, seed=0)
        finite = torch.isfinite(x).flatten(1).all(1)
        row["sampling"] = {"n": n, **info, "non_finite_samples": int((~finite).sum())}
        x = x[finite]              # a flow may overflow on rare latents; the count is reported, FID on the rest
        n = x.shape[0]
        png = out.parent / f"samples_{name}.png"
        png.parent.mkdir(parents=True, exist_ok=True)
        save_grid(x[:64].clamp(0, 1), png, nrow=8)
        row["samples_png"] = str(png.resolve().relative_to(HERE.parent.parent)) if png.resolve().is_relative_to(
            HERE.parent.parent) else str(png)
        if fashion:
            row["fid"] = {"n": n, "fid_vs_test": fid_vs_test(x), "floor_train_vs_test": floor(n),
                          "extractor_sha256": ext_sha}
            ns = min(args.n_small, n)
            row["fid_small_n"] = {"n": ns, "fid_vs_test": fid_vs_test(x[:ns]), "floor_train_vs_test": floor(ns)}
            if kind == "flow":       # the temperature the flow literature shows samples at
                with torch.no_grad():
                    z = 0.8 * prior.sample_latent(ns, torch.Generator().manual_seed(1))
                    xt = torch.cat([prior.generate(z[i:i + 1000]) for i in range(0, ns, 1000)])
                xt = xt[torch.isfinite(xt).flatten(1).all(1)]
                row["fid_small_n"]["fid_vs_test_temperature_0.8"] = fid_vs_test(xt)
            if kind in ("flow", "vae"):
                xb = x_test[:args.bpd_images]
                g = torch.Generator().manual_seed(2)
                t = time.perf_counter()
                with torch.no_grad():
                    bpd = torch.cat([prior.bits_per_dim(xb[i:i + 500], g) for i in range(0, xb.shape[0], 500)])
                row["bits_per_dim_test"] = {"value": round(float(bpd.mean()), 4),
                                            "stderr": round(float(bpd.std() / math.sqrt(bpd.numel())), 4),
                                            "images": int(bpd.numel()),
                                            "kind": "exact (dequantized)" if kind == "flow" else
                                            "upper bound: negative ELBO, 1 sample of q(z|x) (dequantized)",
                                            "seconds": round(time.perf_counter() - t, 1)}
        rows[name] = row
        print(json.dumps({k: v for k, v in row.items() if k not in ("command",)}), flush=True)
        save()
    save()


if __name__ == "__main__":
    main()
