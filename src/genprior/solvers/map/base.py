"""Shared driver of the iterative MAP solvers: explicit state, ``init`` / ``step``, and one ``run``."""
from __future__ import annotations


class IterativeSolver:
    """Subclasses implement ``init(x0) -> state`` and ``step(state) -> state``; a state has ``k``
    (iterations done) and ``rel_change`` (relative change of x in the last step)."""

    default_max_iter = 200
    default_tol = 1e-5

    def init(self, x0):  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, x0, max_iter: int | None = None, tol: float | None = None, callback=None, iterator=None,
            min_iter: int = 0):
        """Iterate until the relative change drops below ``tol`` (after ``min_iter`` steps), or for
        ``max_iter`` steps, or over ``iterator`` (e.g. a progress bar) when given."""
        tol = self.default_tol if tol is None else tol
        s = self.init(x0)
        steps = iterator if iterator is not None else range(max_iter or self.default_max_iter)
        for _ in steps:
            s = self.step(s)
            if callback is not None:
                callback(s)
            if s.rel_change < tol and s.k >= min_iter:
                break
        return s
