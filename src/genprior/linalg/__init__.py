"""Linear algebra shared by every solver: batched CG and the power method."""
from .cg import CGResult, ConvergenceWarning, cg, warn_unconverged
from .power import power_method

__all__ = ["cg", "CGResult", "ConvergenceWarning", "warn_unconverged", "power_method"]
