import gzip
import pickle
import struct

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


def test_images_and_phantoms():
    x = gp.data.image("camera", 64)
    assert x.shape == (1, 1, 64, 64) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert gp.data.image("astronaut", (32, 48), grayscale=False).shape == (1, 3, 32, 48)
    with pytest.raises(KeyError, match="unknown image"):
        gp.data.image("lena")
    p1 = gp.data.phantoms(4, 32, generator=torch.Generator().manual_seed(3))
    p2 = gp.data.phantoms(4, 32, generator=torch.Generator().manual_seed(3))
    assert torch.equal(p1, p2) and p1.shape == (4, 1, 32, 32)
    assert float(p1.max()) <= 1 and float(p1.min()) >= 0 and float(p1.std()) > 0.05
    # zero outside the inscribed circle (the CT support)
    assert float(p1[..., 0, 0].abs().max()) < 1e-3


def _write_idx(path, arr):
    arr = np.asarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.tobytes())


def test_fashion_loader_reads_idx_files_it_is_given(tmp_path):
    imgs = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", imgs)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", [1, 2, 3])
    x, lab = gp.data.fashion_mnist("test", root=tmp_path, return_labels=True)
    assert x.shape == (3, 1, 28, 28) and torch.allclose(x[0, 0] * 255, torch.tensor(imgs[0], dtype=torch.float32))
    assert lab.tolist() == [1, 2, 3]
    assert gp.data.fashion_mnist("test", root=tmp_path, pad_to=32).shape == (3, 1, 32, 32)
    with pytest.raises(FileNotFoundError, match="make data"):
        gp.data.fashion_mnist("train", root=tmp_path / "nowhere")


def test_animal_loader_refuses_code_in_pickles(tmp_path):
    arr = (np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256).astype(np.uint8)
    with gzip.open(tmp_path / "animal_data_version_3.gz", "wb") as f:
        pickle.dump(arr, f)
    x = gp.data.animal_mnist(root=tmp_path)
    assert x.shape == (2, 1, 28, 28)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    with gzip.open(tmp_path / "animal_data_version_3.gz", "wb") as f:
        pickle.dump(Evil(), f)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        gp.data.animal_mnist(root=tmp_path)
    with pytest.raises(FileNotFoundError, match="no-deps animal-mnist"):
        gp.data.animal_mnist(root=tmp_path / "none")


def test_image_folder(tmp_path):
    from PIL import Image
    for i in range(3):
        Image.fromarray((np.ones((10, 12)) * 40 * i).astype(np.uint8)).save(tmp_path / f"{i}.png")
    x = gp.data.image_folder(tmp_path)
    assert x.shape == (3, 1, 10, 12) and abs(float(x[2].mean()) - 80 / 255) < 1e-6
    assert gp.data.image_folder(tmp_path, size=8).shape == (3, 1, 8, 8)
    with pytest.raises(FileNotFoundError):
        gp.data.image_folder(tmp_path / "missing")


def test_digits():
    pytest.importorskip("sklearn")
    x = gp.data.digits()
    assert x.shape == (1797, 1, 8, 8) and float(x.max()) == 1.0
