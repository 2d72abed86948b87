"""Singular-value thresholding and the patch low-rank prox."""
import torch

from genprior.priors.classical import PatchLowRank, svt

from ._reference import check_prox


D = torch.float64


# -- patch low rank ------------------------------------------------------------------------------
def test_svt_matches_brute_force(gen):
    M = torch.randn(5, 3, generator=gen, dtype=D)
    tau = 0.8
    nuc = lambda u: torch.linalg.svdvals(u.reshape(5, 3)).sum()                            # noqa: E731
    smooth = lambda u, eps: (torch.linalg.eigvalsh(u.reshape(5, 3).T @ u.reshape(5, 3)).clamp_min(0)  # noqa: E731
                             + eps ** 2).sqrt().sum()
    check_prox(svt(M, tau), M, tau, nuc, smooth, atol=1e-4)


def test_patch_lowrank_prox_two_patch_case(gen):
    # a 5 x 6 image has two 5 x 5 patches; both groups hold both: the prox is svt on the centred
    # 2 x 25 matrix, then overlapping pixels averaged
    x = torch.rand(1, 1, 5, 6, generator=gen, dtype=D)
    gamma = 0.3
    M = torch.stack([x[0, 0, :, 0:5].reshape(-1), x[0, 0, :, 1:6].reshape(-1)])
    m = M.mean(0, keepdim=True)
    E = svt(M - m, gamma) + m
    num, cnt = torch.zeros(5, 6, dtype=D), torch.zeros(5, 6, dtype=D)
    num[:, 0:5] += E[0].reshape(5, 5)
    num[:, 1:6] += E[1].reshape(5, 5)
    cnt[:, 0:5] += 1
    cnt[:, 1:6] += 1
    out = PatchLowRank(patch=5, stride=1, group=8).prox(x, gamma)
    assert float((out[0, 0] - num / cnt).abs().max()) < 1e-12
    assert float((out - x).abs().max()) > 1e-2


def test_patch_lowrank_per_batch_and_identity(gen):
    x = torch.rand(2, 1, 20, 20, generator=gen, dtype=D)
    lr = PatchLowRank(patch=4, stride=2, group=8, window=3)
    assert float((lr.prox(x, 0.0) - x).abs().max()) < 1e-12          # aggregation is unbiased
    gam = torch.tensor([0.1, 0.5], dtype=D)
    out = lr.prox(x, gam)
    assert torch.allclose(out[1:], lr.prox(x[1:], 0.5), atol=1e-12)
    sig = torch.tensor([0.05, 0.2], dtype=D)
    assert torch.allclose(lr.denoise(x, sig)[:1], lr.denoise(x[:1], 0.05), atol=1e-12)
