"""The ``genprior`` command line: list, solve, demo, train."""
from __future__ import annotations

import argparse
import json
import sys


def _int_tuple(s: str) -> tuple:
    return tuple(int(v) for v in s.split(",") if v.strip() != "")


def cmd_train(args) -> int:
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.family in ("gan", "vae", "flow", "ebm", "classifier"):
        return _train_generative(args)
    if args.family != "diffusion":
        raise SystemExit(f"unknown family {args.family!r}; known: diffusion, gan, vae, flow, ebm, classifier")
    from .training.diffusion import DiffusionTrainConfig, train_diffusion
    cfg = DiffusionTrainConfig(data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size or 32,
                               lr=args.lr or 2e-4, ema_decay=args.ema or 0.999, parameterization=args.parameterization,
                               channels=_int_tuple(args.channels), num_res_blocks=args.num_res_blocks,
                               attn_levels=_int_tuple(args.attn_levels), seed=args.seed, save_every=args.save_every,
                               sample_every=args.sample_every, name=args.name or "")
    train_diffusion(cfg, progress=not args.no_progress)
    return 0


def _train_generative(args) -> int:
    """``genprior train gan|vae|flow|ebm|classifier``: the shared options plus each family's own (unset ones keep
    the family's defaults)."""
    import importlib
    fam = args.family
    mod = importlib.import_module(f".training.{fam}", __package__)
    prefix = {"gan": "GAN", "vae": "VAE", "flow": "Flow", "ebm": "EBM", "classifier": "Classifier"}[fam]
    cls = getattr(mod, prefix + "TrainConfig")
    fields = set(cls.__dataclass_fields__)
    kw = dict(data=args.data, out=args.out, steps=args.steps, seed=args.seed, save_every=args.save_every,
              sample_every=args.sample_every, name=args.name or "")
    given = {"batch_size": args.batch_size, "lr": args.lr, "latent_dim": args.latent_dim, "width": args.width,
             "r1_gamma": args.r1_gamma, "sigma": args.sigma, "hidden": args.hidden, "levels": args.levels,
             "steps_per_level": args.steps_per_level, "ema_decay": args.ema}
    for k, v in given.items():
        if v is not None and k in fields:
            kw[k] = v
    getattr(mod, f"train_{fam}")(cls(**kw), progress=not args.no_progress)
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


def cmd_solve(args) -> int:
    import torch
    from .bench.solve_image import run_solve
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

    t = sub.add_parser("train", help="train a prior, or the FID classifier (resumes from OUT if a training state "
                                     "is there)")
    t.add_argument("family", choices=["diffusion", "gan", "vae", "flow", "ebm", "classifier"])
    t.add_argument("--data", required=True, help="phantoms64, fashion28, fashion32, animal32, digits8 or a folder")
    t.add_argument("--out", required=True)
    t.add_argument("--steps", type=int, default=10000)
    t.add_argument("--batch-size", type=int, default=None, help="default 32 (diffusion), 64 (others)")
    t.add_argument("--lr", type=float, default=None, help="default: the family's (diffusion 2e-4)")
    t.add_argument("--ema", type=float, default=None, help="EMA decay (default 0.999)")
    t.add_argument("--latent-dim", type=int, default=None, help="gan (64) / vae (32) latent size")
    t.add_argument("--width", type=int, default=None, help="gan / vae / ebm / classifier base channel width (32)")
    t.add_argument("--r1-gamma", type=float, default=None, help="gan: R1 penalty weight (1.0)")
    t.add_argument("--sigma", type=float, default=None, help="ebm: denoising score matching noise level (0.1)")
    t.add_argument("--hidden", type=int, default=None, help="flow: coupling network width (64)")
    t.add_argument("--levels", type=int, default=None, help="flow: number of scales (2)")
    t.add_argument("--steps-per-level", type=int, default=None, help="flow: flow steps per scale (6)")
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
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
