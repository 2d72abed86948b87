"""Sequential Monte Carlo posterior samplers with diffusion priors (asymptotically exact as the
number of particles grows): ``mcgdiff``, ``fps`` (SVD operators) and ``tds`` (any operator), on
one particle machinery (:mod:`.particles`)."""
from . import fps, mcgdiff, tds  # noqa: F401  (registers the methods)
