"""Run a benchmark suite: every cell (task x method x prior x image x seed) once, one JSON line per
cell, resumable, in parallel on one machine or sharded over a torchrun job.

Files under ``--out DIR``:

- ``results.jsonl``: one row per finished cell, appended, flushed and fsynced as soon as the cell is
  done. A row is ``{"key": ..., "suite", "task", "method", "prior", "image", "seed", "psnr", "ssim",
  "residual", "nfe", "seconds", ...}``, or the same with ``"error"`` when the cell raised. The key is a
  hash of the cell's spec, so a restarted run skips every cell whose key is already on disk. A line
  torn by a kill mid-write is not valid JSON and is skipped when read; the next append first ends it
  with a newline, so it never merges with a good row.
- ``results.rank<k>.jsonl``: one file per rank under ``torchrun``; rank 0 merges them into
  ``results.jsonl`` after a barrier (duplicates by key collapse to the last row).
- ``recon/<key>.npz``: the truth, the reconstruction and (for samplers) the posterior std of the
  first image of each image set, float16, for the report's grids.
- ``meta.json``: the suite as run, the environment and the git commit.

Peak memory per cell is the process's resident-set high-water mark (``resource.getrusage``
``ru_maxrss``) after the cell: monotone within a process, so it bounds the cell's peak from above;
on CUDA the cell's own ``torch.cuda.max_memory_allocated`` is recorded too.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from . import suite as suite_mod

RESULTS = "results.jsonl"
GMM_CACHE = 4           # mixture problems (with their exact reference samples) kept per process
COVERAGE_LEVELS = (0.5, 0.7, 0.9, 0.95)


@dataclass(frozen=True)
class Cell:
    index: int          # position in the suite's plan (stable; shards by index % world)
    key: str
    spec: dict


def cell_key(spec: dict) -> str:
    """A hash of what determines the cell's result: display labels and the position of the image in
    its set are left out, the image set's source (dataset, size, split, seed, folder) is kept."""
    core = {k: v for k, v in spec.items() if k not in ("image_pos", "image_set")}
    core["task"] = {k: v for k, v in spec["task"].items() if k != "label"}
    core["method"] = {k: v for k, v in spec["method"].items() if k != "label"}
    return hashlib.sha1(json.dumps(core, sort_keys=True, default=str).encode()).hexdigest()[:16]


def noise_seed(seed: int, image_source, image_id: str) -> int:
    """The generator seed of one image's measurement noise and of the solver on it: drawn from the
    suite seed and the image, so that every method sees the same y for an image and seed, and
    different images get independent noise (one shared noise draw would correlate the errors of all
    images and make their mean as noisy as a single image's)."""
    h = hashlib.sha1(json.dumps([seed, image_source, image_id], sort_keys=True).encode()).hexdigest()
    return int(h[:12], 16)


def _num_samples(method: str, n: int) -> int:
    """The suite's num_samples for methods that take it; 1 (not passed) for the others."""
    try:
        return n if _takes(method, "num_samples") else 1
    except KeyError:        # not registered yet (suite imports not run): keep the suite's value
        return n


def _image_ids(im: suite_mod.ImageSpec) -> list[str]:
    if im.dataset == "images":
        return list(im.names)
    if im.dataset == "phantoms":
        return [f"seed{im.seed}[{i}]" for i in range(im.count)]
    if im.dataset == "fashion_mnist":
        idx = im.indices if im.indices is not None else range(im.count)
        return [f"{im.split}[{i}]" for i in idx]
    files = _folder_files(im.folder)
    n = len(files) if im.count is None else min(im.count, len(files))
    return [f.name for f in files[:n]]


def _folder_files(folder) -> list[Path]:
    from ..data.datasets import IMAGE_SUFFIXES
    p = Path(folder)
    if not p.is_dir():
        raise FileNotFoundError(f"image folder {p} does not exist")
    return sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)


def plan(suite: suite_mod.Suite) -> list[Cell]:
    """Every cell of the suite, in a fixed order: task, method, prior, image set, image, seed."""
    cells = []
    for task in suite.tasks:
        sets = [None] if task.problem != "image" else list(suite.images)
        for method in suite.methods:
            for im in sets:
                if not method.applies_to(task, None if im is None else im.name):
                    continue
                ids = ["problem"] if im is None else _image_ids(im)
                source = None if im is None else {"dataset": im.dataset, "size": im.size, "split": im.split,
                                                  "seed": im.seed, "folder": im.folder}
                n_samples = suite.num_samples if im is None else _num_samples(method.name, suite.num_samples)
                for prior in method.priors:
                    for pos, image_id in enumerate(ids):
                        for seed in suite.seeds:
                            spec = {"task": {"name": task.name, "label": task.label, "problem": task.problem,
                                             "options": task.options, "sigma_y": task.sigma_y},
                                    "method": {"name": method.name, "label": method.label,
                                               "options": method.options_for(task)},
                                    "prior": prior, "image_set": None if im is None else im.name,
                                    "image_source": source, "image": image_id, "image_pos": pos, "seed": seed,
                                    "noise_seed": seed if im is None else noise_seed(seed, source, image_id),
                                    "num_samples": n_samples, "dtype": suite.dtype}
                            cells.append(Cell(len(cells), cell_key(spec), spec))
    return cells


# ----------------------------------------------------------------------------------------- result files

def append_row(path, row: dict) -> None:
    """Append one JSON line; flush and fsync. If the file ends in a torn line, end it first."""
    line = (json.dumps(row, default=_json_default) + "\n").encode()
    with open(path, "a+b") as f:
        end = f.seek(0, os.SEEK_END)
        if end > 0:
            f.seek(end - 1)
            if f.read(1) != b"\n":
                line = b"\n" + line
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def _json_default(o):
    try:
        import numpy as np
        if isinstance(o, np.generic):
            return o.item()
    except ImportError:
        pass
    if isinstance(o, (tuple, set)):
        return list(o)
    return str(o)


def read_rows(path) -> list[dict]:
    """The valid rows of one results file (torn or foreign lines skipped)."""
    rows = []
    p = Path(path)
    if not p.exists():
        return rows
    with open(p, "rb") as f:
        for line in f:
            try:
                r = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if isinstance(r, dict) and "key" in r:
                rows.append(r)
    return rows


def result_files(out) -> list[Path]:
    out = Path(out)
    return [out / RESULTS] + sorted(out.glob("results.rank*.jsonl"))


def load_results(out) -> list[dict]:
    """All rows of a results folder, one per key (the last row written wins)."""
    by_key = {}
    for f in result_files(out):
        for r in read_rows(f):
            by_key[r["key"]] = r
    return list(by_key.values())


def merge(out) -> Path:
    """Fold the per-rank files into ``results.jsonl`` (atomically: written to a temporary file, then
    renamed) and delete them."""
    out = Path(out)
    shards = sorted(out.glob("results.rank*.jsonl"))
    rows = load_results(out)
    tmp = out / (RESULTS + ".tmp")
    with open(tmp, "w") as f:
        for r in rows:
            f.write(json.dumps(r, default=_json_default) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out / RESULTS)
    for s in shards:
        s.unlink()
    return out / RESULTS


# ----------------------------------------------------------------------------------------- environment

def git_commit() -> dict:
    """The commit of the package's checkout, and whether the package's own files (not results
    folders elsewhere in the tree) differ from it; {"commit": None} outside a git checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return {"commit": None}
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."], cwd=root,
                               capture_output=True, text=True, timeout=10)
        return {"commit": sha.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None}


def run_environment(device: str) -> dict:
    import platform
    import torch
    from .harness import environment
    env = environment()
    env.update(git_commit())
    env.update({"host": platform.node(), "device": device, "genprior": _version()})
    if device.startswith("cuda"):
        env["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return env


def _version() -> str:
    import genprior
    return genprior.__version__


# ----------------------------------------------------------------------------------------- one cell

class Context:
    """Per-process caches (priors, image sets) and settings for running cells."""

    def __init__(self, suite: suite_mod.Suite, out, device: str = "cpu", env: dict | None = None):
        self.suite = suite
        self.out = Path(out)
        self.device = device
        self.env = env or {}
        self._priors: dict = {}
        self._images: dict = {}
        self._gmm: dict = {}        # (d_x, d_y, seed, n, directions) -> problem, exact references, floor
        self._sets = {im.name: im for im in suite.images}

    @property
    def dtype(self):
        import torch
        return {"float32": torch.float32, "float64": torch.float64}[self.suite.dtype]

    def prior(self, name):
        if name is None:
            return None
        if name not in self._priors:
            import genprior as gp
            p = gp.priors.load(name)
            if hasattr(p, "to") and self.device != "cpu":
                p = p.to(self.device)
            if hasattr(p, "to") and self.suite.dtype == "float64":
                p = p.to(self.dtype)
            self._priors[name] = p
        return self._priors[name]

    def image(self, set_name: str, pos: int):
        if set_name not in self._images:
            self._images[set_name] = load_image_set(self._sets[set_name], self.dtype)
        return self._images[set_name][pos:pos + 1]


def load_image_set(im: suite_mod.ImageSpec, dtype):
    """The images of one set as (N, C, H, W) in [0, 1], in the order of ``_image_ids``."""
    import torch
    import genprior as gp
    if im.dataset == "images":
        return torch.cat([gp.data.image(n, im.size or 64, grayscale=True, dtype=dtype) for n in im.names])
    if im.dataset == "phantoms":
        return gp.data.phantoms(im.count, im.size or 64, generator=torch.Generator().manual_seed(im.seed), dtype=dtype)
    if im.dataset == "fashion_mnist":
        pad = im.size if im.size not in (None, 28) else None
        data = gp.data.fashion_mnist(im.split, pad_to=pad)
        idx = list(im.indices) if im.indices is not None else list(range(im.count))
        return data[idx].to(dtype)
    n = len(_image_ids(im))
    return gp.data.image_folder(im.folder, size=im.size, grayscale=True)[:n].to(dtype)


def _peak_rss_mb() -> float | None:
    try:
        import resource
    except ImportError:
        return None
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(r / (1024 * 1024) if sys.platform == "darwin" else r / 1024, 1)


def _takes(method: str, option: str) -> bool:
    import dataclasses
    import genprior as gp
    return option in {f.name for f in dataclasses.fields(gp.solvers.method_info(method).options)}


def run_cell(cell: Cell, ctx: Context) -> dict:
    """Run one cell and return its row (never raises: an exception becomes the row's ``error``)."""
    import torch
    spec = cell.spec
    row = {"key": cell.key, "suite": ctx.suite.name, "task": spec["task"]["label"], "task_name": spec["task"]["name"],
           "task_options": spec["task"]["options"], "sigma_y": spec["task"]["sigma_y"],
           "method": spec["method"]["label"], "method_name": spec["method"]["name"],
           "method_options": spec["method"]["options"], "prior": spec["prior"], "image_set": spec["image_set"],
           "image": spec["image"], "seed": spec["seed"], "noise_seed": spec["noise_seed"],
           "num_samples": spec["num_samples"], "index": cell.index}
    cuda = ctx.device.startswith("cuda")
    if cuda:
        torch.cuda.reset_peak_memory_stats(ctx.device)
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        if spec["task"]["problem"] == "gmm":
            row.update(_run_gmm(spec, ctx))
        else:
            row.update(_run_image(cell, ctx))
    except Exception as e:  # noqa: BLE001  -- recorded, the run goes on
        row["error"] = f"{type(e).__name__}: {e}"
        row["traceback"] = traceback.format_exc(limit=-4)
    row["cell_seconds"] = round(time.perf_counter() - t0, 4)
    row["cell_cpu_seconds"] = round(time.process_time() - c0, 4)    # CPU time of this process: load-independent
    row["peak_rss_mb"] = _peak_rss_mb()
    row["peak_memory_source"] = "ru_maxrss (process high-water mark after the cell)"
    if cuda:
        row["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated(ctx.device) / 2 ** 20, 1)
    row["env"] = ctx.env
    return row


def _generator(seed: int, device: str):
    import torch
    return torch.Generator(device=device).manual_seed(seed)


def _run_image(cell: Cell, ctx: Context) -> dict:
    import numpy as np
    import torch
    import genprior as gp
    spec = cell.spec
    x = ctx.image(spec["image_set"], spec["image_pos"])
    task, method = spec["task"], spec["method"]
    problem = gp.tasks.make(task["name"], tuple(x.shape[1:]), sigma_y=task["sigma_y"], **task["options"])
    y = problem.measure(x, generator=torch.Generator().manual_seed(spec["noise_seed"]))
    if ctx.device != "cpu":
        x, y = x.to(ctx.device), y.to(ctx.device)
    opts = dict(method["options"])
    if spec["num_samples"] > 1 and "num_samples" not in opts and _takes(method["name"], "num_samples"):
        opts["num_samples"] = spec["num_samples"]
    res = gp.solve(problem, y, method=method["name"], prior=ctx.prior(spec["prior"]),
                   generator=_generator(spec["noise_seed"], ctx.device), **opts)
    xr = res.x.clamp(0, 1)
    out = {"psnr": float(gp.metrics.psnr(xr, x)[0]), "ssim": float(gp.metrics.ssim(xr, x)[0]),
           "residual": float(gp.metrics.residual(problem.operator, res.x, y)[0]), "nfe": int(res.nfe),
           "seconds": round(float(res.seconds), 4), "image_shape": list(x.shape[1:])}
    std = None
    if res.samples is not None and res.samples.shape[0] > 1:
        s = res.samples
        out["n_samples"] = int(s.shape[0])
        out["psnr_single_sample"] = float(gp.metrics.psnr(s.clamp(0, 1).flatten(0, 1),
                                                          x.repeat(s.shape[0], 1, 1, 1)).mean())
        out["coverage"] = {str(lv): round(float(gp.metrics.coverage(s, x, level=lv)[0]), 4) for lv in COVERAGE_LEVELS}
        std = res.std if res.std is not None else s.std(0)
        out["mean_std"] = float(std.mean())
    if spec["image_pos"] == 0 and spec["seed"] == ctx.suite.seeds[0]:
        rec = ctx.out / "recon"
        rec.mkdir(exist_ok=True)
        arrays = {"truth": x[0].cpu().numpy().astype(np.float16), "recon": xr[0].cpu().numpy().astype(np.float16)}
        if std is not None:
            arrays["std"] = std[0].cpu().numpy().astype(np.float16)
        np.savez_compressed(rec / f"{cell.key}.npz", **arrays)
        out["recon_file"] = f"recon/{cell.key}.npz"
    return out


def _run_gmm(spec: dict, ctx: Context) -> dict:
    """A Gaussian-mixture problem with an exact posterior (Cardoso et al. 2023): sliced W2 between the
    method's samples and as many exact posterior samples, beside the floor (exact vs exact)."""
    import torch
    import genprior as gp
    try:
        from .problems import gmm_problem
    except ImportError as e:
        raise ImportError("problem = 'gmm' needs genprior.bench.problems.gmm_problem (not in this version)") from e
    opts = dict(spec["task"]["options"])
    d_x, d_y = int(opts.pop("d_x")), int(opts.pop("d_y"))
    directions = int(opts.pop("directions", 200))
    basis = opts.pop("basis", "original")
    if opts:
        raise TypeError(f"gmm task options {sorted(opts)} unknown; allowed: d_x, d_y, directions, basis")
    if basis not in ("original", "spectral"):
        raise ValueError(f"gmm task option basis must be 'original' or 'spectral', got {basis!r}")
    seed, n = spec["seed"], spec["num_samples"]

    def sw(a, b):
        return float(gp.metrics.sliced_wasserstein(a, b, directions, generator=torch.Generator().manual_seed(7)))
    key = (d_x, d_y, seed, n, directions, basis)
    if key not in ctx._gmm:
        # the problem and its exact reference samples are the same for every method: made once per
        # process (at d_x = 800 the exact posterior's samples cost more than most methods' runs)
        if basis == "spectral":     # the same problem in A's right-singular basis (an exact rotation; fast at d_x = 800)
            from .problems import gmm_problem_spectral
            prior, problem, y, post, Vt = gmm_problem_spectral(d_x, d_y, seed)
        else:
            prior, problem, y, post = gmm_problem(d_x, d_y, seed)
            Vt = None
        g = torch.Generator().manual_seed(10_000 + seed)
        ref, ref2 = post.sample_exact(n, generator=g), post.sample_exact(n, generator=g)
        if Vt is not None:          # back to the original basis: the metric's directions are the same
            ref, ref2 = ref @ Vt, ref2 @ Vt
        if len(ctx._gmm) >= GMM_CACHE:
            ctx._gmm.pop(next(iter(ctx._gmm)))
        ctx._gmm[key] = (prior, problem, y, Vt, ref, sw(ref2, ref))
    prior, problem, y, Vt, ref, floor = ctx._gmm[key]
    mopts = dict(spec["method"]["options"])
    if _takes(spec["method"]["name"], "num_samples"):
        mopts.setdefault("num_samples", n)
    res = gp.solve(problem, y, method=spec["method"]["name"], prior=prior,
                   generator=torch.Generator().manual_seed(seed), **mopts)
    samples = res.samples[:, 0] if res.samples is not None else res.x
    mean = samples.mean(0, keepdim=True)
    resid = float(gp.metrics.residual(problem.operator, mean, y)[0])   # in the problem's own basis
    if Vt is not None:
        samples = samples @ Vt
    return {"sliced_w2": sw(samples, ref), "sliced_w2_floor": floor, "nfe": int(res.nfe),
            "seconds": round(float(res.seconds), 4), "residual": resid, "d_x": d_x, "d_y": d_y}


# ----------------------------------------------------------------------------------------- the run

def _progress(total: int, initial: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit="cell", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def _pick_device(device: str, local_rank: int) -> str:
    import torch
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        device = f"cuda:{local_rank % max(torch.cuda.device_count(), 1)}"
    return device


def _dist_info() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", str(rank)))
    return world, rank, local


_WORKER: dict = {}


def _worker_init(suite, out, device, env, threads):
    import torch
    torch.set_num_threads(threads)
    suite_mod.run_imports(suite)
    _WORKER["ctx"] = Context(suite, out, device=device, env=env)


def _worker_run(cell):
    return run_cell(cell, _WORKER["ctx"])


def run(suite, out, *, workers: int = 1, threads: int = 1, max_cells: int | None = None, progress: bool = True,
        retry_errors: bool = False, device: str = "auto") -> dict:
    """Run every unfinished cell of ``suite`` (a Suite, a built-in name or a path) into folder ``out``.

    ``workers`` > 1: that many processes on this machine (the parent is the only writer).
    Under torchrun (``WORLD_SIZE`` > 1): cell i runs on rank i % world; one file per rank; rank 0 merges.
    ``max_cells``: stop after that many cells (for tests and partial runs). Returns a summary dict.
    """
    import torch
    if not isinstance(suite, suite_mod.Suite):
        suite = suite_mod.load(suite)
    else:
        suite_mod.run_imports(suite)
    if workers < 1 or threads < 1:
        raise ValueError(f"workers and threads must be >= 1, got {workers}, {threads}")
    t_start = time.perf_counter()
    torch.set_num_threads(threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    world, rank, local_rank = _dist_info()
    dist = world > 1
    if dist:
        import torch.distributed as tdist
        if not tdist.is_initialized():
            tdist.init_process_group("gloo")
    device = _pick_device(device, local_rank)
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    env = run_environment(device)
    if rank == 0:
        meta = {"suite": suite.to_dict(), "environment": env, "world_size": world, "workers": workers,
                "command": " ".join(sys.argv)}
        (out / "meta.json").write_text(json.dumps(meta, indent=1, default=_json_default) + "\n")
    cells = plan(suite)
    existing = load_results(out)
    done = {r["key"] for r in existing if not (retry_errors and "error" in r)}
    todo = [c for c in cells if c.key not in done and (not dist or c.index % world == rank)]
    mine = [c for c in cells if not dist or c.index % world == rank]
    if max_cells is not None:
        todo = todo[:max_cells]
    target = out / (f"results.rank{rank}.jsonl" if dist else RESULTS)
    bar = _progress(len(mine), len(mine) - len([c for c in mine if c.key not in done]), progress and rank == 0,
                    f"{suite.name}" + (f" rank {rank}/{world}" if dist else ""))
    n_err, cell_time, solve_time, cpu_time = 0, 0.0, 0.0, 0.0

    def record(row):
        nonlocal n_err, cell_time, solve_time, cpu_time
        cpu_time += row.get("cell_cpu_seconds", 0.0)
        row["rank"] = rank
        append_row(target, row)
        n_err += "error" in row
        cell_time += row.get("cell_seconds", 0.0)
        solve_time += row.get("seconds", 0.0) or 0.0
        bar.set_postfix_str(f"{row['task']}/{row['method']}" + (" ERROR" if "error" in row else ""), refresh=False)
        bar.update(1)

    if workers == 1 or len(todo) <= 1:
        ctx = Context(suite, out, device=device, env=env)
        for c in todo:
            record(run_cell(c, ctx))
    else:
        # a worker killed from outside (out of memory) breaks the pool: the run stops with
        # BrokenProcessPool, every row already written stays, and a rerun resumes
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed
        method = "fork" if sys.platform.startswith("linux") and not device.startswith("cuda") else "spawn"
        with ProcessPoolExecutor(min(workers, len(todo)), mp_context=mp.get_context(method),
                                 initializer=_worker_init, initargs=(suite, out, device, env, threads)) as pool:
            for fut in as_completed([pool.submit(_worker_run, c) for c in todo]):
                record(fut.result())
    bar.close()
    if dist:
        import torch.distributed as tdist
        tdist.barrier()
        if rank == 0:
            merge(out)
        tdist.barrier()
    elif list(out.glob("results.rank*.jsonl")):    # left by a distributed run that was stopped
        merge(out)
    wall = time.perf_counter() - t_start
    left = None
    if not dist or rank == 0:
        finished = {r["key"] for r in load_results(out)}
        left = sum(c.key not in finished for c in cells)
    return {"suite": suite.name, "cells": len(cells), "ran": len(todo), "errors": n_err,
            "skipped": None if dist else len(cells) - len(todo), "left": left, "wall_seconds": round(wall, 3),
            "cell_seconds": round(cell_time, 3), "solve_seconds": round(solve_time, 3),
            "cell_cpu_seconds": round(cpu_time, 3), "rank": rank, "world": world,
            "out": str(out)}
