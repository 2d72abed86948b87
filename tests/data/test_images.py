"""genprior.data.images: the offline test images."""
import pytest

import genprior as gp


def test_images():
    x = gp.data.image("camera", 64)
    assert x.shape == (1, 1, 64, 64) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert gp.data.image("astronaut", (32, 48), grayscale=False).shape == (1, 3, 32, 48)
    with pytest.raises(KeyError, match="unknown image"):
        gp.data.image("lena")
