import json

import torch


def read_log(out):
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def tiny_source(monkeypatch, module, n=64, size=28, seed=0):
    """Replace make_source in a trainer module by a small fixed tensor source (no dataset reads)."""
    from genprior.training.data import TensorSource
    g = torch.Generator().manual_seed(seed)
    base = torch.zeros(n, 1, size, size)
    c = torch.arange(size) - (size - 1) / 2
    r2 = c[:, None] ** 2 + c[None, :] ** 2
    rad = torch.rand(n, generator=g) * size / 4 + size / 8
    base[:] = (r2[None] <= rad[:, None, None] ** 2).float()[:, None] * 0.8 + 0.1
    src = TensorSource(base, name="disks")
    monkeypatch.setattr(module, "make_source", lambda spec: src)
    return src
