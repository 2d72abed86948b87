"""One solve on an image, with its pictures and metrics written to a folder: the work behind
``genprior solve`` and each entry of ``genprior demo`` (both call this, not each other).

``metrics.json`` records everything needed to run the same solve again (``rerun``): the seed,
dtype, number of samples, torch threads, every resolved option (defaults included), the task's
options, the prior and its checkpoint's sha256, the image file's sha256, and genprior's version
and git commit. ``reconstruction.npy`` holds the unclamped reconstruction for a bit-exact check.
"""
from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

CHANNELS = ("auto", "gray", "rgb")


def sha256_file(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def git_commit() -> str | None:
    """The commit of the genprior source tree (with ``+dirty`` when it has local changes), or None
    when it is not a git checkout."""
    import subprocess
    here = Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--", "."],
                               capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def prior_record(prior) -> dict | None:
    """Name, source and checkpoint hash of a prior given by name or path (None without a prior)."""
    if prior is None:
        return None
    if not isinstance(prior, (str, Path)):
        return {"name": getattr(prior, "name", type(prior).__name__), "source": "object", "checkpoint_sha256": None}
    from ..priors.registry import CHECKPOINT_DIR, shipped
    name = str(prior)
    folder = CHECKPOINT_DIR / name if name in shipped() else Path(name).expanduser()
    weights = folder / "model.safetensors" if folder.is_dir() else None
    if weights is None or not weights.exists():
        return {"name": name, "source": "named factory" if not folder.is_dir() else str(folder),
                "checkpoint_sha256": None}
    return {"name": name, "source": "shipped" if name in shipped() else str(folder.resolve()),
            "checkpoint_sha256": sha256_file(weights)}


def load_image(image: str, size: int, *, channels: str = "auto", seed: int = 0, dtype=None):
    """The truth: a random phantom (``phantom``, drawn from the seed), a named test image (grey
    unless ``channels='rgb'``) or an image file (its own channels unless ``channels`` says)."""
    import torch

    import genprior as gp
    if channels not in CHANNELS:
        raise ValueError(f"channels must be one of {', '.join(CHANNELS)}, got {channels!r}")
    dtype = dtype or torch.float32
    if image.startswith("phantom") and not Path(image).exists():
        if channels == "rgb":
            raise ValueError("the phantoms are grey images; use --channels auto or gray")
        return gp.data.phantoms(1, size, generator=torch.Generator().manual_seed(10_000 + seed), dtype=dtype)
    named = gp.data.images.is_image_name(image)
    grayscale = {"gray": True, "rgb": False, "auto": True if named else None}[channels]
    return gp.data.image(image, size, grayscale=grayscale, dtype=dtype)


def run_solve(task: str, image: str, method: str, out, *, size: int | None = 64, sigma_y: float = 0.01, prior=None,
              seed: int = 0, task_opts=None, method_opts=None, progress: bool = True, num_samples: int | None = None,
              dtype: str = "float32", channels: str = "auto", figure: bool = True) -> dict:
    """Measure an image, reconstruct it, write PNGs, ``reconstruction.npy`` and ``metrics.json``;
    return the metrics. ``size=None`` takes the prior's image size (64 without a prior)."""
    import numpy as np
    import torch

    import genprior as gp
    from ..solvers.base import build_options, method_info, resolved_options
    from ..viz import caption as make_caption
    from ..viz import measurement_image, save_png, save_solve_figure, save_std_map
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    dt = {"float32": torch.float32, "float64": torch.float64}[dtype]
    prior_obj = gp.priors.load(prior) if isinstance(prior, (str, Path)) else prior
    prior_shape = tuple(getattr(prior_obj, "image_shape", None) or ()) if prior_obj is not None else ()
    if size is None:
        size = prior_shape[-1] if prior_shape else 64
    x = load_image(image, size, channels=channels, seed=seed, dtype=dt)
    if prior_shape and x.shape[1] != prior_shape[0]:
        hint = " (pass --channels gray to convert it)" if x.shape[1] == 3 and prior_shape[0] == 1 else ""
        raise ValueError(f"prior {getattr(prior_obj, 'name', prior)!r} works on {prior_shape[0]}-channel images "
                         f"{prior_shape}; the image has {x.shape[1]} channels{hint}")
    problem = gp.tasks.make(task, tuple(x.shape[1:]), sigma_y=sigma_y, **(task_opts or {}))
    opts = dict(method_opts or {})
    if num_samples is not None:
        opts["num_samples"] = num_samples
    built = build_options(method_info(method), opts)
    resolved = resolved_options(built)
    from ..solvers.map.common import kind_defaults
    resolved.update(kind_defaults(method, built, problem))       # by-kind defaults: the value used, not None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    y = problem.measure(x, generator=torch.Generator().manual_seed(seed))
    res = gp.solve(problem, y, method=method, prior=prior_obj, generator=torch.Generator().manual_seed(seed),
                   progress=progress, **opts)
    xr = res.x.clamp(0, 1)
    meas, meas_caption = measurement_image(problem, y)
    save_png(x[0], out / "truth.png")
    save_png(meas, out / "measurement.png", lo=None, hi=None)
    save_png(xr[0], out / "reconstruction.png")
    np.save(out / "reconstruction.npy", res.x.detach().cpu().numpy())
    prior_name = prior if isinstance(prior, str) or prior is None else getattr(prior, "name", type(prior).__name__)
    all_task_opts = {**gp.tasks.options_of(task), **(task_opts or {})}
    title = make_caption(task, task_opts, sigma_y, prior_name) + f"; {method}"
    std_top = None
    if res.samples is not None:
        n = min(res.samples.shape[0], 8)
        row = torch.cat([s[0] for s in res.samples[:n].clamp(0, 1)], dim=-1)
        save_png(row, out / "samples.png")
        save_png(res.mean[0].clamp(0, 1), out / "posterior_mean.png")
        std_top = save_std_map(res.std[0], out / "posterior_std.png", title=title)
    if figure:
        panels = [(x[0], "truth"), (meas, meas_caption),
                  (xr[0], f"reconstruction\n{float(gp.metrics.psnr(xr, x)[0]):.2f} dB")]
        save_solve_figure(out / "figure.png", panels, title=title, std=res.std[0] if res.std is not None else None)
    image_rec = {"name": image}
    if not gp.data.images.is_image_name(image) and Path(image).is_file():
        image_rec = {"path": str(Path(image).resolve()), "sha256": sha256_file(image)}
    if "ess" in res.info:                       # particle samplers: the ESS trace over the steps
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.plot(res.info["ess"])
        ax.set(xlabel="step", ylabel="ESS (mean over filters)", ylim=(0, res.info["particles"] * 1.05),
               title=f"{method}: {res.info['particles']} particles, {res.info['resamples']} resamplings")
        fig.tight_layout()
        fig.savefig(out / "ess.png", dpi=100)
        plt.close(fig)
    metrics = {"task": task, "image": image, "size": size, "sigma_y": sigma_y, "method": method,
               "prior": prior_name,
               "psnr": float(gp.metrics.psnr(xr, x)[0]), "ssim": float(gp.metrics.ssim(xr, x)[0]),
               "residual": float(gp.metrics.residual(problem.operator, res.x, y)[0]),
               "nfe": res.nfe, "seconds": round(res.seconds, 3), "measurement_picture": meas_caption,
               "task_options": task_opts or {}, "method_options": method_opts or {},
               "units": "images in [0, 1]; sigma_y on that scale",
               # what a rerun needs (``genprior solve --rerun metrics.json``)
               "seed": seed, "dtype": dtype, "num_samples": num_samples, "channels": channels,
               "image_shape": list(x.shape[1:]), "image_source": image_rec,
               "resolved_method_options": resolved, "resolved_task_options": _jsonable(all_task_opts),
               "prior_checkpoint": prior_record(prior), "threads": torch.get_num_threads(),
               "genprior_version": gp.__version__, "git_commit": git_commit(), "torch_version": torch.__version__,
               "reconstruction_file": "reconstruction.npy", "caption": title,
               "posterior_std_scale": std_top, "info": _jsonable(res.info)}
    text = json.dumps(metrics, indent=2) + "\n"
    (out / "metrics.json").write_text(text)
    return json.loads(text)          # what the file holds (tuples as lists)


def _jsonable(d: dict) -> dict:
    """A dict with the values JSON cannot hold (tensors, objects) written as short strings."""
    out = {}
    for k, v in (d or {}).items():
        try:
            json.dumps(v)
            out[str(k)] = v
        except (TypeError, ValueError):
            out[str(k)] = repr(v) if not hasattr(v, "tolist") or getattr(v, "numel", lambda: 0)() > 64 else v.tolist()
    return out


def rerun(metrics_path, out, *, progress: bool = False) -> dict:
    """Run the solve recorded in a ``metrics.json`` again (same seed, dtype, options, threads) and
    write it to ``out``. Warns where the code, the prior's weights or the image file differ from the
    recorded ones (the result may then differ)."""
    import torch

    import genprior as gp
    path = Path(metrics_path)
    if path.is_dir():
        path = path / "metrics.json"
    if not path.exists():
        raise FileNotFoundError(f"metrics file {str(path)!r} does not exist")
    try:
        m = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    missing = [k for k in ("task", "image", "method", "size", "sigma_y", "seed", "dtype") if k not in m]
    if missing:
        raise ValueError(f"{path} lacks {missing}: not a metrics.json written by genprior solve")
    if m.get("genprior_version") not in (None, gp.__version__):
        warnings.warn(f"{path} was written by genprior {m['genprior_version']}, this is {gp.__version__}")
    commit = git_commit()
    if m.get("git_commit") and commit and m["git_commit"] != commit:
        warnings.warn(f"{path} was written at commit {m['git_commit']}, the code is at {commit}")
    src = m.get("image_source") or {}
    if src.get("sha256") and Path(src["path"]).is_file() and sha256_file(src["path"]) != src["sha256"]:
        warnings.warn(f"the image file {src['path']} changed since {path} was written")
    image = src.get("path", m["image"])
    ck = m.get("prior_checkpoint") or {}
    now = prior_record(m.get("prior"))
    if ck.get("checkpoint_sha256") and now and now.get("checkpoint_sha256") != ck["checkpoint_sha256"]:
        warnings.warn(f"the weights of prior {m['prior']!r} differ from those recorded in {path}")
    if m.get("threads"):
        torch.set_num_threads(int(m["threads"]))
    new = run_solve(m["task"], image, m["method"], out, size=m["size"], sigma_y=m["sigma_y"], prior=m.get("prior"),
                    seed=m["seed"], task_opts=m.get("task_options") or {}, method_opts=m.get("method_options") or {},
                    progress=progress, num_samples=m.get("num_samples"), dtype=m["dtype"],
                    channels=m.get("channels", "auto"))
    if m.get("resolved_method_options") not in (None, new["resolved_method_options"]):
        warnings.warn("the method's resolved options differ from the recorded ones (its defaults changed)")
    return new
