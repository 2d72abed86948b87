"""Forward models A: base classes and one file per modality."""
from .base import Composed, DecomposableOperator, FourierDiagonal, LinearOperator
from .blur import BlurFFT, BlurValid, gaussian_kernel, motion_kernel
from .cs import GaussianCS, StructuredCS
from .ct import Radon
from .gradient import FiniteDifference
from .mri import MRI, MultiCoilMRI, cartesian_mask, coil_maps
from .separable import Separable, average_pool_matrix, bicubic_matrix, super_resolution
from .simple import Identity, Inpainting, Matrix
from .transforms import DWT2, dct_matrix, difference_symbol

__all__ = ["LinearOperator", "DecomposableOperator", "FourierDiagonal", "Composed", "Identity", "Inpainting", "Matrix", "BlurFFT",
           "BlurValid", "gaussian_kernel", "motion_kernel", "Separable", "super_resolution", "average_pool_matrix",
           "bicubic_matrix", "GaussianCS", "StructuredCS", "dct_matrix", "Radon", "FiniteDifference", "MRI", "MultiCoilMRI",
           "cartesian_mask", "coil_maps", "DWT2", "difference_symbol"]
