"""The cell runner: numbers in the rows, resume after a stop or a SIGKILL, torn lines, errors,
--workers N and two torchrun-style ranks (gloo on CPU)."""
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
import torch

import genprior as gp
from genprior.bench import runner, suite

SRC = str(Path(gp.__file__).resolve().parent.parent)

TINY = """
[suite]
name = "tiny"
seeds = [0, 1]

[images]
name = "test"
dataset = "images"
names = ["camera", "moon"]
size = 16

[[tasks]]
name = "denoise"
sigma_y = 0.1

[[tasks]]
name = "inpaint_random"
options = { keep = 0.5 }
sigma_y = 0.01

[[methods]]
name = "mle"

[[methods]]
name = "tikhonov"
"""


@pytest.fixture
def tiny(tmp_path):
    p = tmp_path / "tiny.toml"
    p.write_text(TINY)
    return p


def keys_on_disk(out):
    return Counter(json.loads(line)["key"] for line in (Path(out) / "results.jsonl").read_text().splitlines()
                   if line.startswith("{") and line.endswith("}"))


def test_rows_hold_the_right_numbers(tiny, tmp_path):
    out = tmp_path / "out"
    summary = runner.run(tiny, out, progress=False)
    cells = runner.plan(suite.load(tiny))
    assert summary["ran"] == len(cells) == 16 and summary["left"] == 0 and summary["errors"] == 0
    rows = {r["key"]: r for r in runner.read_rows(out / "results.jsonl")}
    assert set(rows) == {c.key for c in cells}
    # mle on the denoising task returns y itself (CG on I x = y): the row's PSNR is that of y, clamped
    for c in cells:
        s = c.spec
        if s["task"]["name"] == "denoise" and s["method"]["name"] == "mle":
            x = gp.data.image(s["image"], 16, grayscale=True)
            p = gp.tasks.make("denoise", (1, 16, 16), sigma_y=0.1)
            y = p.measure(x, generator=torch.Generator().manual_seed(s["noise_seed"]))
            r = rows[c.key]
            assert r["psnr"] == pytest.approx(float(gp.metrics.psnr(y.clamp(0, 1), x)[0]), abs=1e-4)
            assert r["residual"] == pytest.approx(0.0, abs=1e-5)
            assert r["ssim"] == pytest.approx(float(gp.metrics.ssim(y.clamp(0, 1), x)[0]), abs=1e-5)
    # every method sees the same y for an image and seed; different images and seeds get their own noise
    ns = {(c.spec["image"], c.spec["seed"]): c.spec["noise_seed"] for c in cells}
    assert len(set(ns.values())) == 4
    assert all(c.spec["noise_seed"] == ns[(c.spec["image"], c.spec["seed"])] for c in cells)
    r = next(iter(rows.values()))
    for k in ("suite", "task", "task_options", "method", "method_options", "prior", "image", "seed", "psnr", "ssim",
              "residual", "nfe", "seconds", "peak_rss_mb", "env"):
        assert k in r
    assert r["env"]["commit"] is None or len(r["env"]["commit"]) == 40
    assert r["env"]["threads"] == 1
    # the first image of each set, first seed: a reconstruction for the report
    assert len(list((out / "recon").glob("*.npz"))) == 4
    assert (out / "meta.json").exists()


def test_resume_after_max_cells_and_a_torn_line(tiny, tmp_path):
    out = tmp_path / "out"
    s1 = runner.run(tiny, out, progress=False, max_cells=5)
    assert s1["ran"] == 5 and s1["left"] == 11
    first = (out / "results.jsonl").read_text()
    # a kill mid-write leaves half a line without its newline
    with open(out / "results.jsonl", "a") as f:
        f.write('{"key": "deadbeef", "psnr": 3')
    assert len(runner.read_rows(out / "results.jsonl")) == 5
    s2 = runner.run(tiny, out, progress=False)
    assert s2["ran"] == 11 and s2["skipped"] == 5 and s2["left"] == 0
    text = (out / "results.jsonl").read_text()
    assert text.startswith(first)                      # nothing written before the stop was touched
    counts = keys_on_disk(out)
    assert set(counts) == {c.key for c in runner.plan(suite.load(tiny))} and set(counts.values()) == {1}
    assert text.count('"psnr": 3\n') == 1             # the torn fragment stays on its own, ignored line
    s3 = runner.run(tiny, out, progress=False)
    assert s3["ran"] == 0


def _cli(args, **kw):
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, "-m", "genprior.bench.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300, **kw)


def test_cli_stop_and_resume(tiny, tmp_path):
    out = tmp_path / "out"
    r = _cli(["bench", str(tiny), "--out", str(out), "--max-cells", "3", "--no-progress"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["left"] == 13
    r = _cli(["bench", str(tiny), "--out", str(out), "--no-progress", "--report"])
    assert r.returncode == 0, r.stderr
    counts = keys_on_disk(out)
    assert len(counts) == 16 and set(counts.values()) == {1}
    assert (out / "report.html").exists()


def test_sigkill_and_resume(tmp_path):
    """A real SIGKILL in the middle of a run: rows written before it are kept, the rerun runs each
    remaining cell once."""
    p = tmp_path / "slow.toml"
    p.write_text(TINY.replace('name = "tikhonov"', 'name = "tv"\noptions = { max_iter = 300, tol = 1e-12 }')
                 .replace("seeds = [0, 1]", "seeds = [0, 1, 2]"))
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=SRC, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "genprior.bench.cli", "bench", str(p), "--out", str(out),
                             "--no-progress"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    res = out / "results.jsonl"
    t0 = time.time()
    while time.time() - t0 < 120 and (not res.exists() or res.read_text().count("\n") < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = runner.read_rows(res)
    n_cells = len(runner.plan(suite.load(p)))
    assert 3 <= len(before) < n_cells, "the run finished before the kill: make the cells slower"
    r = _cli(["bench", str(p), "--out", str(out), "--no-progress"])
    assert r.returncode == 0, r.stderr
    counts = keys_on_disk(out)
    assert len(counts) == n_cells and set(counts.values()) == {1}
    after = {x["key"]: x for x in runner.read_rows(res)}
    assert all(after[b["key"]] == b for b in before)


def test_error_rows_and_retry(tmp_path, monkeypatch):
    (tmp_path / "flaky_bench_method.py").write_text(textwrap.dedent("""
        from dataclasses import dataclass
        import genprior as gp

        @dataclass
        class FlakyOptions:
            fail: bool = True

        @gp.solvers.register("flaky_b", FlakyOptions)
        def flaky(problem, y, prior, opts, generator, progress):
            if opts.fail:
                raise FloatingPointError("diverged on purpose")
            return gp.Result(x=problem.operator.apply_adjoint(y))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    text = TINY.replace("seeds = [0, 1]", 'seeds = [0]\nimports = ["flaky_bench_method"]')
    text += '\n[[methods]]\nname = "flaky_b"\ntasks = ["denoise"]\n'
    p = tmp_path / "flaky.toml"
    p.write_text(text)
    out = tmp_path / "out"
    s = runner.run(p, out, progress=False)
    rows = runner.load_results(out)
    errs = [r for r in rows if "error" in r]
    assert s["errors"] == 2 and len(errs) == 2 and len(rows) == s["cells"] == 10
    assert all(r["error"] == "FloatingPointError: diverged on purpose" and r["method"] == "flaky_b" for r in errs)
    assert runner.run(p, out, progress=False)["ran"] == 0          # an error row counts as done ...
    assert runner.run(p, out, progress=False, retry_errors=True)["ran"] == 2   # ... unless retried


def test_workers_give_the_same_rows(tiny, tmp_path):
    one = runner.run(tiny, tmp_path / "one", progress=False)
    two = runner.run(tiny, tmp_path / "two", progress=False, workers=2)
    assert one["ran"] == two["ran"] == 16 and two["left"] == 0
    a = {r["key"]: r for r in runner.load_results(tmp_path / "one")}
    b = {r["key"]: r for r in runner.load_results(tmp_path / "two")}
    assert set(a) == set(b) and set(keys_on_disk(tmp_path / "two").values()) == {1}
    for k in a:
        assert a[k]["psnr"] == pytest.approx(b[k]["psnr"], abs=1e-5)
    assert len({r["env"]["host"] for r in b.values()}) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(rank, world, port, suite_path, out):
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    import torch.distributed as dist
    try:
        runner.run(suite_path, out, progress=False, device="cpu")
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_two_gloo_ranks_run_every_cell_once(tiny, tmp_path):
    import torch.multiprocessing as tmp
    out = tmp_path / "dist"
    runner.run(tiny, out, progress=False, max_cells=3)      # a resumed distributed run
    tmp.spawn(_rank_main, args=(2, _free_port(), str(tiny), str(out)), nprocs=2, join=True)
    assert not list(out.glob("results.rank*.jsonl"))         # merged by rank 0
    counts = keys_on_disk(out)
    cells = runner.plan(suite.load(tiny))
    assert set(counts) == {c.key for c in cells} and set(counts.values()) == {1}
    rows = runner.read_rows(out / "results.jsonl")
    by_rank = Counter(r["rank"] for r in rows)
    assert by_rank[1] > 0 and by_rank[0] > 3
    assert all(r["index"] % 2 == r["rank"] for r in rows if r["index"] >= 3 or r["rank"] == 1)


def test_gmm_problem_kind(tmp_path):
    pytest.importorskip("genprior.bench.problems")
    p = tmp_path / "gmm.toml"
    p.write_text(textwrap.dedent("""
        [suite]
        seeds = [0]
        num_samples = 200
        dtype = "float64"
        [[tasks]]
        name = "gmm8"
        problem = "gmm"
        options = { d_x = 8, d_y = 2, directions = 50 }
        [[methods]]
        name = "ddrm"
        options = { steps = 20 }
    """))
    runner.run(p, tmp_path / "out", progress=False)
    (r,) = runner.load_results(tmp_path / "out")
    assert "error" not in r, r.get("error")
    # two exact sample sets are closer than the method's samples and the exact ones
    assert r["sliced_w2"] > r["sliced_w2_floor"] > 0 and r["d_x"] == 8 and r["nfe"] == 20


def test_gmm_problem_in_the_spectral_basis(tmp_path):
    """basis = "spectral" runs the same problem in A's right-singular basis and maps the samples back:
    the floor (two exact sample sets) and DDRM's distance to the exact samples agree with the original
    basis within Monte-Carlo spread (200 samples, 50 directions), and DDRM stays above the floor."""
    pytest.importorskip("genprior.bench.problems")
    p = tmp_path / "gmm.toml"
    p.write_text(textwrap.dedent("""
        [suite]
        seeds = [0]
        num_samples = 200
        dtype = "float64"
        [[tasks]]
        name = "orig"
        problem = "gmm"
        options = { d_x = 8, d_y = 2, directions = 50 }
        [[tasks]]
        name = "spec"
        problem = "gmm"
        options = { d_x = 8, d_y = 2, directions = 50, basis = "spectral" }
        [[methods]]
        name = "ddrm"
        options = { steps = 20 }
    """))
    runner.run(p, tmp_path / "out", progress=False)
    rows = {r["task"]: r for r in runner.load_results(tmp_path / "out")}
    assert all("error" not in r for r in rows.values()), rows
    o, s = rows["orig"], rows["spec"]
    assert s["sliced_w2"] > s["sliced_w2_floor"] > 0
    assert 0.5 < s["sliced_w2_floor"] / o["sliced_w2_floor"] < 2 and 0.5 < s["sliced_w2"] / o["sliced_w2"] < 2, (o, s)
    assert abs(s["residual"] - o["residual"]) < 0.5 * o["residual"] + 0.05


def test_cli_list_and_dry_run(tiny, tmp_path, capsys):
    from genprior.cli import main
    assert main(["bench", "--list"]) == 0
    assert "quick" in capsys.readouterr().out
    runner.run(tiny, tmp_path / "out", progress=False, max_cells=4)
    assert main(["bench", str(tiny), "--out", str(tmp_path / "out"), "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out) == {"suite": "tiny", "cells": 16, "done": 4}
    assert main(["report", str(tmp_path / "out"), "--out", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").read_text().count("<table>") >= 2


def test_a_killed_worker_stops_the_run_and_a_rerun_completes(tmp_path, monkeypatch):
    from concurrent.futures.process import BrokenProcessPool
    marker = tmp_path / "kill-me"
    marker.write_text("")
    (tmp_path / "killer_bench_method.py").write_text(textwrap.dedent(f"""
        import os, signal
        from dataclasses import dataclass
        import genprior as gp

        @dataclass
        class KillerOptions:
            pass

        @gp.solvers.register("killer_c", KillerOptions)
        def killer(problem, y, prior, opts, generator, progress):
            if os.path.exists({str(marker)!r}):
                os.kill(os.getpid(), signal.SIGKILL)       # as the kernel's OOM killer would
            return gp.Result(x=problem.operator.apply_adjoint(y))
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    text = TINY.replace("seeds = [0, 1]", 'seeds = [0, 1]\nimports = ["killer_bench_method"]')
    text += '\n[[methods]]\nname = "killer_c"\ntasks = ["inpaint_random"]\n'
    p = tmp_path / "killer.toml"
    p.write_text(text)
    out = tmp_path / "out"
    with pytest.raises(BrokenProcessPool):
        runner.run(p, out, progress=False, workers=2)
    before = runner.read_rows(out / "results.jsonl")
    marker.unlink()
    s = runner.run(p, out, progress=False, workers=2)
    counts = keys_on_disk(out)
    assert len(counts) == s["cells"] == 20 and set(counts.values()) == {1}
    assert s["ran"] == 20 - len(before)


def test_a_plain_rerun_folds_in_the_rank_files_of_a_stopped_distributed_run(tiny, tmp_path):
    out = tmp_path / "out"
    runner.run(tiny, out, progress=False, max_cells=6)
    rows = runner.read_rows(out / "results.jsonl")
    (out / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))
    (out / "results.rank1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[2:]) + '{"key": "to')
    s = runner.run(tiny, out, progress=False)
    assert s["ran"] == 10 and s["left"] == 0 and not list(out.glob("results.rank*"))
    counts = keys_on_disk(out)
    assert len(counts) == 16 and set(counts.values()) == {1}
