"""Diffusion inverse solvers, one file per method (options, registration, DC step or update),
on one reverse loop (:mod:`.loop`) and one DC-step base (:mod:`.dc`). Importing this package
registers every method."""
from . import daps, dds, ddrm, diffpir, dps, mcg, pigdm, reddiff, score_sde, split  # noqa: F401
