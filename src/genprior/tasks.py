"""Inverse problems: an operator plus a noise model, and the registry of the nine named tasks.

``gp.tasks.make(name, image_shape=(C, H, W), sigma_y=..., **options)`` builds one;
``gp.tasks.names()`` lists them. Noise is white Gaussian with std ``sigma_y`` on the [0, 1] image
scale; for complex measurements (MRI) the real and imaginary parts each have std ``sigma_y``.
"""
from __future__ import annotations

import torch

from ._checks import annotations_of, check_nonneg, check_option, check_options, check_tensor
from .operators.base import LinearOperator
from .registry import Registry


class DataTerm:
    """The data term 1/2 ||A x - y||² of the MAP objective (scico's ``SquaredL2Loss``), per batch
    element. Solvers use it instead of writing the residual out; inputs are not checked here (the
    entry point checked them once)."""

    def __init__(self, operator: LinearOperator):
        self.operator = operator

    def residual(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """A x - y."""
        return self.operator.apply(x) - y

    def value(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """1/2 ||A x - y||², shape (B,)."""
        r = self.residual(x, y)
        return 0.5 * (r.abs() ** 2).reshape(r.shape[0], -1).sum(1)

    def grad(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """A^T (A x - y)."""
        return self.operator.apply_adjoint(self.residual(x, y))

    def prox(self, z: torch.Tensor, y: torch.Tensor, gamma, **options) -> torch.Tensor:
        """argmin_x gamma/2 ||A x - y||² + 1/2 ||x - z||² (the operator's closed form, else CG)."""
        return self.operator.prox_l2(z, y, gamma, **options)

    def relative_residual(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """||A x - y|| / ||y|| over the whole batch (a history figure)."""
        r = self.residual(x, y)
        return float((r.abs() ** 2).sum().sqrt() / (y.abs() ** 2).sum().sqrt().clamp_min(1e-30))


class InverseProblem:
    """y = A x + n, n ~ N(0, sigma_y² I)."""

    def __init__(self, operator: LinearOperator, sigma_y: float = 0.0, *, name: str | None = None,
                 options: dict | None = None):
        if not isinstance(operator, LinearOperator):
            raise TypeError(f"operator must be a genprior LinearOperator, got {type(operator).__name__}")
        self.operator = operator
        self.sigma_y = check_sigma_y(sigma_y)
        self.name = name or operator.name
        self.options = dict(options or {})
        self.data = DataTerm(operator)

    @property
    def x_shape(self):
        return self.operator.x_shape

    @property
    def y_shape(self):
        return self.operator.y_shape

    def measure(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """y = A x + sigma_y n with n drawn from ``generator``."""
        check_tensor(x, "x")
        y = self.operator.A(x)
        if self.sigma_y == 0:
            return y
        if y.is_complex():
            n = torch.complex(torch.randn(y.shape, generator=generator, dtype=y.real.dtype),
                              torch.randn(y.shape, generator=generator, dtype=y.real.dtype))
        else:
            n = torch.randn(y.shape, generator=generator, dtype=y.dtype)
        support = self.operator.measurement_support(y)
        if support is not None:          # entries that are not measured (zeros in y) stay zero
            n = n * support
        return y + self.sigma_y * n.to(y.device)

    def check_measurement(self, y: torch.Tensor) -> torch.Tensor:
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"y must be a torch.Tensor, got {type(y).__name__}")
        self.operator.check_y(y)
        if y.shape[0] < 1:
            raise ValueError(f"y has an empty batch: shape {tuple(y.shape)}")
        if not bool(torch.isfinite(y).all()):
            raise ValueError("y contains NaN or Inf")
        return y

    def data_fidelity(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """1/(2 sigma²) ||y - A x||² per batch element (sigma = 1 when sigma_y = 0)."""
        s2 = self.sigma_y ** 2 if self.sigma_y > 0 else 1.0
        return self.data.value(self.operator.check_x(x), y) / s2

    def __repr__(self) -> str:
        return f"InverseProblem({self.name!r}, operator={self.operator}, sigma_y={self.sigma_y})"


TASKS: Registry = Registry("task")


def names() -> list[str]:
    return TASKS.names()


def make(name: str, image_shape=(1, 64, 64), sigma_y: float = 0.01, **options) -> InverseProblem:
    """Build a named inverse problem. Unknown options raise; each option is checked against the
    builder's annotation (``int`` options take integers, ``float`` options finite numbers)."""
    builder = TASKS.get(name)
    image_shape = check_image_shape(image_shape)
    check_sigma_y(sigma_y)
    import inspect
    allowed = [p for p in inspect.signature(builder).parameters if p != "image_shape"]
    unknown = set(options) - set(allowed)
    if unknown:
        raise TypeError(f"task {name!r} got unknown options {sorted(unknown)}; allowed: {allowed}")
    check_options(options, annotations_of(builder), f"task {name!r} option")
    op = builder(image_shape, **options)
    return InverseProblem(op, sigma_y, name=name, options=options)


def options_of(name: str) -> dict:
    """Every option of the named task with its value when not given: ``{name: default}``."""
    import inspect
    return {p.name: p.default for p in inspect.signature(TASKS.get(name)).parameters.values()
            if p.name != "image_shape"}


def check_image_shape(image_shape) -> tuple:
    """(C, H, W) with positive integers."""
    try:
        shape = tuple(image_shape)
    except TypeError:
        raise TypeError(f"image_shape must be a (C, H, W) tuple, got {image_shape!r}") from None
    if len(shape) != 3:
        raise ValueError(f"image_shape must be (C, H, W), got {shape}")
    for v in shape:
        check_option(v, int, "image_shape entries")
    if min(shape) < 1:
        raise ValueError(f"image_shape must have C, H, W >= 1, got {shape}")
    return tuple(int(v) for v in shape)


def check_sigma_y(sigma_y) -> float:
    """A finite noise level >= 0."""
    check_option(sigma_y, float, "sigma_y")
    return check_nonneg(sigma_y, "sigma_y")


@TASKS.register("denoise")
def _denoise(image_shape):
    """y = x + n (A = I)."""
    from .operators import Identity
    return Identity(image_shape)


def _blur(kernel, image_shape, padding):
    from .operators import BlurFFT, BlurValid
    if padding == "circular":
        return BlurFFT(kernel, image_shape)
    if padding == "valid":
        return BlurValid(kernel, image_shape)
    raise ValueError(f"unknown padding {padding!r}; known: circular, valid")


@TASKS.register("deblur_gauss")
def _deblur_gauss(image_shape, std: float = 2.0, size: int | None = None, padding: str = "circular"):
    """Gaussian blur of std ``std`` pixels; kernel ``size`` (default 2 ceil(3 std) + 1); padding
    circular (FFT) or valid (the output is smaller)."""
    from .operators import gaussian_kernel
    if size is not None and size < 1:
        raise ValueError(f"size must be >= 1 (or None for the default), got {size}")
    return _blur(gaussian_kernel(std, size), image_shape, padding)


@TASKS.register("deblur_motion")
def _deblur_motion(image_shape, size: int = 15, seed: int = 0, padding: str = "circular"):
    """A random motion-blur kernel (``size``², drawn from ``seed``); padding circular or valid."""
    from .operators import motion_kernel
    return _blur(motion_kernel(size, seed=seed), image_shape, padding)


@TASKS.register("sr4")
def _sr(image_shape, factor: int = 4, kernel: str = "average"):
    """x``factor`` downsampling (``factor`` divides H and W) after an ``average`` (box) or ``bicubic``
    anti-aliasing kernel."""
    from .operators import super_resolution
    C, H, W = image_shape
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    if H % factor or W % factor:
        raise ValueError(f"factor {factor} must divide the image size {H}x{W}")
    return super_resolution(image_shape, factor, kernel)


@TASKS.register("inpaint_box")
def _inpaint_box(image_shape, box_fraction: float = 0.35):
    """A centred box of ``box_fraction`` of each side is missing."""
    from .operators import Inpainting
    C, H, W = image_shape
    if not 0 < box_fraction < 1:
        raise ValueError(f"box_fraction must be in (0, 1), got {box_fraction}")
    mask = torch.ones(1, H, W, dtype=torch.float64)
    bh, bw = int(round(H * box_fraction)), int(round(W * box_fraction))
    mask[:, (H - bh) // 2:(H - bh) // 2 + bh, (W - bw) // 2:(W - bw) // 2 + bw] = 0
    op = Inpainting(mask, image_shape)
    op.name = "inpaint_box"
    return op


@TASKS.register("inpaint_random")
def _inpaint_random(image_shape, keep: float = 0.3, seed: int = 0):
    """A random fraction ``keep`` of the pixels is observed (the mask drawn from ``seed``)."""
    from .operators import Inpainting
    C, H, W = image_shape
    if not 0 < keep <= 1:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    g = torch.Generator().manual_seed(seed)
    mask = (torch.rand(1, H, W, generator=g, dtype=torch.float64) < keep).double()
    op = Inpainting(mask, image_shape)
    op.name = "inpaint_random"
    return op


@TASKS.register("cs")
def _cs(image_shape, ratio: float = 0.25, matrix: str = "gaussian", seed: int = 0):
    """Compressed sensing: m = ``ratio`` n measurements with a dense ``gaussian`` matrix or a
    ``structured`` one (random signs, DCT, random rows), drawn from ``seed``."""
    from .operators import GaussianCS, StructuredCS
    if matrix == "gaussian":
        return GaussianCS(image_shape, ratio, seed=seed)
    if matrix == "structured":
        return StructuredCS(image_shape, ratio, seed=seed)
    raise ValueError(f"unknown CS matrix {matrix!r}; known: gaussian, structured")


@TASKS.register("ct")
def _ct(image_shape, n_angles: int = 60, circle: bool = False):
    """Parallel-beam CT: the Radon transform at ``n_angles`` angles evenly spaced over 180°; the detector
    covers the whole image (``circle=True``: only the disc inscribed in it, scikit-image's circle=True)."""
    from .operators import Radon
    return Radon(image_shape, n_angles, circle=circle)


@TASKS.register("mri")
def _mri(image_shape, acceleration: float = 4.0, center_fraction: float = 0.08, coils: int = 1, seed: int = 0):
    """Cartesian MRI: a 1/``acceleration`` fraction of the phase-encoding lines, the central
    ``center_fraction`` always kept, the others drawn from ``seed``; ``coils`` > 1 gives multi-coil
    data with smooth sensitivity maps."""
    from .operators import MRI, MultiCoilMRI, cartesian_mask, coil_maps
    C, H, W = image_shape
    mask = cartesian_mask((H, W), acceleration, center_fraction, seed=seed)
    if coils == 1:
        return MRI(mask, image_shape)
    if coils < 1:
        raise ValueError(f"coils must be >= 1, got {coils}")
    return MultiCoilMRI(mask, coil_maps(coils, (H, W), seed=seed), image_shape)

