"""Residual error models: the distribution of an observation around the model prediction.

Each model gives the standard deviation of an observation ``y`` given the prediction ``f`` (on the scale
where the error is normal), its contribution to -2 log-likelihood, the M3 likelihood of a value below the
limit of quantification, and draws for simulation:

=============================================  ==========================================  ====================
model                                          y                                           parameters
=============================================  ==========================================  ====================
:class:`AdditiveError`                         ``f + e``,  ``e ~ N(0, SD^2)``              ``SD`` (conc. units)
:class:`ProportionalError`                     ``f (1 + e)``,  ``e ~ N(0, CV^2)``          ``CV``
:class:`CombinedError` (``form="variance"``)   ``f + e``,  ``sd^2 = SD^2 + (CV f)^2``      ``SD``, ``CV``
:class:`CombinedError` (``form="sd"``)         ``f + e``,  ``sd = SD + CV |f|``            ``SD``, ``CV``
:class:`ExponentialError`                      ``log y = log f + e``,  ``e ~ N(0, SD^2)``  ``SD`` (log scale)
=============================================  ==========================================  ====================

The combined model has the two forms NONMEM users write (Beal & Sheiner, NONMEM Users Guide Part VII;
Proost 2017, J Pharmacokinet Pharmacodyn 44:221, compares them): variances add,
``Y = F + SQRT(THETA(a)**2 + THETA(p)**2*F**2)*EPS(1)`` (the default), or standard deviations add,
``W = THETA(a) + THETA(p)*F``, ``Y = F + W*EPS(1)``. The exponential model is "log-transform both sides"
(Karlsson, Beal & Sheiner 1995, J Pharmacokinet Biopharm 23:651): NONMEM's ``Y = LOG(F) + EPS(1)`` on
``DV = LOG(concentration)``. Here the data stay on the natural scale and the error compares logs, so
quantified observations must be positive; BLQ records are handled by M3 on the log scale,
``Phi((log LLOQ - log f) / SD)`` (Beal 2001, J Pharmacokinet Pharmacodyn 28:481). Its -2 log-likelihood is
that of ``log y`` -- NONMEM's LTBS objective -- *without* the Jacobian ``sum 2 log y`` of the transformation,
as NONMEM computes it: objective values of an exponential and of a natural-scale error model on the same
data are therefore not comparable.

Examples
--------
>>> import numpy as np
>>> from pkpd.population.residual import CombinedError
>>> err = CombinedError(sd=0.1, cv=0.2)
>>> float(err.stdev(np.array([1.0]), {"SD": 0.1, "CV": 0.2})[0])  # sqrt(0.01 + 0.04)
0.223606797749979
>>> float(CombinedError(sd=0.1, cv=0.2, form="sd").stdev(np.array([1.0]), {"SD": 0.1, "CV": 0.2})[0])  # 0.1 + 0.2
0.30000000000000004
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._internal.lazy import special
from ..errors import ParameterError

__all__ = ["ResidualError", "AdditiveError", "ProportionalError", "CombinedError", "ExponentialError",
           "COMBINED_FORMS"]

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
    #: the log-scale prediction where the prediction is <= 0 (log scale only; -inf: no such guard)
    zero_log = -math.inf

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
            return np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), self.zero_log)

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
        return self.observe(f, rng.standard_normal(f.shape), theta)

    def observe(self, f, eps, theta) -> np.ndarray:
        """Observations at predictions ``f`` for standard normal draws ``eps``: ``f + sd eps``, or
        ``f exp(sd eps)`` on the log scale (a prediction of 0 stays 0, unless the error replaces it:
        :attr:`ExponentialError.zero_prediction`)."""
        f = np.asarray(f, dtype=float)
        if self.log_scale:
            return np.where(f > 0, f, math.exp(self.zero_log)) * np.exp(self.stdev(f, theta) * eps)
        return f + self.stdev(f, theta) * eps


@dataclass(frozen=True)
class _ConstantError(ResidualError):
    """An error whose SD is one parameter ``SD``, the same for every prediction (on the error's scale)."""

    sd: float = 1.0
    constant_sd = True

    @property
    def parameters(self):
        return {"SD": self.sd}

    def stdev(self, f, theta):
        return np.broadcast_to(np.asarray(theta["SD"], dtype=float), np.shape(f))


@dataclass(frozen=True)
class AdditiveError(_ConstantError):
    """``y = f + e``, ``e ~ N(0, SD^2)``; ``sd`` in concentration units (mg/L)."""

    sd: float = 1.0


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


#: Forms of :class:`CombinedError`: how its additive and proportional parts combine.
COMBINED_FORMS = ("variance", "sd")


@dataclass(frozen=True)
class CombinedError(ResidualError):
    """Additive plus proportional error, in either of NONMEM's two forms.

    Parameters
    ----------
    sd : float
        Additive standard deviation ``SD`` (concentration units).
    cv : float
        Proportional coefficient ``CV``.
    form : {"variance", "sd"}
        ``"variance"`` (default): variances add, ``sd(f) = sqrt(SD^2 + (CV f)^2)``, NONMEM's
        ``Y = F + SQRT(THETA(a)**2 + THETA(p)**2*F**2)*EPS(1)``. ``"sd"``: standard deviations add,
        ``sd(f) = SD + CV |f|``, NONMEM's ``W = THETA(a) + THETA(p)*F``, ``Y = F + W*EPS(1)`` (Beal & Sheiner,
        NONMEM Users Guide Part VII).
    fixed : bool
        Keep ``SD`` and ``CV`` at their values.

    Notes
    -----
    One class with a ``form``, not a second class: both are "the combined error model" of the literature
    (Proost 2017, J Pharmacokinet Pharmacodyn 44:221, compares them), with the same two parameters meaning the
    same at either end (``SD`` alone at low, ``CV`` alone at high concentrations). So they share parameter
    names in results, stored fits and :meth:`PopulationModel.with_values`, and a user switches form with one
    keyword. At equal ``SD`` and ``CV`` the SD form is the larger, by up to ``sqrt(2)`` where ``SD = CV f``,
    so estimates of the two forms differ on the same data.

    Examples
    --------
    >>> import numpy as np
    >>> from pkpd.population.residual import CombinedError
    >>> f = np.array([0.0, 1.0, 10.0])
    >>> CombinedError(0.5, 0.1).stdev(f, {"SD": 0.5, "CV": 0.1}).round(4)
    array([0.5   , 0.5099, 1.118 ])
    >>> CombinedError(0.5, 0.1, form="sd").stdev(f, {"SD": 0.5, "CV": 0.1}).round(4)
    array([0.5, 0.6, 1.5])
    """

    sd: float = 0.1
    cv: float = 0.1
    form: str = "variance"

    def __post_init__(self):
        if self.form not in COMBINED_FORMS:
            raise ParameterError(f"CombinedError: form must be one of {COMBINED_FORMS}, got {self.form!r}")
        super().__post_init__()

    @property
    def parameters(self):
        return {"SD": self.sd, "CV": self.cv}

    def stdev(self, f, theta):
        f = np.asarray(f, dtype=float)
        if self.form == "sd":
            return np.maximum(theta["SD"] + theta["CV"] * np.abs(f), 1e-12)
        return np.maximum(np.sqrt(theta["SD"] ** 2 + (theta["CV"] * f) ** 2), 1e-12)


@dataclass(frozen=True)
class ExponentialError(_ConstantError):
    """``log y = log f + e``, ``e ~ N(0, SD^2)`` (log-transform both sides; SD ~ CV for small SD).

    An additive error on the log scale (``sd`` in log units): NONMEM's ``Y = LOG(F) + EPS(1)`` on
    ``DV = LOG(concentration)`` (Karlsson, Beal & Sheiner 1995, J Pharmacokinet Biopharm 23:651), with the
    observations given on the natural scale. The -2 log-likelihood is that of ``log y``, without the
    Jacobian of the transformation (as NONMEM).

    Parameters
    ----------
    sd : float
        SD on the log scale.
    zero_prediction : float, optional
        The prediction compared where the model predicts 0 (or less), e.g. an observation at the time of an
        oral dose: NONMEM's guard ``IPRED = LOG(0.025)`` / ``IF (F.GT.0) IPRED = LOG(F)`` is
        ``zero_prediction=0.025``. Without it such an observation has likelihood 0 and a fit refuses it. The
        replacement holds where the prediction is exactly 0 (the engine's zeros are exact), not below a
        threshold.

    Examples
    --------
    >>> import numpy as np
    >>> from pkpd.population.residual import ExponentialError
    >>> err = ExponentialError(0.2)                 # log(2 pi) + 2 log(0.2) + (log(2) / 0.2)^2
    >>> round(float(err.neg2ll(np.array([2.0]), np.array([1.0]), err.parameters)[0]), 6)
    10.630327
    >>> guarded = ExponentialError(0.2, zero_prediction=0.025)      # a prediction of 0 compares as 0.025
    >>> round(float(guarded.neg2ll(np.array([0.05]), np.array([0.0]), guarded.parameters)[0]), 6)
    10.630327
    """

    sd: float = 0.1
    zero_prediction: float | None = None
    log_scale = True

    def __post_init__(self):
        z = self.zero_prediction
        if z is not None and (isinstance(z, bool) or not (isinstance(z, (int, float)) and math.isfinite(z) and z > 0)):
            raise ParameterError(f"ExponentialError: zero_prediction must be a finite number > 0, got {z!r}")
        super().__post_init__()

    @property
    def zero_log(self) -> float:
        return -math.inf if self.zero_prediction is None else math.log(self.zero_prediction)
