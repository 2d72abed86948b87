"""genprior.data.images: the offline test images."""
import pytest

import genprior as gp


def test_images():
    x = gp.data.image("camera", 64)
    assert x.shape == (1, 1, 64, 64) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert gp.data.image("astronaut", (32, 48), grayscale=False).shape == (1, 3, 32, 48)
    with pytest.raises(KeyError, match="unknown image"):
        gp.data.image("lena")


def _write(path, arr):
    from PIL import Image
    Image.fromarray(arr).save(path)
    return path


def test_image_files_any_format_and_size(tmp_path):
    """PNG / JPEG / TIFF (8 and 16 bit) read as [0, 1], colour kept as 3 channels, any size."""
    import numpy as np
    rng = np.random.default_rng(0)
    rgb = (rng.random((30, 50, 3)) * 255).astype(np.uint8)
    for name in ("a.png", "a.tif", "a.bmp"):
        x = gp.data.image(_write(tmp_path / name, rgb), None)
        assert x.shape == (1, 3, 30, 50) and np.abs(x[0].permute(1, 2, 0).numpy() * 255 - rgb).max() < 1e-3
    jpg = gp.data.image(str(_write(tmp_path / "a.jpg", rgb)), None)
    assert jpg.shape == (1, 3, 30, 50)
    g16 = (rng.random((20, 20)) * 65535).astype(np.uint16)
    x = gp.data.image(_write(tmp_path / "g.tif", g16), None)
    assert x.shape == (1, 1, 20, 20) and np.abs(x[0, 0].numpy().astype(np.float64) * 65535 - g16).max() < 0.02
    rgba = np.concatenate([rgb, np.full((30, 50, 1), 128, np.uint8)], axis=2)
    assert gp.data.image(_write(tmp_path / "rgba.png", rgba), 16).shape == (1, 3, 16, 16)
    assert gp.data.image(tmp_path / "a.png", 16, grayscale=True).shape == (1, 1, 16, 16)
    assert gp.data.image(tmp_path / "g.tif", 8, grayscale=False).shape == (1, 3, 8, 8)


def test_resize_rule_is_a_centre_crop_never_a_stretch(tmp_path):
    """A 20 x 60 image whose middle 20 x 20 is white and sides black: the square crop keeps only
    the white middle (a stretch would bring black in)."""
    import numpy as np
    arr = np.zeros((20, 60), np.uint8)
    arr[:, 20:40] = 255
    x = gp.data.image(_write(tmp_path / "wide.png", arr), 10)
    assert x.shape == (1, 1, 10, 10) and float(x.min()) > 0.99
    assert gp.data.image(tmp_path / "wide.png", (10, 30)).mean() == pytest.approx(1 / 3, abs=0.02)


def test_image_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gp.data.image(tmp_path / "missing.png", 8)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gp.data.image("photos/missing.jpg", 8)
    (tmp_path / "not.png").write_text("not an image")
    with pytest.raises(ValueError, match="not an image"):
        gp.data.image(tmp_path / "not.png", 8)
    with pytest.raises(IsADirectoryError, match="folder"):
        gp.data.image(tmp_path, 8)
    with pytest.raises(TypeError, match="name or a path"):
        gp.data.image(3, 8)
    _write(tmp_path / "b.png", __import__("numpy").zeros((4, 4), "uint8"))
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in gp.data.image_files(tmp_path)] == ["b.png", "not.png"]
