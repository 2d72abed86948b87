"""Quality of the shipped diffusion priors: the PSNR of each prior's Tweedie denoiser at
sigma in {0.05, 0.1, 0.2} on held-out images of its domain, beside BM3D (when installed) and
NL-means on the same noisy images; and a PNG grid of 16 unconditional samples per prior.

    python benchmarks/priors/priors.py     # writes benchmarks/priors/priors.json, samples_<prior>.png
"""
import argparse
import time

import torch

import genprior as gp
from genprior.bench import save_report
from genprior.training.diffusion import save_grid


def held_out(name, prior, n):
    if "phantom" in name:
        return gp.data.phantoms(n, prior.image_shape[-1], generator=torch.Generator().manual_seed(10_000))
    if "fashion" in name:
        pad = prior.image_shape[-1] if prior.image_shape[-1] != 28 else None
        return gp.data.fashion_mnist("test", pad_to=pad)[:n]
    raise ValueError(f"no held-out set known for {name}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--priors", default=",".join(gp.priors.shipped()))
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--sample-steps", type=int, default=32)
    ap.add_argument("--out", default="benchmarks/priors/priors.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    denoisers = {"nlm": gp.priors.load("nlm")}
    try:
        denoisers["bm3d"] = gp.priors.load("bm3d")
    except ImportError:
        print("bm3d not installed: skipped")
    rows = []
    for name in args.priors.split(","):
        prior = gp.priors.load(name)
        x = held_out(name, prior, args.images)
        for sigma in (0.05, 0.1, 0.2):
            y = x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(int(sigma * 1000)))
            row = {"prior": name, "sigma": sigma, "noisy": float(gp.metrics.psnr(y.clamp(0, 1), x).mean())}
            t = time.perf_counter()
            with torch.no_grad():
                d = prior.denoise(y, sigma)
            row["tweedie"] = float(gp.metrics.psnr(d.clamp(0, 1), x).mean())
            row["tweedie_s_per_image"] = (time.perf_counter() - t) / x.shape[0]
            for k, den in denoisers.items():
                t = time.perf_counter()
                row[k] = float(gp.metrics.psnr(den.denoise(y, sigma).clamp(0, 1), x).mean())
                row[k + "_s_per_image"] = (time.perf_counter() - t) / x.shape[0]
            if "bm3d" in row:
                row["tweedie_minus_bm3d_db"] = row["tweedie"] - row["bm3d"]
            rows.append({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
            print(rows[-1], flush=True)
        g = torch.Generator().manual_seed(0)
        samples = prior.sample(16, steps=args.sample_steps, generator=g)
        save_grid(samples.clamp(0, 1), f"benchmarks/priors/samples_{name}.png", nrow=4)
        rows.append({"prior": name, "samples_png": f"benchmarks/priors/samples_{name}.png", "sampler": "heun",
                     "steps": args.sample_steps, "training": prior.config.get("training", {})})
    save_report(args.out, rows, notes="PSNR (dB) on held-out images in [0, 1] (phantoms: generator seed 10000, "
                                      "never used in training; Fashion-MNIST: test split); Tweedie = the prior's "
                                      "x0(y, sigma); 1 thread.")


if __name__ == "__main__":
    main()
