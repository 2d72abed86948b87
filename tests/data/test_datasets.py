"""genprior.data.datasets: Fashion-MNIST, animal silhouettes, image folders, digits."""
import gzip
import pickle
import struct

import numpy as np
import pytest
import torch

import genprior as gp


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
