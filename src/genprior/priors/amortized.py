"""Amortized posterior networks: one network per task, trained on (x, y = A x + n) pairs.

Two models share one conditioning (Adler & Öktem 2018; Jin et al. 2017, FBPConvNet; Saharia et al.
2022, SR3): the measurement is mapped back to image space, c = Φ(y) with Φ = A† (pseudo-inverse),
FBP (CT) or Aᵀ, brought to network units (2c - 1) and stacked with a constant channel σ_y / 0.1
as extra input channels of the UNet.

* ``model="diffusion"``: a conditional EDM denoiser D(x_σ, σ | c) of p(x | y)
  (D = c_skip x + c_out F([c_in x, c, σ_y]; c_noise), Karras et al. 2022); sampling its PF-ODE or
  DDIM from σ_max to 0 draws x ~ p(x | y) in ``steps`` network passes, no Aᵀ inside the loop.
* ``model="mmse"``: a regressor x̂ = c + F([c, σ_y]; 0) trained with ||x̂ - x||², an estimate of
  E[x | y] in one pass (the classical amortized baseline).
* ``model="flow"`` (vector problems, condition ``"y"``: the raw measurement): a conditional RealNVP
  (:mod:`genprior.nets.cflow`) with exact log q(x | y); x = f⁻¹(z; y), z ~ N(0, I), one pass.

The checkpoint records what it was trained for (task, its options with the defaults filled in,
σ_y, image shape, condition; for a matrix operator a digest of A); :meth:`AmortizedPrior.check` compares that with a problem and
raises naming both, unless ``allow_mismatch=True`` (for shift studies).
"""
from __future__ import annotations

import hashlib
import inspect
import math

import torch

from .base import Prior
from .diffusion import PARAMETERIZATIONS, DiffusionPrior

MODELS = ("diffusion", "mmse", "flow")
CONDITIONS = ("auto", "pinv", "fbp", "adjoint", "y")
#: the σ_y channel holds σ_y / SIGMA_Y_UNIT
SIGMA_Y_UNIT = 0.1


def task_signature(name: str, options: dict) -> dict:
    """The task's options with the builder's defaults filled in (``sr4`` == ``sr4 factor=4``)."""
    from ..tasks import TASKS
    try:
        builder = TASKS.get(name)
    except KeyError:
        return dict(options)
    full = {p.name: p.default for p in inspect.signature(builder).parameters.values()
            if p.name != "image_shape" and p.default is not inspect.Parameter.empty}
    full.update(options)
    return full


def operator_digest(operator) -> str | None:
    """A short SHA-256 of a dense operator's matrix (float64 bytes); None for named operators,
    which the task's options already determine."""
    M = getattr(operator, "matrix", None)
    if M is None:
        return None
    return hashlib.sha256(M.detach().double().cpu().contiguous().numpy().tobytes()).hexdigest()[:16]


def resolve_condition(condition: str, operator) -> str:
    """``auto``: FBP when the operator has one (CT), else A† when A has an SVD, else Aᵀ."""
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}; known: {', '.join(CONDITIONS)}")
    if condition != "auto":
        return condition
    if hasattr(operator, "fbp"):
        return "fbp"
    return "pinv" if getattr(operator, "has_svd", False) else "adjoint"


def condition_image(problem, y: torch.Tensor, condition: str, *, cg_iters: int = 30) -> torch.Tensor:
    """Φ(y) on the [0, 1] image scale: A† y (closed form with an SVD, else ``cg_iters`` CG steps on
    AᵀA x = Aᵀy from 0, which stops early and so regularises), FBP (``Radon.fbp``) or
    Aᵀy / ||A||² (so that Φ(A x) has the scale of x when AᵀA ~ ||A||² I)."""
    op = problem.operator
    if condition == "y":
        return y
    if condition == "fbp":
        if not hasattr(op, "fbp"):
            raise ValueError(f"condition 'fbp' needs a CT operator; {type(op).__name__} has no fbp()")
        c = op.fbp(y)
    elif condition == "pinv":
        c = op.A_dagger(y) if op.has_svd else op.A_dagger(y, max_iter=cg_iters)
    elif condition == "adjoint":
        c = op.A_adjoint(y) / op.norm() ** 2
    else:
        raise ValueError(f"unknown condition {condition!r}; known: pinv, fbp, adjoint")
    return c.real if c.is_complex() else c


class AmortizedPrior(Prior):
    """A conditional network for one task (see the module docstring). Not a prior of x alone: it is
    used by ``gp.solve(problem, y, method="amortized", prior=...)``."""

    capabilities = frozenset({"amortized"})

    def __init__(self, net: torch.nn.Module, *, model: str, task: str, task_options: dict, sigma_y: float,
                 image_shape, condition: str, parameterization: str = "edm", sigma_data: float = 0.5,
                 sigma_min: float = 0.002, sigma_max: float = 80.0, config: dict | None = None,
                 name: str = "amortized", operator_digest: str | None = None):
        if model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {model!r}")
        if condition not in CONDITIONS[1:]:
            raise ValueError(f"condition must be one of {CONDITIONS[1:]}, got {condition!r}")
        if (model == "flow") != (condition == "y"):
            raise ValueError(f"condition 'y' goes with model 'flow' (and only with it); got model={model!r}, "
                             f"condition={condition!r}")
        if parameterization not in PARAMETERIZATIONS:
            raise ValueError(f"unknown parameterization {parameterization!r}; known: {', '.join(PARAMETERIZATIONS)}")
        self.net, self.model, self.task = net, model, str(task)
        self.task_options = task_signature(self.task, dict(task_options))
        self.sigma_y = float(sigma_y)
        self.image_shape = tuple(int(v) for v in image_shape)
        self.condition = condition
        self.precond = PARAMETERIZATIONS[parameterization]
        self.parameterization = parameterization
        self.sigma_data = float(sigma_data)
        # network units ([-1, 1], scale 2) for the ranges; exposed on the [0, 1] scale
        self.sigma_min, self.sigma_max = sigma_min / 2, sigma_max / 2
        self.config = dict(config or {})
        self.name = name
        self.operator_digest = operator_digest
        self.nfe = 0

    # -- what it was trained for --------------------------------------------------------------
    def trained_for(self) -> dict:
        return {"task": self.task, "task_options": self.task_options, "sigma_y": self.sigma_y,
                "image_shape": self.image_shape}

    def check(self, problem, *, allow_mismatch: bool = False) -> list[str]:
        """The list of differences between the training set-up and ``problem`` (task name, task
        options, σ_y, image shape); raises ValueError naming both unless ``allow_mismatch``."""
        name = getattr(problem, "name", None)
        opts = task_signature(name, getattr(problem, "options", {}) or {})
        diffs = []
        if name != self.task:
            diffs.append(f"task {self.task!r} vs {name!r}")
        for k in sorted(set(opts) | set(self.task_options)):
            a, b = self.task_options.get(k, "<unset>"), opts.get(k, "<unset>")
            if a != b and not (isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b)):
                diffs.append(f"{k}={a!r} vs {b!r}")
        if not math.isclose(self.sigma_y, float(problem.sigma_y), rel_tol=1e-6, abs_tol=1e-12):
            diffs.append(f"sigma_y={self.sigma_y:g} vs {float(problem.sigma_y):g}")
        if tuple(problem.x_shape) != self.image_shape:
            diffs.append(f"image shape {self.image_shape} vs {tuple(problem.x_shape)}")
        if self.operator_digest is not None:
            theirs = operator_digest(problem.operator)
            if theirs != self.operator_digest:
                diffs.append(f"operator digest {self.operator_digest} vs {theirs}")
        if diffs and not allow_mismatch:
            mine = ", ".join(f"{k}={v}" for k, v in self.task_options.items())
            theirs = ", ".join(f"{k}={v}" for k, v in opts.items())
            raise ValueError(
                f"amortized prior {self.name!r} was trained for task {self.task!r} ({mine}), sigma_y={self.sigma_y:g}, "
                f"images {self.image_shape}; the problem is {name!r} ({theirs}), sigma_y={float(problem.sigma_y):g}, "
                f"images {tuple(problem.x_shape)}; differences: {'; '.join(diffs)}. "
                "Pass allow_mismatch=True to use it anyway (a distribution-shift study).")
        return diffs

    # -- network inputs -----------------------------------------------------------------------
    def condition_input(self, problem, y: torch.Tensor) -> torch.Tensor:
        """The extra input channels in network units: [2 Φ(y) - 1, σ_y / 0.1] (B, C + 1, H, W);
        for a flow, y itself."""
        if self.condition == "y":
            if y.is_complex():
                raise ValueError("the conditional flow takes real measurements")
            return y.reshape(y.shape[0], -1)
        c = condition_image(problem, y, self.condition)
        s = torch.full_like(c[:, :1], float(problem.sigma_y) / SIGMA_Y_UNIT)
        return torch.cat([2 * c - 1, s], dim=1)

    def _net(self, inp: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        p = next(self.net.parameters())
        return self.net(inp.to(device=p.device, dtype=p.dtype), c_noise.to(device=p.device, dtype=p.dtype))

    def denoise_internal(self, x_int: torch.Tensor, sigma_int: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """D(x, σ | c) in network units (σ of shape (B,)); not counted in ``nfe``."""
        if self.model != "diffusion":
            raise ValueError(f"{self.name!r} is an MMSE regressor, not a conditional diffusion model")
        s = sigma_int.reshape(-1, *[1] * (x_int.ndim - 1))
        sd, p = self.sigma_data, self.precond
        F_x = self._net(torch.cat([p.c_in(s, sd) * x_int, cond], 1), p.c_noise(sigma_int))
        return p.denoise(x_int, F_x.to(device=x_int.device, dtype=x_int.dtype), s, sd)

    def regress_internal(self, cond: torch.Tensor) -> torch.Tensor:
        """x̂ = c + F([c, σ_y]; 0) in network units; not counted in ``nfe``."""
        if self.model != "mmse":
            raise ValueError(f"{self.name!r} is a conditional diffusion model, not an MMSE regressor")
        C = self.image_shape[0]
        F_x = self._net(cond, torch.zeros(cond.shape[0], dtype=cond.dtype, device=cond.device))
        return cond[:, :C] + F_x.to(device=cond.device, dtype=cond.dtype)

    # -- on the [0, 1] scale ------------------------------------------------------------------
    def mmse(self, cond: torch.Tensor) -> torch.Tensor:
        """The regressor's estimate of E[x | y] on [0, 1] (one network pass)."""
        self.nfe += 1
        return (self.regress_internal(cond) + 1) / 2

    def sample_flow(self, cond: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """x = f⁻¹(z; y) for a conditional flow (one pass; rows of ``z`` pair with rows of ``cond``)."""
        if self.model != "flow":
            raise ValueError(f"{self.name!r} is model={self.model!r}, not a conditional flow")
        self.nfe += 1
        p = next(self.net.parameters())
        return self.net.inverse(z.to(p.dtype), cond.to(p.dtype)).to(z.dtype)

    def log_prob(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """Exact log q(x | y) of a conditional flow, per row."""
        if self.model != "flow":
            raise ValueError(f"{self.name!r} is model={self.model!r}; only a flow has an exact density")
        p = next(self.net.parameters())
        return self.net.log_prob(x.to(p.dtype), cond.to(p.dtype)).to(x.dtype)

    def bind(self, cond: torch.Tensor) -> "ConditionedDiffusion":
        """p(x | y) as a :class:`DiffusionPrior` for a fixed condition (batch of ``cond``), for the
        shared samplers."""
        return ConditionedDiffusion(self, cond)

    def sigmas(self, steps: int) -> torch.Tensor:
        from ..schedules import edm_sigmas
        return edm_sigmas(steps, sigma_min=self.sigma_min, sigma_max=self.sigma_max)

    def to(self, *args, **kwargs):
        self.net.to(*args, **kwargs)
        return self

    def parameters(self):
        return self.net.parameters()

    def __repr__(self) -> str:
        return (f"AmortizedPrior({self.name!r}, model={self.model!r}, task={self.task!r}, "
                f"options={self.task_options}, sigma_y={self.sigma_y:g}, condition={self.condition!r})")


class ConditionedDiffusion(DiffusionPrior):
    """x0(x, σ) = E[x0 | x_σ = x, y] of an :class:`AmortizedPrior` with its condition fixed;
    counts passes in the parent's ``nfe`` too."""

    def __init__(self, parent: AmortizedPrior, cond: torch.Tensor):
        super().__init__()
        self.parent, self.cond = parent, cond
        self.image_shape = parent.image_shape
        self.sigma_min, self.sigma_max = parent.sigma_min, parent.sigma_max
        self.sigma_scale = 0.5
        self.name = parent.name

    def _x0(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        if x.shape[0] != self.cond.shape[0] or tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(f"x has shape {tuple(x.shape)}; the condition is for a batch of {self.cond.shape[0]} "
                             f"images of shape {self.image_shape}")
        self.parent.nfe += 1
        d = self.parent.denoise_internal(2 * x - 1, 2 * s, self.cond.to(x.dtype))
        return (d + 1) / 2
