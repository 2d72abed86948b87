"""genprior.metrics: PSNR / SSIM against scikit-image, sliced Wasserstein against a closed form."""
import numpy as np
import pytest
import torch

import genprior as gp


def test_psnr_and_ssim_match_scikit_image(gen):
    skm = pytest.importorskip("skimage.metrics")
    x = torch.rand(2, 1, 40, 40, generator=gen, dtype=torch.float64)
    y = (x + 0.1 * torch.randn(x.shape, generator=gen, dtype=torch.float64)).clamp(0, 1)
    p = gp.metrics.psnr(y, x)
    s = gp.metrics.ssim(y, x)
    for b in range(2):
        assert abs(float(p[b]) - skm.peak_signal_noise_ratio(x[b, 0].numpy(), y[b, 0].numpy(), data_range=1)) < 1e-9
        ref = skm.structural_similarity(x[b, 0].numpy(), y[b, 0].numpy(), data_range=1, gaussian_weights=True,
                                        sigma=1.5, use_sample_covariance=False)
        assert abs(float(s[b]) - ref) < 2e-3
    assert float(gp.metrics.ssim(x, x).min()) > 0.9999


def test_sliced_wasserstein_detects_a_shift(gen):
    X = torch.randn(2000, 5, generator=gen)
    Y = torch.randn(2000, 5, generator=gen)
    same = float(gp.metrics.sliced_wasserstein(X, Y, generator=gen))
    shifted = float(gp.metrics.sliced_wasserstein(X, Y + 1.0, generator=gen))
    assert same < 0.1 and shifted > 0.3
    # a shift by a vector v: sliced W2 = |v| sqrt(E[(theta.u)^2]) = |v| / sqrt(d)
    assert abs(shifted - np.sqrt(5) / np.sqrt(5)) < 0.15


# -- FID ---------------------------------------------------------------------------------------------
def _tiny_classifier(seed=0):
    from genprior.nets.classifier import ImageClassifier
    torch.manual_seed(seed)      # test-local: initialises a throw-away network
    return ImageClassifier(width=4, feature_dim=8).eval()


def test_frechet_distance_matches_the_closed_form_for_commuting_covariances(gen):
    # diagonal covariances commute: FD = |mu_a - mu_b|² + sum_i (sqrt(a_i) - sqrt(b_i))²
    d = 6
    mu_a, mu_b = torch.randn(d, generator=gen, dtype=torch.float64), torch.randn(d, generator=gen, dtype=torch.float64)
    a, b = torch.rand(d, generator=gen, dtype=torch.float64) + 0.1, torch.rand(d, generator=gen, dtype=torch.float64)
    Q, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64))   # a common rotation
    fd = gp.metrics.frechet_distance(mu_a.numpy(), (Q @ torch.diag(a) @ Q.T).numpy(),
                                     mu_b.numpy(), (Q @ torch.diag(b) @ Q.T).numpy())
    ref = float(((mu_a - mu_b) ** 2).sum() + ((a.sqrt() - b.sqrt()) ** 2).sum())
    assert abs(fd - ref) < 1e-8 * max(1.0, ref)
    assert fd > 0.1


def test_fid_of_a_set_with_itself_is_zero_and_a_shift_raises_it(gen):
    net = _tiny_classifier()
    x = torch.rand(300, 1, 28, 28, generator=gen)
    assert abs(gp.metrics.fid(x, x, extractor=net)) < 1e-6
    x2 = torch.rand(300, 1, 28, 28, generator=gen)                 # the same distribution, other draws
    same = gp.metrics.fid(x, x2, extractor=net)
    assert gp.metrics.fid(x, (x2 + 0.3).clamp(0, 1), extractor=net) > 3 * same > 0
    # a plain callable extractor works too (identity features of a 2x2-pooled image)
    pool = lambda t: torch.nn.functional.avg_pool2d(t, 7).flatten(1)   # noqa: E731
    assert abs(gp.metrics.fid(x, x, extractor=pool)) < 1e-8
    assert abs(gp.metrics.fid(x, x + 0.5, extractor=pool) - 16 * 0.25) < 1e-6   # 16 features shifted by 0.5


def test_fid_extractor_round_trips_through_its_checkpoint(tmp_path, gen):
    from genprior.nets.checkpoint import CheckpointError, save_checkpoint
    net = _tiny_classifier()
    with torch.no_grad():                                  # non-trivial BatchNorm statistics
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    save_checkpoint(tmp_path / "clf", net, {"kind": "classifier", "image_shape": [1, 28, 28],
                                            "architecture": {"class": "ImageClassifier", "config": net.config}})
    back = gp.metrics.fid_extractor(tmp_path / "clf")
    x = torch.rand(5, 1, 28, 28, generator=gen)
    assert torch.equal(back.features(x), net.features(x))
    assert back.features(x).shape == (5, 8) and not any(p.requires_grad for p in back.parameters())
    save_checkpoint(tmp_path / "gan", net, {"kind": "gan", "image_shape": [1, 28, 28],
                                            "architecture": {"class": "ImageClassifier", "config": net.config}})
    with pytest.raises(CheckpointError, match="not a classifier"):
        gp.metrics.fid_extractor(tmp_path / "gan")
    with pytest.raises(ValueError, match="shape"):
        net.features(torch.rand(2, 1, 32, 32))


def _fashion_or_skip(split):
    try:
        return gp.data.fashion_mnist(split, return_labels=True)
    except FileNotFoundError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def shipped_extractor():
    from genprior.priors.registry import CHECKPOINT_DIR
    if not (CHECKPOINT_DIR / gp.metrics.FID_EXTRACTOR / "config.json").exists():
        pytest.skip("the FID classifier is not shipped in this checkout")
    return gp.metrics.fid_extractor()


def test_shipped_fid_classifier_classifies_held_out_fashion(shipped_extractor):
    from genprior.training.classifier import accuracy
    x, labels = _fashion_or_skip("test")
    assert gp.metrics.FID_EXTRACTOR not in gp.priors.shipped()     # it ships beside the priors, not as one
    acc = accuracy(shipped_extractor, x[:1000], labels[:1000])
    assert acc > 0.85, acc                                          # measured at release: 0.92 on the full split


def test_shipped_fid_separates_real_from_blurred_fashion(shipped_extractor):
    x_test, _ = _fashion_or_skip("test")
    x_train, _ = _fashion_or_skip("train")
    a, b = x_test[:1000], x_train[:1000]
    blurred = torch.nn.functional.avg_pool2d(b, 3, stride=1, padding=1, count_include_pad=False)
    f_real = gp.metrics.fid(a, b, extractor=shipped_extractor)
    f_blur = gp.metrics.fid(a, blurred, extractor=shipped_extractor)
    assert f_blur > 3 * f_real, (f_real, f_blur)


# -- coverage of central intervals, weighted sample sets ----------------------------------------------
def test_weighted_coverage_interval_ends_are_the_inverted_cdf_quantiles():
    """Equal weights on the values 0..9: Q(0.1) = 0 and Q(0.9) = 8 (smallest v with F(v) >= p)."""
    s = torch.arange(10, dtype=torch.float64).reshape(10, 1, 1)
    w = torch.ones(10, 1, dtype=torch.float64)
    for truth, inside in ((0.0, 1.0), (8.0, 1.0), (8.5, 0.0), (-0.1, 0.0)):
        assert float(gp.metrics.coverage(s, torch.tensor([[truth]], dtype=torch.float64), 0.8, weights=w)[0]) == inside
    # all the weight on one particle: the interval is that value
    w1 = torch.zeros(10, 1, dtype=torch.float64)
    w1[6] = 1
    assert float(gp.metrics.coverage(s, torch.tensor([[6.0]]), 0.95, weights=w1)[0]) == 1
    assert float(gp.metrics.coverage(s, torch.tensor([[5.0]]), 0.95, weights=w1)[0]) == 0


def test_weighted_coverage_of_exact_draws_has_the_order_statistic_rate():
    """S = 16 exchangeable draws and one more (the truth): the truth lies between the k-th and m-th
    order statistics with probability (m - k)/(S + 1); at 90 %, k = ceil(0.05 S) = 1, m = ceil(0.95 S) = 16:
    15/17 = 0.882 (the nominal is out of reach with 16 samples). 200k replicates: sd 0.0007."""
    g = torch.Generator().manual_seed(0)
    u = torch.rand(17, 200_000, generator=g, dtype=torch.float64)
    cov = float(gp.metrics.coverage(u[:16, None], u[16][None], 0.9, weights=torch.ones(16, 1, dtype=torch.float64))[0])
    assert abs(cov - 15 / 17) < 0.004
    cov50 = float(gp.metrics.coverage(u[:16, None], u[16][None], 0.5, weights=torch.ones(16, 1, dtype=torch.float64))[0])
    assert abs(cov50 - (12 - 4) / 17) < 0.004                       # k = ceil(4) = 4, m = ceil(12) = 12


def test_weighted_coverage_needs_the_weights():
    """Importance-weighted draws from N(0, 1) for the target N(1.5, 0.5²): with the weights the 90 %
    interval covers target draws at ~90 % (20000 particles, ESS ~ 4000: within 2 points); the
    unweighted draws' interval [-1.64, 1.64] covers them at P(z < 0.29) ~ 0.61."""
    g = torch.Generator().manual_seed(1)
    n, B = 20_000, 1000
    s = torch.randn(n, 1, generator=g, dtype=torch.float64).expand(n, B)
    logw = -((s - 1.5) ** 2) / (2 * 0.25) + s ** 2 / 2
    w = torch.softmax(logw, 0)
    truth = 1.5 + 0.5 * torch.randn(B, generator=g, dtype=torch.float64)
    weighted = float(gp.metrics.coverage(s[..., None], truth[:, None], 0.9, weights=w).mean())
    plain = float(gp.metrics.coverage(s[..., None], truth[:, None], 0.9).mean())
    assert abs(weighted - 0.9) < 0.02 and abs(plain - 0.61) < 0.05, (weighted, plain)


def test_coverage_rejects_bad_weights_and_levels():
    s, t = torch.rand(8, 2, 3), torch.rand(2, 3)
    with pytest.raises(ValueError, match="weights must be"):
        gp.metrics.coverage(s, t, 0.9, weights=torch.ones(8, 3))
    with pytest.raises(ValueError, match=">= 0"):
        gp.metrics.coverage(s, t, 0.9, weights=-torch.ones(8, 2))
    with pytest.raises(ValueError, match="level"):
        gp.metrics.coverage(s, t, 1.5)


def test_calibration_summary_matches_its_parts():
    """gp.metrics.calibration: coverage as gp.metrics.coverage, rmse of the sample mean, the std-error
    correlation of a sampler whose spread tracks its error is positive; equal weights give the plain mean."""
    import genprior as gp
    g = torch.Generator().manual_seed(0)
    scale = torch.linspace(0.1, 1.0, 64).reshape(1, 1, 8, 8)
    x = torch.zeros(2, 1, 8, 8)
    s = scale * torch.randn(200, 2, 1, 8, 8, generator=g)
    c = gp.metrics.calibration(s, x + scale * torch.randn(x.shape, generator=g), (0.5, 0.9))
    assert set(c) >= {"cov50", "cov90", "corr_std_err", "mean_std", "rmse", "mean", "std"}
    truth = x + scale * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))
    c = gp.metrics.calibration(s, truth, (0.9,))
    assert c["cov90"] == pytest.approx(float(gp.metrics.coverage(s, truth, 0.9).mean()))
    assert c["rmse"] == pytest.approx(float((s.double().mean(0) - truth.double()).pow(2).mean().sqrt()))
    assert c["corr_std_err"] > 0.2
    w = torch.ones(200, 2)
    assert torch.allclose(gp.metrics.calibration(s, truth, (0.9,), weights=w)["mean"], c["mean"])
