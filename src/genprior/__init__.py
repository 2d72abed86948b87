"""genprior: solve y = A x + n with classical, plug-and-play, generative and diffusion priors.

``import genprior as gp`` stays light: heavy optional parts (matplotlib, diffusers, scikit-image,
bm3d) are imported only when used.
"""
from . import data, linalg, metrics, operators, priors, schedules, solvers, tasks
from .solvers import Result, solve
from .tasks import InverseProblem

__version__ = "0.1.0"
__all__ = ["solve", "Result", "InverseProblem", "operators", "tasks", "data", "metrics", "priors", "solvers",
           "linalg", "schedules", "__version__"]
