"""The ``genprior`` command line: list, info, solve, demo, train.

Errors print one line, ``genprior: error: ...``, on stderr and exit with status 2 (bad usage or
input: an unknown name, a bad option value, a missing file) or 1 (a failure while running);
``--debug`` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import json
import math
import sys

#: exceptions that mean "the input is wrong" (exit status 2); anything else exits with 1
USAGE_ERRORS = (ValueError, TypeError, KeyError, FileNotFoundError, IsADirectoryError, NotADirectoryError)


class GenpriorError(Exception):
    """An error with a message for the user and an exit status."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Each flag's default after its help, unless the help already says it or there is none."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text or action.default is None or action.default is False
                or action.default == argparse.SUPPRESS or not action.option_strings):
            return text
        return super()._get_help_string(action)


def _positive_int(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {v}")
    return v


def _nonneg_float(s: str) -> float:
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {s!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {s}")
    return v


def _int_tuple(s: str) -> tuple:
    return tuple(int(v) for v in s.split(",") if v.strip() != "")


def _progress(args) -> bool:
    """Progress bars go to stderr and only when it is a terminal (never into logs or pipes)."""
    return not args.no_progress and sys.stderr.isatty()


def cmd_train(args) -> int:
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.family == "consistency":
        return _train_consistency(args)
    if args.data is None:
        raise GenpriorError(f"genprior train {args.family}: --data is required")
    if args.family in ("gan", "vae", "flow", "ebm", "classifier"):
        return _train_generative(args)
    if args.family == "amortized":
        return _train_amortized(args)
    if args.family != "diffusion":
        raise GenpriorError(f"unknown family {args.family!r}; known: diffusion, gan, vae, flow, ebm, amortized, "
                            "consistency, classifier")
    from .training.diffusion import DiffusionTrainConfig, train_diffusion
    cfg = DiffusionTrainConfig(data=args.data, out=args.out, steps=args.steps, batch_size=args.batch_size or 32,
                               lr=args.lr or 2e-4, ema_decay=args.ema or 0.999, parameterization=args.parameterization,
                               channels=_int_tuple(args.channels), num_res_blocks=args.num_res_blocks,
                               attn_levels=_int_tuple(args.attn_levels), seed=args.seed, save_every=args.save_every,
                               sample_every=args.sample_every, name=args.name or "")
    train_diffusion(cfg, progress=_progress(args))
    return 0


def _train_consistency(args) -> int:
    """``genprior train consistency --teacher NAME``: consistency distillation (training/consistency.py)."""
    from .training.consistency import ConsistencyTrainConfig, train_consistency
    if not args.teacher:
        raise GenpriorError("genprior train consistency: --teacher is required (a diffusion prior name or folder)")
    kw = {k: v for k, v in dict(batch_size=args.batch_size, lr=args.lr, ema_decay=args.ema, bins=args.bins,
                                target_ema=args.target_ema, loss=args.loss).items() if v is not None}
    train_consistency(ConsistencyTrainConfig(teacher=args.teacher, out=args.out, data=args.data or "", steps=args.steps,
                                             seed=args.seed, save_every=args.save_every, sample_every=args.sample_every,
                                             name=args.name or "", **kw), progress=not args.no_progress)
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
    getattr(mod, f"train_{fam}")(cls(**kw), progress=_progress(args))
    return 0


def _train_amortized(args) -> int:
    """``genprior train amortized --task T [--task-opt k=v] [--sigma-y S] [--model diffusion|mmse]``."""
    from .training.amortized import AmortizedTrainConfig, train_amortized
    if not args.task:
        raise GenpriorError("train amortized needs --task (e.g. sr4, ct)")
    cfg = AmortizedTrainConfig(task=args.task, data=args.data, out=args.out, model=args.model,
                               task_options=_parse_opts(args.task_opt), sigma_y=args.sigma_y or 0.01,
                               condition=args.condition, steps=args.steps, batch_size=args.batch_size or 32,
                               lr=args.lr or 2e-4, ema_decay=args.ema or 0.999, parameterization=args.parameterization,
                               channels=_int_tuple(args.channels), num_res_blocks=args.num_res_blocks,
                               attn_levels=_int_tuple(args.attn_levels), seed=args.seed, save_every=args.save_every,
                               sample_every=args.sample_every, name=args.name or "")
    train_amortized(cfg, progress=not args.no_progress)
    return 0


def _parse_opts(pairs) -> dict:
    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise ValueError(f"--opt / --task-opt expect key=value, got {p!r}")
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
    from pathlib import Path

    from .bench.solve_image import rerun, run_solve
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.rerun:
        out = args.out or str(Path(args.rerun).parent / "rerun")
        m = rerun(args.rerun, out, progress=not args.no_progress)
        print(json.dumps({k: m[k] for k in ("task", "method", "psnr", "ssim", "nfe", "seconds")}))
        print(f"wrote {out}/ (reconstruction.npy, metrics.json, PNGs)")
        return 0
    if not args.task or not args.out:
        raise GenpriorError("solve needs --task and --out (or --rerun METRICS_JSON)")
    images = [args.image]
    outs = [Path(args.out)]
    if Path(args.image).is_dir():
        from .data.images import image_files
        files = image_files(args.image)
        if not files:
            raise FileNotFoundError(f"no image files ({', '.join(('png', 'jpg', 'tif'))}, ...) in {args.image!r}")
        images = [str(f) for f in files]
        stems = [f.stem for f in files]
        outs = [Path(args.out) / (f.stem if stems.count(f.stem) == 1 else f.name.replace(".", "_")) for f in files]
    rows = []
    for image, out in zip(images, outs):
        m = run_solve(args.task, image, args.method, out, size=args.size, sigma_y=args.sigma_y, prior=args.prior,
                      seed=args.seed, task_opts=_parse_opts(args.task_opt), method_opts=_parse_opts(args.opt),
                      progress=not args.no_progress, num_samples=args.num_samples, dtype=args.dtype,
                      channels=args.channels)
        rows.append(m)
        print(json.dumps({k: m[k] for k in ("task", "image", "method", "psnr", "ssim", "nfe", "seconds")}))
        files = "truth.png, measurement.png, reconstruction.png, reconstruction.npy, metrics.json"
        print(f"wrote {out}/ ({files}{', figure.png' if (out / 'figure.png').exists() else ''}"
              f"{', samples.png, posterior_mean.png, posterior_std.png' if (out / 'samples.png').exists() else ''})")
    if len(rows) > 1:
        (Path(args.out) / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
        print(f"wrote {args.out}/summary.json ({len(rows)} images)")
    return 0


def cmd_info(args) -> int:
    from .info import describe
    if len(args.names) == 2:
        print(describe(args.names[1], kind=args.names[0]))
    elif len(args.names) == 1:
        print(describe(args.names[0]))
    else:
        raise GenpriorError("info takes NAME or KIND NAME (KIND: method, task, prior)")
    return 0


def cmd_demo(args) -> int:
    import torch
    torch.set_num_threads(args.threads) if args.threads else None
    from .demo import run_demo
    run_demo(args.out, quick=args.quick)          # prints where it wrote its figure
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="genprior", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--debug", action="store_true", help="show the traceback of an error (accepted anywhere)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ls = sub.add_parser("list", help="list tasks, methods, priors and test images")
    ls.set_defaults(func=cmd_list)

    s = sub.add_parser("solve", formatter_class=_HelpFormatter,
                       help="measure an image, reconstruct it, write PNGs, reconstruction.npy and metrics.json",
                       description="Measure an image with a task's forward model and noise, reconstruct it with a "
                                   "method (and a prior), and write truth/measurement/reconstruction PNGs, the "
                                   "reconstruction as .npy, a figure and metrics.json (everything needed to rerun). "
                                   "Images are in [0, 1]; sigma_y is on that scale. 'genprior info NAME' lists the "
                                   "options of a method, task or prior.")
    s.add_argument("--task", default=None, help="the inverse problem (genprior list; genprior info TASK)")
    s.add_argument("--image", default="shepp_logan",
                   help="a test image name (genprior list), 'phantom' (a random phantom drawn from --seed), an "
                        "image file (PNG/JPEG/TIFF, any size) or a folder of them (one solve each, in OUT/<name>/). "
                        "Resize rule: centre crop to a square, then an anti-aliased resize to --size (never a stretch)")
    s.add_argument("--channels", choices=["auto", "gray", "rgb"], default="auto",
                   help="auto: test images grey, files as stored (RGB kept as 3 channels); gray: convert to grey; "
                        "rgb: 3 channels")
    s.add_argument("--method", default="mle", help="the reconstruction method (genprior list; genprior info METHOD)")
    s.add_argument("--prior", default=None,
                   help="a shipped prior or classical denoiser name, a checkpoint folder, or hf:org/name "
                        "(a diffusers hub id)")
    s.add_argument("--out", default=None, help="output folder (required unless --rerun; then OUT defaults to "
                                                "the metrics file's folder/rerun)")
    s.add_argument("--size", type=_positive_int, default=None,
                   help="image side in pixels after the crop and resize (default: the prior's size, else 64)")
    s.add_argument("--sigma-y", type=_nonneg_float, default=0.01, help="noise std on the [0, 1] image scale")
    s.add_argument("--seed", type=int, default=0, help="seed of the measurement noise and of the method's randomness")
    s.add_argument("--num-samples", type=_positive_int, default=None,
                   help="posterior samples drawn by a sampling method (default: the method's own)")
    s.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="floating-point precision")
    s.add_argument("--opt", action="append", metavar="KEY=VALUE",
                   help="a method option, value as JSON (repeatable; genprior info METHOD lists them)")
    s.add_argument("--task-opt", action="append", metavar="KEY=VALUE",
                   help="a task option, value as JSON (repeatable; genprior info TASK lists them)")
    s.add_argument("--rerun", default=None, metavar="METRICS_JSON",
                   help="run the solve recorded in a metrics.json again (same seed, options, dtype, threads); "
                        "the other flags except --out, --no-progress and --debug are ignored")
    s.add_argument("--threads", type=_positive_int, default=None, help="torch threads (default: torch's)")
    s.add_argument("--no-progress", action="store_true",
                   help="no progress bar (bars go to stderr and only when it is a terminal)")
    s.set_defaults(func=cmd_solve)

    i = sub.add_parser("info", help="the options of a method, task or prior, with types, defaults and notes",
                       description="Print what a method, task or prior takes: each option with its type, default "
                                   "and explanation. A name that is both (tv: a method and a prior) prints both; "
                                   "'genprior info method tv' picks one.")
    i.add_argument("names", nargs="+", metavar="[KIND] NAME", help="KIND: method, task or prior")
    i.set_defaults(func=cmd_info)

    d = sub.add_parser("demo", help="the README's main job: a gallery of tasks and methods",
                       formatter_class=_HelpFormatter)
    d.add_argument("--out", default="out/demo", help="output folder (demo.png, summary.json, one folder per solve)")
    d.add_argument("--quick", action="store_true", help="smaller images and fewer methods")
    d.add_argument("--threads", type=_positive_int, default=None, help="torch threads")
    d.set_defaults(func=cmd_demo)

    t = sub.add_parser("train", help="train a prior, or the FID classifier (resumes from OUT if a training state "
                                     "is there)", formatter_class=_HelpFormatter)
    t.add_argument("family", choices=["diffusion", "gan", "vae", "flow", "ebm", "amortized", "consistency", "classifier"])
    t.add_argument("--data", default=None, help="phantoms64, fashion28, fashion32, animal32, digits8 or a folder "
                   "(required but for consistency, which defaults to the teacher's data)")
    t.add_argument("--teacher", default=None, help="consistency: the diffusion prior to distil (name or folder)")
    t.add_argument("--bins", type=int, default=None, help="consistency: Karras grid size N (18)")
    t.add_argument("--target-ema", type=float, default=None, help="consistency: target network EMA mu (0.95)")
    t.add_argument("--loss", choices=["pseudo_huber", "l2"], default=None, help="consistency: distance (pseudo_huber)")
    t.add_argument("--out", required=True)
    t.add_argument("--steps", type=_positive_int, default=10000, help="training steps (>= 1)")
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
    t.add_argument("--task", default=None, help="amortized: the task it is trained for (sr4, ct, ...)")
    t.add_argument("--task-opt", action="append", help="amortized: task option key=value (repeatable)")
    t.add_argument("--sigma-y", type=float, default=None, help="amortized: measurement noise (0.01)")
    t.add_argument("--model", choices=["diffusion", "mmse"], default="diffusion", help="amortized: which network")
    t.add_argument("--condition", choices=["auto", "pinv", "fbp", "adjoint"], default="auto",
                   help="amortized: y -> image map (auto: FBP for CT, else pseudo-inverse)")
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


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``genprior: error: ...`` and exit status 2."""

    def error(self, message):
        sub = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        hint = f" (see 'genprior {sub + ' ' if sub else ''}--help')"
        _fail(f"{message}{hint}", 2)


def _fail(message: str, status: int):
    message = " ".join(str(message).split())          # one line
    print(f"genprior: error: {message}", file=sys.stderr)
    raise SystemExit(status)


def _message(e: BaseException) -> str:
    if isinstance(e, KeyError) and e.args:
        return str(e.args[0])
    text = str(e) or type(e).__name__
    if isinstance(e, (FileNotFoundError, IsADirectoryError)) and e.filename and e.filename not in text:
        text = f"{text}: {e.filename}"
    return text


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"genprior: warning: {message}", file=sys.stderr)


def main(argv=None) -> int:
    """Run the command line; returns the exit status (errors: one line on stderr, status 2 for bad
    input, 1 for a failure; ``--debug`` anywhere on the line re-raises with the traceback)."""
    import warnings
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    args = parser.parse_args(argv)
    if debug:
        return args.func(args)
    old = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return args.func(args)
    except GenpriorError as e:
        _fail(str(e), e.status)
    except USAGE_ERRORS as e:
        _fail(_message(e), 2)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as e:  # a failure while running: one line, the type named
        _fail(f"{type(e).__name__}: {_message(e)} (rerun with --debug for the traceback)", 1)
    finally:
        warnings.showwarning = old
    return 1


if __name__ == "__main__":
    sys.exit(main())
