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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="genprior", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

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
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
