"""Data-consistency (DC) steps: the base every method's step derives from.

A DC step is a small dataclass (its fields are its options) with two hooks around the prior step:

* ``before(ctx) -> x0``: correct the denoised estimate (PiGDM, DDS, DiffPIR);
* ``after(ctx, x_next) -> x_next``: correct the next state (DPS gradient, projections).

``ctx`` (:class:`StepContext`) carries the state, the levels, the network's x0 (with its graph
when ``needs_grad``), the measurement and the weight w_k of this step. All norms and inner
products are per batch element: samples in a batch never couple. A method's options dataclass
derives from its DC step, so the options object is the step itself and each option is declared once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch


@dataclass
class StepContext:
    i: int
    sigma: torch.Tensor
    sigma_next: torch.Tensor
    x: torch.Tensor              # current state (requires grad when the DC step needs it)
    x0: torch.Tensor             # network's denoised estimate
    y: torch.Tensor
    problem: object
    weight: float
    generator: torch.Generator | None
    counters: dict


@dataclass(kw_only=True)
class DCStep:
    """No data consistency (the unconditional reverse walk)."""

    needs_grad: ClassVar[bool] = False
    name: ClassVar[str] = "none"

    def __post_init__(self):
        pass

    def before(self, ctx: StepContext) -> torch.Tensor:
        return ctx.x0

    def after(self, ctx: StepContext, x_next: torch.Tensor) -> torch.Tensor:
        return x_next


def vjp(ctx: StepContext, out: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """v^T d out / d x through the network (counted as one backward evaluation)."""
    (g,) = torch.autograd.grad(out, ctx.x, grad_outputs=v)
    ctx.counters["vjp"] = ctx.counters.get("vjp", 0) + 1
    return g


def check_positive_int(value, name: str) -> None:
    if int(value) < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
