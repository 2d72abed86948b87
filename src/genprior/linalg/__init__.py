"""Linear algebra shared by every solver: batched CG and the power method."""
from .cg import CGResult, cg
from .power import power_method

__all__ = ["cg", "CGResult", "power_method"]
