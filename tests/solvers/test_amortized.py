"""Amortized posterior inference: trainer, checkpoint metadata, mismatch check, method."""
import pytest
import torch

import genprior as gp
from genprior.priors.amortized import AmortizedPrior, condition_image, resolve_condition
from genprior.training.amortized import AmortizedTrainConfig, build, train_amortized

TINY = dict(task="sr4", data="digits8", task_options={"factor": 2}, sigma_y=0.05, channels=(8, 16), batch_size=16,
            sample_every=0, save_every=1000, warmup=1)


def _cfg(out, **kw):
    return AmortizedTrainConfig(out=str(out), **{**TINY, **kw})


def _problem(sigma_y=0.05, **opts):
    return gp.tasks.make("sr4", (1, 8, 8), sigma_y=sigma_y, **{"factor": 2, **opts})


def _fixed_loss(prior, model):
    """The training loss on one fixed batch (fixed x, y, sigma, noise)."""
    g = torch.Generator().manual_seed(99)
    prob = _problem()
    x = gp.data.digits()[:32]
    cond = prior.condition_input(prob, prob.measure(x, generator=g))
    x0 = 2 * x - 1
    with torch.no_grad():
        if model == "mmse":
            return float(((prior.regress_internal(cond) - x0) ** 2).mean())
        sigma = torch.exp(-1.2 + 1.2 * torch.randn(32, generator=g))
        D = prior.denoise_internal(x0 + sigma[:, None, None, None] * torch.randn(x0.shape, generator=g), sigma, cond)
        return float((prior.precond.loss_weight(sigma, 0.5)[:, None, None, None] * (D - x0) ** 2).mean())


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("amortized")
    out = {}
    for model in ("diffusion", "mmse"):
        cfg = _cfg(root / model, model=model, steps=60, lr=2e-3, ema_decay=0.0)
        train_amortized(cfg, progress=False, log=lambda *_: None)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            init = build(cfg, (1, 8, 8), _problem())
        out[model] = (root / model, init)
    return out


@pytest.mark.parametrize("model", ["diffusion", "mmse"])
def test_training_lowers_loss(ckpts, model):
    path, init = ckpts[model]
    trained = gp.priors.load(str(path))
    before, after = _fixed_loss(init, model), _fixed_loss(trained, model)
    assert after < 0.8 * before, (before, after)


def test_resume_continues_exactly(tmp_path):
    a = _cfg(tmp_path / "a", steps=6, save_every=3)
    train_amortized(a, progress=False, log=lambda *_: None)
    a.steps = 12
    train_amortized(a, progress=False, log=lambda *_: None)
    train_amortized(_cfg(tmp_path / "b", steps=12, save_every=3), progress=False, log=lambda *_: None)
    pa, pb = gp.priors.load(str(tmp_path / "a")), gp.priors.load(str(tmp_path / "b"))
    for (k, va), vb in zip(pa.net.state_dict().items(), pb.net.state_dict().values()):
        assert torch.equal(va, vb), k
    assert pa.config["training"]["steps_done"] == 12
    assert len((tmp_path / "a" / "log.jsonl").read_text().splitlines()) == 12


def test_checkpoint_metadata_round_trip(ckpts):
    p = gp.priors.load(str(ckpts["diffusion"][0]))
    assert isinstance(p, AmortizedPrior) and p.model == "diffusion"
    assert p.trained_for() == {"task": "sr4", "task_options": {"factor": 2, "kernel": "average"}, "sigma_y": 0.05,
                               "image_shape": (1, 8, 8)}
    assert p.condition == "pinv" and p.config["dataset"] == "digits8"
    assert gp.priors.load(str(ckpts["mmse"][0])).model == "mmse"


def test_mismatch_error_names_both_and_escape(ckpts):
    p = gp.priors.load(str(ckpts["diffusion"][0]))
    x = gp.data.digits()[:2]
    shifted = _problem(sigma_y=0.1, factor=4)
    y = shifted.measure(x, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"sigma_y=0.05.*sigma_y=0.1.*factor=2 vs 4; sigma_y=0.05 vs 0.1"):
        gp.solve(shifted, y, "amortized", prior=p)
    other = gp.tasks.make("deblur_gauss", (1, 8, 8), sigma_y=0.05, std=0.5)
    with pytest.raises(ValueError, match=r"task 'sr4' vs 'deblur_gauss'"):
        p.check(other)
    assert p.check(_problem()) == []                       # defaults filled in: factor=2 == factor=2, kernel=average
    r = gp.solve(shifted, y, "amortized", prior=p, allow_mismatch=True, generator=torch.Generator().manual_seed(0))
    assert r.x.shape == (2, 1, 8, 8) and r.info["mismatch"] == ["factor=2 vs 4", "sigma_y=0.05 vs 0.1"]


def test_sampling_shapes_reproducible(ckpts):
    p = gp.priors.load(str(ckpts["diffusion"][0]))
    prob = _problem()
    y = prob.measure(gp.data.digits()[:3], generator=torch.Generator().manual_seed(0))
    run = lambda seed, **kw: gp.solve(prob, y, "amortized", prior=p, num_samples=4, steps=6,  # noqa: E731
                                      generator=torch.Generator().manual_seed(seed), **kw)
    r1, r2, r3 = run(1), run(1), run(2)
    assert r1.samples.shape == (4, 3, 1, 8, 8) and r1.mean.shape == r1.std.shape == (3, 1, 8, 8)
    assert torch.equal(r1.samples, r2.samples) and not torch.equal(r1.samples, r3.samples)
    torch.testing.assert_close(r1.mean, r1.samples.mean(0))
    assert float(r1.std.min()) >= 0 and float(r1.std.mean()) > 0
    assert r1.nfe == 2 * 6 - 1                             # Heun: two passes per step but the last
    rd = run(1, sampler="ddim", eta=1.0)
    assert rd.nfe == 6 and rd.samples.shape == (4, 3, 1, 8, 8)
    r64 = gp.solve(prob, y.double(), "amortized", prior=p, num_samples=2, steps=4,
                   generator=torch.Generator().manual_seed(0))
    assert r64.x.dtype == torch.float64
    with pytest.raises(ValueError, match="model='diffusion'"):
        gp.solve(prob, y, "amortized", prior=p, mode="mmse")


def test_mmse_mode(ckpts):
    m = gp.priors.load(str(ckpts["mmse"][0]))
    prob = _problem()
    x = gp.data.digits()[:4]
    y = prob.measure(x, generator=torch.Generator().manual_seed(0))
    r = gp.solve(prob, y, "amortized", prior=m)
    assert r.x.shape == (4, 1, 8, 8) and r.nfe == 1 and r.samples is None
    with torch.no_grad():
        expect = (m.regress_internal(m.condition_input(prob, y)) + 1) / 2
    torch.testing.assert_close(r.x, expect)
    # trained regressor beats its own input, the pseudo-inverse A†y
    c = condition_image(prob, y, "pinv")
    assert float(((r.x - x) ** 2).mean()) < float(((c - x) ** 2).mean())
    with pytest.raises(ValueError, match="num_samples must be 1"):
        gp.solve(prob, y, "amortized", prior=m, num_samples=2)
    with pytest.raises(ValueError, match="model='mmse'"):
        gp.solve(prob, y, "amortized", prior=m, mode="sample")
    with pytest.raises(TypeError, match="amortized checkpoint"):
        gp.solve(prob, y, "amortized", prior=gp.priors.TV())


def test_condition_maps():
    x = gp.data.digits()[:2].double()
    sr = gp.tasks.make("sr4", (1, 8, 8), sigma_y=0.0, factor=2)
    y = sr.measure(x)
    torch.testing.assert_close(sr.operator.A(condition_image(sr, y, "pinv")), y)   # A A† y = y for y = A x
    ct = gp.tasks.make("ct", (1, 16, 16), sigma_y=0.1, n_angles=8)
    assert resolve_condition("auto", ct.operator) == "fbp" and resolve_condition("auto", sr.operator) == "pinv"
    with pytest.raises(ValueError, match="needs a CT operator"):
        condition_image(sr, y, "fbp")
    with pytest.raises(ValueError, match="model must be one of"):
        AmortizedTrainConfig(task="sr4", data="digits8", out="x", model="gan")


class _GaussianPosteriorNet(torch.nn.Module):
    """F of the exact conditional EDM denoiser for x ~ N(mu, tau² I), y = x + sigma_y n (denoise task,
    condition c = y): in network units the posterior is N(2 m - 1, 4 v), m = v (mu / tau² + y / sigma_y²),
    v = 1 / (1 / tau² + 1 / sigma_y²), and D(x_s, s) = m' + v' / (v' + s²) (x_s - m')."""

    def __init__(self, mu, tau, sigma_y):
        super().__init__()
        self.mu, self.tau, self.sigma_y = mu, tau, sigma_y
        self.dummy = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, inp, c_noise):
        s = torch.exp(4 * c_noise).reshape(-1, 1, 1, 1)
        sd = 0.5
        x = inp[:, :1] * torch.sqrt(s ** 2 + sd ** 2)                  # undo c_in
        y = (inp[:, 1:2] + 1) / 2
        v = 1 / (1 / self.tau ** 2 + 1 / self.sigma_y ** 2)
        m = v * (self.mu / self.tau ** 2 + y / self.sigma_y ** 2)
        m_int, v_int = 2 * m - 1, 4 * v
        D = m_int + v_int / (v_int + s ** 2) * (x - m_int)
        c_skip, c_out = sd ** 2 / (s ** 2 + sd ** 2), s * sd / torch.sqrt(s ** 2 + sd ** 2)
        return (D - c_skip * x) / c_out


def test_sampler_matches_gaussian_posterior():
    """With the exact conditional denoiser of a Gaussian prior, the method's samples have the
    closed-form posterior mean and std (Monte-Carlo bounds), through the real channel layout,
    unit maps and sampler."""
    mu, tau, sy = 0.5, 0.2, 0.1
    prob = gp.tasks.make("denoise", (1, 4, 4), sigma_y=sy)
    p = AmortizedPrior(_GaussianPosteriorNet(mu, tau, sy), model="diffusion", task="denoise", task_options={},
                       sigma_y=sy, image_shape=(1, 4, 4), condition="pinv")
    g = torch.Generator().manual_seed(0)
    x = mu + tau * torch.randn((2, 1, 4, 4), generator=g, dtype=torch.float64)
    y = prob.measure(x, generator=g)
    v = 1 / (1 / tau ** 2 + 1 / sy ** 2)
    m = v * (mu / tau ** 2 + y / sy ** 2)
    n = 400
    r = gp.solve(prob, y, "amortized", prior=p, num_samples=n, steps=40, generator=torch.Generator().manual_seed(1))
    assert r.samples.shape == (n, 2, 1, 4, 4)
    assert float((r.mean - m).abs().max()) < 5 * v ** 0.5 / n ** 0.5
    assert abs(float(r.samples.std(0).pow(2).mean().sqrt()) / v ** 0.5 - 1) < 0.05


def test_conditional_flow_gaussian_posterior(tmp_path):
    """A conditional RealNVP trained on x ~ N(0, diag(1, 4)), y = A x + 0.3 n learns the Gaussian
    posterior: KL(p || q) on exact posterior samples is small, sample moments match; the checkpoint
    records the operator digest and refuses another matrix."""
    from genprior.training.amortized import FlowTrainConfig, train_amortized_flow
    torch.set_num_threads(1)
    d = torch.tensor([1.0, 2.0], dtype=torch.float64)
    A = torch.tensor([[1.0, 0.5]], dtype=torch.float64)
    prob = gp.InverseProblem(gp.operators.Matrix(A), 0.3)
    q = train_amortized_flow(FlowTrainConfig(out=str(tmp_path / "f"), steps=400, batch_size=256, hidden=32, layers=4,
                                             lr=3e-3, save_every=400), prob,
                             lambda n, g: torch.randn(n, 2, generator=g, dtype=torch.float64) * d,
                             progress=False, log=lambda *_: None)
    q = gp.priors.load(str(tmp_path / "f"))
    y = torch.tensor([[1.2]], dtype=torch.float64)
    S0 = torch.diag(d ** 2)
    Sp = torch.linalg.inv(torch.linalg.inv(S0) + A.T @ A / 0.09)
    mp = (Sp @ A.T @ y.T / 0.09).T
    post = torch.distributions.MultivariateNormal(mp[0], Sp)
    xs = post.sample((4000,))
    kl = float((post.log_prob(xs) - q.log_prob(xs, q.condition_input(prob, y).repeat(4000, 1))).mean())
    assert -0.02 < kl < 0.03, kl
    r = gp.solve(prob, y, "amortized", prior=q, num_samples=4000, generator=torch.Generator().manual_seed(0))
    assert r.samples.shape == (4000, 1, 2) and r.nfe == 1
    torch.testing.assert_close(r.mean[0], mp[0], atol=0.1, rtol=0)
    torch.testing.assert_close(torch.cov(r.samples[:, 0].T), Sp, atol=0.1, rtol=0.1)
    other = gp.InverseProblem(gp.operators.Matrix(A * 1.1), 0.3)
    with pytest.raises(ValueError, match="operator digest"):
        gp.solve(other, y, "amortized", prior=q)


def test_cli_train_amortized(tmp_path, capsys):
    from genprior.cli import main
    out = tmp_path / "cli"
    assert main(["train", "amortized", "--task", "sr4", "--task-opt", "factor=2", "--sigma-y", "0.03", "--data", "digits8",
                 "--model", "mmse", "--out", str(out), "--steps", "2", "--channels", "8,16", "--batch-size", "4",
                 "--sample-every", "2", "--threads", "1", "--no-progress"]) == 0
    p = gp.priors.load(str(out))
    assert p.model == "mmse" and p.trained_for()["task_options"] == {"factor": 2, "kernel": "average"}
    assert p.sigma_y == 0.03 and (out / "samples_0000002.png").exists()
    with pytest.raises(SystemExit) as e:
        main(["train", "amortized", "--data", "digits8", "--out", str(tmp_path / "x"), "--steps", "1"])
    assert e.value.code == 2 and "needs --task" in capsys.readouterr().err
