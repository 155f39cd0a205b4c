"""Residual error per model output: several outputs (parent and metabolite, drug and effect) observed in one
dataset, each with its own error model.

The observations say which output they are by a ``DVID`` column (the output name, or its 1-based position
in the population model's error mapping). :class:`OutputErrors` behaves like one residual error model over
all observations: its parameters are named ``<output>.<parameter>`` (``CM.CV``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["OutputErrors"]


class OutputErrors:
    """The error models of several outputs bound to the output of each observation (``index``)."""

    def __init__(self, errors: dict, index: np.ndarray):
        self.errors, self.index = dict(errors), np.asarray(index)
        self.log_scale = False

    @property
    def parameters(self) -> dict:
        return {f"{out}.{k}": v for out, e in self.errors.items() for k, v in e.parameters.items()}

    @property
    def free_parameters(self) -> list:
        """Names of the parameters that are estimated (those of error models not fixed)."""
        return [f"{out}.{k}" for out, e in self.errors.items() if not e.fixed for k in e.parameters]

    @property
    def fixed(self) -> bool:
        return all(e.fixed for e in self.errors.values())

    @property
    def constant_sd(self) -> bool:
        return all(e.constant_sd for e in self.errors.values())

    def stdev(self, f, sigma) -> np.ndarray:
        """Standard deviations of observations with predictions ``f`` (last axis: the observations)."""
        f = np.asarray(f, dtype=float)
        out = np.empty(f.shape)
        for j, (name, error) in enumerate(self.errors.items()):
            rows = self.index == j
            own = {k: sigma[f"{name}.{k}"] for k in error.parameters}
            out[..., rows] = error.stdev(f[..., rows], own)
        return out

    def sample(self, f, rng, theta=None) -> np.ndarray:
        f = np.asarray(f, dtype=float)
        return f + self.stdev(f, self.parameters if theta is None else theta) * rng.standard_normal(f.shape)
