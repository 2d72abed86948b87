"""The ``genprior`` command line: list, solve, demo, train."""
from __future__ import annotations

import argparse
import json
import os
import sys


def _int_tuple(s: str) -> tuple:
    return tuple(int(v) for v in s.split(",") if v.strip() != "")


def cmd_train(args) -> int:
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.family != "diffusion":
        raise SystemExit(f"unknown prior family {args.family!r}; known: diffusion")
    from .training.diffusion import DiffusionTrainConfig, train_diffusion
    cfg = DiffusionTrainConfig(data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size,
                               lr=args.lr, ema_decay=args.ema, parameterization=args.parameterization,
                               channels=_int_tuple(args.channels), num_res_blocks=args.num_res_blocks,
                               attn_levels=_int_tuple(args.attn_levels), seed=args.seed, save_every=args.save_every,
                               sample_every=args.sample_every, name=args.name or "")
    train_diffusion(cfg, progress=not args.no_progress)
    return 0


def _parse_opts(pairs) -> dict:
    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise SystemExit(f"--opt expects key=value, got {p!r}")
        k, v = p.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def cmd_list(args) -> int:
    import genprior as gp
    from .priors import registry
    print("tasks:   " + ", ".join(gp.tasks.names()))
    print("methods: " + ", ".join(gp.solvers.names()))
    print("priors:  " + ", ".join(registry.names()))
    print("images:  " + ", ".join(gp.data.image_names()))
    return 0


def run_solve(task: str, image: str, method: str, out, *, size: int = 64, sigma_y: float = 0.01, prior=None,
              seed: int = 0, task_opts=None, method_opts=None, progress: bool = True, num_samples: int | None = None,
              dtype: str = "float32") -> dict:
    """Measure an offline test image, reconstruct it, write PNGs and a metrics JSON; return the metrics."""
    from pathlib import Path
    import torch
    import genprior as gp
    from .viz import measurement_image, save_png
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    if image.startswith("phantom"):
        x = gp.data.phantoms(1, size, generator=torch.Generator().manual_seed(10_000 + seed), dtype=dt)
    else:
        x = gp.data.image(image, size, grayscale=True, dtype=dt)
    problem = gp.tasks.make(task, tuple(x.shape[1:]), sigma_y=sigma_y, **(task_opts or {}))
    y = problem.measure(x, generator=torch.Generator().manual_seed(seed))
    prior_obj = gp.priors.load(prior) if isinstance(prior, str) else prior
    opts = dict(method_opts or {})
    if num_samples is not None:
        opts["num_samples"] = num_samples
    res = gp.solve(problem, y, method=method, prior=prior_obj, generator=torch.Generator().manual_seed(seed),
                   progress=progress, **opts)
    xr = res.x.clamp(0, 1)
    meas, caption = measurement_image(problem, y)
    save_png(x[0], out / "truth.png")
    save_png(meas, out / "measurement.png", lo=None, hi=None)
    save_png(xr[0], out / "reconstruction.png")
    if res.samples is not None:
        n = min(res.samples.shape[0], 8)
        row = torch.cat([s[0, 0] for s in res.samples[:n].clamp(0, 1)], dim=-1)
        save_png(row, out / "samples.png")
        save_png(res.mean[0].clamp(0, 1), out / "posterior_mean.png")
        save_png(res.std[0], out / "posterior_std.png", lo=None, hi=None)
    metrics = {"task": task, "image": image, "size": size, "sigma_y": sigma_y, "method": method,
               "prior": prior if isinstance(prior, str) or prior is None else type(prior).__name__,
               "psnr": float(gp.metrics.psnr(xr, x)[0]), "ssim": float(gp.metrics.ssim(xr, x)[0]),
               "residual": float(gp.metrics.residual(problem.operator, res.x, y)[0]),
               "nfe": res.nfe, "seconds": round(res.seconds, 3), "measurement_picture": caption,
               "task_options": task_opts or {}, "method_options": method_opts or {},
               "units": "images in [0, 1]; sigma_y on that scale"}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def cmd_solve(args) -> int:
    import torch
    torch.set_num_threads(args.threads) if args.threads else None
    m = run_solve(args.task, args.image, args.method, args.out, size=args.size, sigma_y=args.sigma_y, prior=args.prior,
                  seed=args.seed, task_opts=_parse_opts(args.task_opt), method_opts=_parse_opts(args.opt),
                  progress=not args.no_progress, num_samples=args.num_samples, dtype=args.dtype)
    print(json.dumps({k: m[k] for k in ("task", "method", "psnr", "ssim", "nfe", "seconds")}))
    print(f"wrote {args.out}/truth.png, measurement.png, reconstruction.png, metrics.json")
    return 0


def cmd_demo(args) -> int:
    import torch
    torch.set_num_threads(args.threads) if args.threads else None
    from .demo import run_demo
    run_demo(args.out, quick=args.quick)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genprior", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("list", help="list tasks, methods, priors and test images")
    ls.set_defaults(func=cmd_list)

    s = sub.add_parser("solve", help="measure a test image, reconstruct it, write PNGs and metrics.json")
    s.add_argument("--task", required=True)
    s.add_argument("--image", default="shepp_logan", help="an offline test image name, or 'phantom'")
    s.add_argument("--method", default="mle")
    s.add_argument("--prior", default=None, help="a shipped prior name or a checkpoint folder")
    s.add_argument("--out", required=True)
    s.add_argument("--size", type=int, default=64)
    s.add_argument("--sigma-y", type=float, default=0.01)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--num-samples", type=int, default=None)
    s.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    s.add_argument("--opt", action="append", help="method option key=value (repeatable)")
    s.add_argument("--task-opt", action="append", help="task option key=value (repeatable)")
    s.add_argument("--threads", type=int, default=None)
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_solve)

    d = sub.add_parser("demo", help="the README's main job: a gallery of tasks and methods")
    d.add_argument("--out", default="out/demo")
    d.add_argument("--quick", action="store_true", help="smaller images and fewer methods")
    d.add_argument("--threads", type=int, default=None)
    d.set_defaults(func=cmd_demo)

    t = sub.add_parser("train", help="train a prior (resumes from OUT if a training state is there)")
    t.add_argument("family", choices=["diffusion"])
    t.add_argument("--data", required=True, help="phantoms64, fashion28, fashion32, animal32, digits8 or a folder")
    t.add_argument("--out", required=True)
    t.add_argument("--steps", type=int, default=10000)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--ema", type=float, default=0.999)
    t.add_argument("--parameterization", choices=["edm", "eps", "x0"], default="edm")
    t.add_argument("--channels", default="32,64,64")
    t.add_argument("--num-res-blocks", type=int, default=1)
    t.add_argument("--attn-levels", default="")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--save-every", type=int, default=250)
    t.add_argument("--sample-every", type=int, default=1000)
    t.add_argument("--name", default=None)
    t.add_argument("--threads", type=int, default=None, help="torch threads (1 is fastest on a busy machine)")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=cmd_train)

    from .bench.cli import add_bench_parser, add_report_parser
    add_bench_parser(sub)
    add_report_parser(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
