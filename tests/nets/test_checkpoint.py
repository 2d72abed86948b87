"""Checkpoint folders: exact round trip, clear errors."""
import json

import pytest
import torch

import genprior as gp
from genprior.nets.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

D = torch.float64


def test_checkpoint_round_trip_exact(tmp_path, tiny_prior):
    pr = tiny_prior
    cfg = {"kind": "diffusion", "architecture": {"class": "UNet", "config": pr.net.config}, "parameterization": "edm",
           "sigma_data": 0.5, "image_shape": [1, 16, 16], "data_range": [0.0, 1.0], "network_range": [-1.0, 1.0]}
    save_checkpoint(tmp_path / "ck", pr.net, cfg)
    loaded = gp.priors.load(str(tmp_path / "ck"))
    x = torch.rand(2, 1, 16, 16)
    assert torch.equal(loaded.x0(x, 0.3), pr.x0(x, 0.3))
    for k, v in pr.net.state_dict().items():
        assert torch.equal(v, loaded.net.state_dict()[k])
    # no pickles: the folder holds safetensors + JSON only
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["config.json", "model.safetensors"]


def test_bad_checkpoints_fail_clearly(tmp_path, tiny_prior):
    from safetensors.torch import save_file
    pr = tiny_prior
    cfg = {"kind": "diffusion", "architecture": {"class": "UNet", "config": pr.net.config}, "parameterization": "edm",
           "sigma_data": 0.5, "image_shape": [1, 16, 16]}
    save_checkpoint(tmp_path / "a", pr.net, cfg)
    sd = pr.net.state_dict()
    missing = {k: v for i, (k, v) in enumerate(sd.items()) if i > 0}
    save_file({k: v.contiguous() for k, v in missing.items()}, str(tmp_path / "a" / "model.safetensors"))
    with pytest.raises(CheckpointError, match="missing keys"):
        gp.priors.load(str(tmp_path / "a"))
    save_checkpoint(tmp_path / "b", pr.net, cfg)
    cfg_b = json.loads((tmp_path / "b" / "config.json").read_text())
    cfg_b["architecture"]["config"]["channels"] = [8, 32]
    (tmp_path / "b" / "config.json").write_text(json.dumps(cfg_b))
    with pytest.raises(CheckpointError, match="shape mismatch|unexpected|missing"):
        load_checkpoint(tmp_path / "b")
    save_checkpoint(tmp_path / "c", pr.net, cfg)
    cfg_c = json.loads((tmp_path / "c" / "config.json").read_text())
    del cfg_c["sigma_data"]
    (tmp_path / "c" / "config.json").write_text(json.dumps(cfg_c))
    with pytest.raises(CheckpointError, match="sigma_data"):
        gp.priors.load(str(tmp_path / "c"))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="JSON"):
        load_checkpoint(tmp_path / "d")
    with pytest.raises(KeyError, match="unknown prior 'nope'.*gmm|unknown prior 'nope'"):
        gp.priors.load("nope")


def test_checkpoint_is_recognised_by_its_parsed_format_not_a_substring(tmp_path):
    from genprior.nets.checkpoint import is_checkpoint
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "config.json").write_text('{"note": "not a \\"genprior-checkpoint\\"", "format": "other"}')
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "config.json").write_text('{"format": "genprior-checkpoint"}')
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "config.json").write_text('{not json')
    assert [is_checkpoint(tmp_path / n) for n in "abcd"] == [False, True, False, False]
