"""MAP solvers with explicit state (init / step / run): proximal gradient & FISTA, ADMM, HQS,
primal-dual (Chambolle-Pock), RED. The named methods built from them live in ``methods.py``."""
from .admm import ADMM, ADMMState, FourierNormalSolver, CGNormalSolver
from .fista import FISTA, FISTAState
from .pdhg import PDHG, PDHGState

__all__ = ["FISTA", "FISTAState", "ADMM", "ADMMState", "PDHG", "PDHGState", "FourierNormalSolver", "CGNormalSolver"]
