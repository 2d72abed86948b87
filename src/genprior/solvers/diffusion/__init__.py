"""Diffusion inverse solvers: one reverse loop, prior steps, data-consistency steps, named methods."""
