"""dmplug: the gradient reaches the start noise through every network call (finite differences,
float64), the DDIM generator is the K-step η = 0 walk, the discrepancy principle fires where it
must on a linear-Gaussian problem with known noise, ES-WMV matches a brute-force computation, and
no option or argument can carry the ground truth."""
import dataclasses
import inspect

import pytest
import torch

import genprior as gp
from genprior.nets.unet import UNet
from genprior.priors import LinearGaussianGenerator
from genprior.priors.diffusion import NetworkDiffusionPrior
from genprior.priors.fewstep import FewStepGenerator
from genprior.solvers.latent import dmplug as dm

D = torch.float64


def tiny_diffusion(dtype=D):
    g = torch.Generator().manual_seed(0)
    net = UNet(in_channels=1, channels=(8, 16), attn_levels=())
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(0.1 * torch.randn(p.shape, generator=g))
    return NetworkDiffusionPrior(net.to(dtype), image_shape=(1, 8, 8))


def test_gradient_reaches_z_through_all_network_calls():
    prior = tiny_diffusion()
    pb = gp.tasks.make("cs", image_shape=(1, 8, 8), ratio=0.5, sigma_y=0.05)
    g = torch.Generator().manual_seed(1)
    y = pb.measure(torch.rand(2, 1, 8, 8, generator=g, dtype=D), generator=g)
    G = FewStepGenerator(prior, 3, [2.0, 0.5, 0.05], clip=False).generate
    fg = dm.objective(pb, y, G, sigma=0.05, z_weight=0.3, clamp=False)
    z = torch.randn(2, 1, 8, 8, generator=g, dtype=D)
    prior.nfe = 0
    f, grad, x, r2 = fg(z)
    assert prior.nfe == 3 and grad.shape == z.shape
    assert float(grad.abs().max()) > 0
    for _ in range(3):
        v = torch.randn(z.shape, generator=g, dtype=D)
        h = 1e-5
        fd = (fg(z + h * v)[0] - fg(z - h * v)[0]) / (2 * h)          # per element
        an = (grad * v).flatten(1).sum(1)
        assert torch.allclose(fd, an, rtol=1e-6, atol=1e-8), (fd, an)
    # the last network call matters: a generator stopping one call earlier gives another gradient
    G2 = FewStepGenerator(prior, 2, [2.0, 0.5], clip=False).generate
    _, grad2, _, _ = dm.objective(pb, y, G2, sigma=0.05, z_weight=0.3, clamp=False)(z)
    assert (grad2 - grad).abs().max() > 1e-6 * grad.abs().max()


def test_ddim_generator_is_the_eta0_walk():
    prior = tiny_diffusion()
    z = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(2), dtype=D)
    def walk(sig, clip):
        x = sig[0] * z
        for k in range(3):
            x0 = prior.x0(x, sig[k])
            x0 = x0.clamp(0, 1) if clip else x0
            x = x0 + sig[k + 1] / sig[k] * (x - x0) if k < 2 else x0
        return x
    karras = [float(s) for s in prior.sigmas(3)[:3]]
    fk = FewStepGenerator(prior, 3, levels="karras", clip=False)
    assert fk.sigmas == pytest.approx(karras) and fk.latent_shape == (1, 8, 8) and fk.capabilities >= {"generate"}
    assert torch.allclose(fk.generate(z), walk(karras, False), atol=1e-12, rtol=0)
    # default levels: the reference's DDIM times 666, 333, 0 of the DDPM linear schedule (closed form
    # of the discrete ᾱ), times the prior's sigma_scale; every estimate clipped to [0, 1]
    beta = torch.linspace(1e-4, 0.02, 1000, dtype=D)
    abar = torch.cumprod(1 - beta, 0)
    ref = [float(prior.sigma_scale * ((1 - abar[t]) / abar[t]).sqrt()) for t in (666, 333, 0)]
    fs = FewStepGenerator(prior, 3)
    assert fs.sigmas == pytest.approx(ref, rel=1e-12) and fs.clip
    assert ref[0] / prior.sigma_scale == pytest.approx(9.489, abs=1e-3)
    out = fs.generate(z).detach()
    assert torch.allclose(out, walk(ref, True), atol=1e-12, rtol=0)
    assert float(out.min()) >= 0 and float(out.max()) <= 1

    class Shrink:                       # x0(x, σ) = x / (1 + σ²): leaves [0, 1], so clipping must act
        capabilities, image_shape, sigma_scale = frozenset({"x0"}), (1, 8, 8), 0.5

        def x0(self, x, s):
            return x / (1 + s ** 2)
    st = FewStepGenerator(Shrink(), 3)
    xs, xn = st.sigmas[0] * z, st.sigmas[0] * z
    for k in range(3):
        e = xs / (1 + st.sigmas[k] ** 2)
        e = e.clamp(0, 1)
        xs = e + st.sigmas[k + 1] / st.sigmas[k] * (xs - e) if k < 2 else e
        en = xn / (1 + st.sigmas[k] ** 2)
        xn = en + st.sigmas[k + 1] / st.sigmas[k] * (xn - en) if k < 2 else en
    assert torch.allclose(st.generate(z), xs, atol=1e-12, rtol=0)
    assert float((xn - xs).abs().max()) > 0.1
    with pytest.raises(ValueError, match="levels"):
        FewStepGenerator(prior, 3, levels="cosine")
    pb = gp.tasks.make("denoise", image_shape=(1, 8, 8), sigma_y=0.1)
    Gd, name = dm.make_generator(prior, dm.DMPlugOptions())
    assert name == "ddim" and Gd.steps == 3 and Gd.latent_shape == (1, 8, 8)
    with pytest.raises(ValueError, match="decreasing"):
        FewStepGenerator(prior, 2, [0.5, 2.0])
    # csgm through the few-step generator ("CSGM with a few-step generator") runs and counts its calls
    g = torch.Generator().manual_seed(4)
    y = pb.measure(torch.rand(1, 1, 8, 8, generator=g, dtype=D), generator=g)
    res = gp.solve(pb, y, "csgm", fk, generator=g, max_iter=3)
    assert res.nfe == 3 * 5 and bool(torch.isfinite(res.x).all())    # 4 objective evaluations + the final G


def linear_problem(sigma=0.1, k=3, B=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    W = 0.3 * torch.randn(64, k, generator=g, dtype=D)
    G = LinearGaussianGenerator(W, torch.full((64,), 0.5, dtype=D), image_shape=(1, 8, 8))
    pb = gp.tasks.make("cs", image_shape=(1, 8, 8), ratio=0.5, sigma_y=sigma)
    y = pb.measure(G.generate(torch.randn(B, k, generator=g, dtype=D)), generator=g)
    return G, pb, y


def test_discrepancy_principle_fires_at_the_first_crossing():
    """y = A(W z + b) + σ n with m = 32 measurements and k = 3 latents: the least-squares fit leaves
    ≈ (m - k) σ² < τ m σ², so the rule must fire, at the first iterate below the bound."""
    G, pb, y = linear_problem()
    res = gp.solve(pb, y, "dmplug", G, generator=torch.Generator().manual_seed(1), lr=0.05, max_iter=2000,
                   clamp=False, tau=1.1)
    info = res.info
    assert info["stop_rule"] == "discrepancy" and all(info["rule_met"]) and info["noise_count"] == [32.0] * 4
    ratios = torch.tensor(res.history["residual_ratio"])               # (iterations, B)
    for b, k in enumerate(info["stop_iteration"]):
        assert ratios[k, b] <= 1.1 and bool((ratios[:k, b] > 1.1).all())
        r = pb.operator.apply(res.x[b:b + 1]) - y[b:b + 1]
        assert float((r ** 2).sum()) <= 1.1 * 32 * 0.01 + 1e-12
    assert info["iterations"] == max(info["stop_iteration"]) + 1 < 2000
    # stopping earlier than convergence: a long run without a rule fits the noise further
    full = gp.solve(pb, y, "dmplug", G, generator=torch.Generator().manual_seed(1), lr=0.05, max_iter=1500,
                    clamp=False, stop="none")
    assert max(full.history["residual_ratio"][-1]) < 1.0
    assert not any(full.info["rule_met"]) and full.info["stop_iteration"] == [1499] * 4


def test_eswmv_matches_brute_force_and_stops_after_patience():
    W, P = 5, 7
    torch.manual_seed(0)
    base = torch.randn(2, 1, 4, 4, dtype=D)
    amp = [abs(t - 20) / 10 + 0.1 * (t % 3) for t in range(60)]         # noisy V shape, minimum near 20
    c = torch.tensor([0.5, 1.5], dtype=D).reshape(2, 1, 1, 1)
    xs = [base * (1 + c * a * (-1) ** t) + 0.01 * t * c for t, a in enumerate(amp)]
    es = dm.ESWMV(W, P)
    stopped_at = [None, None]
    for t, x in enumerate(xs):
        hit = es.update(x, t)
        for b in range(2):
            if hit[b] and stopped_at[b] is None:
                stopped_at[b] = (t, int(es.best_it[b]))
    for b in range(2):
        var = []
        for t in range(W - 1, len(xs)):
            win = torch.stack([xs[j][b] for j in range(t - W + 1, t + 1)])
            var.append(float((win - win.mean(0)).pow(2).mean()))
        # brute force: the running minimum and the first time it stays unbeaten P iterations
        best, best_t, wait, expect = float("inf"), None, 0, None
        for i, v in enumerate(var):
            t = i + W - 1
            if v < best:
                best, best_t, wait = v, t, 0
            else:
                wait += 1
                if wait >= P and expect is None:
                    expect = (t, best_t)
        assert expect is not None and stopped_at[b] == expect


def test_eswmv_rule_in_the_solver_returns_its_lowest_variance_iterate():
    G, pb, y = linear_problem(sigma=0.0)
    res = gp.solve(pb, y, "dmplug", G, generator=torch.Generator().manual_seed(1), lr=0.05, max_iter=600,
                   clamp=False, window=10, patience=30)
    assert res.info["stop_rule"] == "eswmv" and res.info["tau"] is None
    assert all(0 <= k < 600 for k in res.info["stop_iteration"])
    with pytest.raises(ValueError, match="sigma_y > 0"):
        gp.solve(pb, y, "dmplug", G, stop="discrepancy", max_iter=2)


def test_dmplug_on_a_diffusion_prior_counts_forward_and_backward_calls():
    prior = tiny_diffusion(torch.float32)
    pb = gp.tasks.make("inpaint_random", image_shape=(1, 8, 8), sigma_y=0.05)
    g = torch.Generator().manual_seed(3)
    y = pb.measure(torch.rand(1, 1, 8, 8, generator=g), generator=g)
    res = gp.solve(pb, y, "dmplug", prior, generator=torch.Generator().manual_seed(0), max_iter=5, stop="none")
    assert res.nfe == 5 * 3 * 2 and res.info["network_forward"] == 15 and res.info["sampler"] == "ddim"
    assert res.x.min() >= 0 and res.x.max() <= 1                          # clamp=True as the reference


def test_no_option_or_argument_carries_the_truth():
    names = {f.name for f in dataclasses.fields(dm.DMPlugOptions)}
    assert not any(w in n for n in names for w in ("true", "truth", "gt", "oracle", "clean", "ref"))
    assert list(inspect.signature(dm.dmplug).parameters) == ["problem", "y", "prior", "o", "generator", "progress"]
    G, pb, y = linear_problem()
    with pytest.raises(TypeError, match="unknown options"):
        gp.solve(pb, y, "dmplug", G, x_true=torch.zeros(4, 1, 8, 8))
