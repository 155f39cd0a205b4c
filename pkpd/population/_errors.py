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
        #: True when every output's error compares logs (per observation: :attr:`log_observations`)
        self.log_scale = all(e.log_scale for e in self.errors.values())

    @property
    def log_observations(self) -> np.ndarray:
        """Per observation: whether its output's error compares logs (:class:`ExponentialError`)."""
        return np.array([e.log_scale for e in self.errors.values()], dtype=bool)[self.index]

    @property
    def zero_logs(self) -> np.ndarray:
        """Per observation: the log its output's error compares where the prediction is <= 0 (-inf: none)."""
        return np.array([e.zero_log for e in self.errors.values()], dtype=float)[self.index]

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

    def _by_output(self, f, method, theta=None) -> np.ndarray:
        """``method(error, f_rows, own_theta, rows)`` of each output's error on its observations (the last axis
        of ``f``), as one array."""
        f = np.asarray(f, dtype=float)
        theta = self.parameters if theta is None else theta
        out = np.empty(f.shape)
        for j, (name, error) in enumerate(self.errors.items()):
            rows = self.index == j
            out[..., rows] = method(error, f[..., rows], {k: theta[f"{name}.{k}"] for k in error.parameters}, rows)
        return out

    def stdev(self, f, sigma) -> np.ndarray:
        """Standard deviations of observations with predictions ``f`` (last axis: the observations)."""
        return self._by_output(f, lambda error, v, own, _: error.stdev(v, own), sigma)

    def transform(self, values) -> np.ndarray:
        """Values on the scale where each observation's error is normal (log for exponential error)."""
        return self._by_output(values, lambda error, v, _, __: error.transform(v))

    def sample(self, f, rng, theta=None) -> np.ndarray:
        """Observations drawn around ``f``, each output by its own error model (log-normal for exponential)."""
        eps = rng.standard_normal(np.shape(f))
        return self._by_output(f, lambda error, v, own, rows: error.observe(v, eps[..., rows], own), theta)
