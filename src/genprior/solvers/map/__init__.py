"""MAP solvers with explicit state (init / step / run): proximal gradient & FISTA, ADMM,
primal-dual (Chambolle-Pock); and the named methods built from them, one file each: ``tikhonov``,
``tv``, ``sparsity`` (wavelet, dct), ``pnp`` (pnp_hqs, pnp_admm), ``red``, ``denoisers`` (nlm,
bm3d, lowrank); ``common`` holds the operator kinds of the lambda tables and the smooth start."""
from .admm import ADMM, ADMMState, FourierNormalSolver, CGNormalSolver
from .fista import FISTA, FISTAState
from .pdhg import PDHG, PDHGState
from . import denoisers, pnp, red, sparsity, tikhonov, tv  # noqa: F401  (register the named methods)

__all__ = ["FISTA", "FISTAState", "ADMM", "ADMMState", "PDHG", "PDHGState", "FourierNormalSolver", "CGNormalSolver"]
