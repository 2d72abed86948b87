"""genprior: solve y = A x + n with classical, plug-and-play, generative and diffusion priors."""
__version__ = "0.1.0"
