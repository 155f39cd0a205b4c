"""Residual error models: the distribution of an observation around the model prediction.

Each model gives the standard deviation of an observation ``y`` given the prediction ``f`` (on the scale
where the error is normal), its contribution to -2 log-likelihood, the M3 likelihood of a value below the
limit of quantification, and draws for simulation:

=====================  ==========================================  ===================
model                  y                                           parameters
=====================  ==========================================  ===================
:class:`AdditiveError`      ``f + e``,  ``e ~ N(0, SD^2)``              ``SD`` (conc. units)
:class:`ProportionalError`  ``f (1 + e)``,  ``e ~ N(0, CV^2)``          ``CV``
:class:`CombinedError`      ``f + e``,  ``sd^2 = SD^2 + (CV f)^2``      ``SD``, ``CV``
:class:`ExponentialError`   ``log y = log f + e``,  ``e ~ N(0, SD^2)``  ``SD`` (log scale)
=====================  ==========================================  ===================

The combined model is NONMEM's ``Y = F + sqrt(SD^2 + CV^2 F^2) * EPS`` (variances add, Beal & Sheiner).
The exponential model is "log-transform both sides": it is fitted on ``log y``, so observations must be
positive (BLQ records are handled by M3 on the log scale).

Examples
--------
>>> import numpy as np
>>> from pkpd.population.residual import CombinedError
>>> err = CombinedError(sd=0.1, cv=0.2)
>>> float(err.stdev(np.array([1.0]), {"SD": 0.1, "CV": 0.2})[0])  # sqrt(0.01 + 0.04)
0.223606797749979
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._internal.lazy import special
from ..errors import ParameterError

__all__ = ["ResidualError", "AdditiveError", "ProportionalError", "CombinedError", "ExponentialError"]

LOG_2PI = math.log(2.0 * math.pi)


@dataclass(frozen=True)
class ResidualError:
    """Base class: subclasses define :attr:`parameters` (name -> initial value) and :meth:`sd`.

    Parameters
    ----------
    fixed : bool
        Keep the error parameters at their values instead of estimating them.
    """

    fixed: bool = field(default=False, kw_only=True)
    #: True when the error is normal on the log scale (observations and predictions compared as logs)
    log_scale = False
    #: True when the SD does not depend on the prediction (its derivatives in f are zero)
    constant_sd = False

    @property
    def parameters(self) -> dict:
        """Error parameter names and their values (initial values when estimated)."""
        raise NotImplementedError

    def stdev(self, f, theta) -> np.ndarray:
        """Standard deviation of an observation given the prediction ``f`` (on the error's scale)."""
        raise NotImplementedError

    def __post_init__(self):
        for name, value in self.parameters.items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ParameterError(f"{type(self).__name__}: {name} must be a finite number >= 0, got {value!r}")
        if self.parameters and all(v == 0 for v in self.parameters.values()):
            raise ParameterError(f"{type(self).__name__}: at least one of {list(self.parameters)} must be > 0")

    def transform(self, values):
        """Values on the scale where the error is normal (log for :class:`ExponentialError`)."""
        values = np.asarray(values, dtype=float)
        if not self.log_scale:
            return values
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), -np.inf)

    def neg2ll(self, y, f, theta) -> np.ndarray:
        """-2 log-likelihood of each quantified observation ``y`` given the prediction ``f``."""
        s = self.stdev(f, theta)
        r = (self.transform(y) - self.transform(f)) / s
        return LOG_2PI + 2.0 * np.log(s) + r * r

    def neg2ll_blq(self, lloq, f, theta) -> np.ndarray:
        """-2 log-likelihood of an observation known only to lie below ``lloq`` (Beal's M3):
        ``-2 log Phi((LLOQ - f) / sd)``."""
        s = self.stdev(f, theta)
        z = (self.transform(lloq) - self.transform(f)) / s
        return -2.0 * special.log_ndtr(z)

    def weighted_residuals(self, y, f, theta) -> np.ndarray:
        """``(y - f) / sd`` on the error's scale (the population WRES of an individual fit)."""
        return (self.transform(y) - self.transform(f)) / self.stdev(f, theta)

    def sample(self, f, rng, theta=None) -> np.ndarray:
        """Observations drawn around predictions ``f`` (``theta`` defaults to :attr:`parameters`)."""
        theta = self.parameters if theta is None else theta
        f = np.asarray(f, dtype=float)
        eps = rng.standard_normal(f.shape)
        if self.log_scale:
            with np.errstate(divide="ignore"):
                return f * np.exp(self.stdev(f, theta) * eps)
        return f + self.stdev(f, theta) * eps


@dataclass(frozen=True)
class AdditiveError(ResidualError):
    """``y = f + e``, ``e ~ N(0, SD^2)``; ``sd`` in concentration units (mg/L)."""

    sd: float = 1.0
    constant_sd = True

    @property
    def parameters(self):
        return {"SD": self.sd}

    def stdev(self, f, theta):
        return np.broadcast_to(np.asarray(theta["SD"], dtype=float), np.shape(f))


@dataclass(frozen=True)
class ProportionalError(ResidualError):
    """``y = f (1 + e)``, ``e ~ N(0, CV^2)``: the SD is ``CV |f|``."""

    cv: float = 0.1

    @property
    def parameters(self):
        return {"CV": self.cv}

    def stdev(self, f, theta):
        # a tiny floor keeps the likelihood finite at f = 0 (it then penalises any nonzero observation)
        return np.maximum(theta["CV"] * np.abs(np.asarray(f, dtype=float)), 1e-12)


@dataclass(frozen=True)
class CombinedError(ResidualError):
    """``sd^2 = SD^2 + (CV f)^2`` (additive and proportional variances add, as in NONMEM)."""

    sd: float = 0.1
    cv: float = 0.1

    @property
    def parameters(self):
        return {"SD": self.sd, "CV": self.cv}

    def stdev(self, f, theta):
        f = np.asarray(f, dtype=float)
        return np.maximum(np.sqrt(theta["SD"] ** 2 + (theta["CV"] * f) ** 2), 1e-12)


@dataclass(frozen=True)
class ExponentialError(ResidualError):
    """``log y = log f + e``, ``e ~ N(0, SD^2)`` (log-transform both sides; SD ~ CV for small SD)."""

    sd: float = 0.1
    log_scale = True
    constant_sd = True

    @property
    def parameters(self):
        return {"SD": self.sd}

    def stdev(self, f, theta):
        return np.broadcast_to(np.asarray(theta["SD"], dtype=float), np.shape(f))
