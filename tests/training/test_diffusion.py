"""Diffusion training: resumable exactly, DDP-ready (2-process gloo smoke test), CLI."""
import os
import socket
import subprocess
import sys

import pytest
import torch

import genprior as gp
from genprior.training.diffusion import DiffusionTrainConfig, train_diffusion


def cfg(out, steps):
    return DiffusionTrainConfig(data="phantoms16", out=str(out), steps=steps, batch_size=4, channels=(8, 16),
                                attn_levels=(1,), save_every=2, sample_every=0, seed=3, warmup=2)


def test_resume_is_exact(tmp_path):
    train_diffusion(cfg(tmp_path / "a", 6), progress=False, log=lambda *a: None)
    train_diffusion(cfg(tmp_path / "b", 4), progress=False, log=lambda *a: None)
    train_diffusion(cfg(tmp_path / "b", 6), progress=False, log=lambda *a: None)   # resumes at step 4
    a = gp.priors.load(str(tmp_path / "a"))
    b = gp.priors.load(str(tmp_path / "b"))
    for (k, va), vb in zip(a.net.state_dict().items(), b.net.state_dict().values()):
        assert torch.equal(va, vb), k
    assert a.config["training"]["steps_done"] == 6
    x = torch.rand(2, 1, 16, 16)
    assert torch.equal(a.x0(x, 0.2), b.x0(x, 0.2))


def test_training_reduces_the_loss(tmp_path):
    import json
    c = cfg(tmp_path / "c", 60)
    c.lr = 2e-3
    train_diffusion(c, progress=False, log=lambda *a: None)
    losses = [json.loads(line)["loss"] for line in (tmp_path / "c" / "log.jsonl").read_text().splitlines()]
    assert sum(losses[-10:]) / 10 < 0.7 * sum(losses[:10]) / 10


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank, world, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank))
    torch.set_num_threads(1)
    train_diffusion(cfg(out, 3), progress=False, log=lambda *a: None)
    sd = {k: v.clone() for k, v in torch.load(os.path.join(out, "train_state.pt"), weights_only=True)["model"].items()} \
        if rank == 0 else None
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
    return sd


@pytest.mark.slow
def test_ddp_two_process_gloo_smoke(tmp_path):
    out = str(tmp_path / "ddp")
    port = _free_port()
    code = ("import torch.multiprocessing as mp; "
            f"import test_diffusion as t; mp.spawn(t._ddp_worker, args=(2, {port}, {out!r}), nprocs=2, join=True)")
    path = [os.path.dirname(__file__)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}    # the workers import this module
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    prior = gp.priors.load(out)
    assert prior.config["training"]["steps_done"] == 3
    st = torch.load(os.path.join(out, "train_state.pt"), weights_only=True)
    assert len(st["generators"]) == 2          # one data stream per rank, both saved


def test_cli_train_writes_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "cli"
    r = subprocess.run([sys.executable, "-m", "genprior.cli", "train", "diffusion", "--data", "phantoms16", "--out",
                        str(out), "--steps", "3", "--batch-size", "2", "--channels", "8,16", "--save-every", "3",
                        "--sample-every", "3", "--threads", "1", "--no-progress"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out / "samples_0000003.png").exists()
    assert gp.priors.load(str(out)).image_shape == (1, 16, 16)
