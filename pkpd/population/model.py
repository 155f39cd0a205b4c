"""The population model: structure, typical values, random effects, covariate effects and residual error.

Declared (mu-referenced, NONMEM's ``CL = TVCL * EXP(ETA(1))``): every name in ``theta`` is a model
parameter with its typical value; covariate effects multiply the typical values; a random effect on a
parameter enters on its transform's scale::

    P_i = g^-1( g(theta_P * prod_k effect_k(covariates_i)) + eta_i,P ),   eta_i ~ N(0, Omega)

with ``g`` = log (log-normal, the default), logit (a fraction such as F1) or identity (normal). Fixed
effects are estimated on the same scale (log, logit or as given); covariate coefficients as given, and the
ratios of categorical and indicator effects on the log scale.

For structures the declaration does not cover, ``individual(theta, eta[, covariates])`` returns the model
parameters directly (NONMEM's $PK block, vectorised over subjects); ``theta`` then names any fixed
effects, estimated as given.

Examples
--------
>>> import numpy as np, pkpd
>>> from pkpd.models import OneCompartmentOral
>>> pm = pkpd.PopulationModel(OneCompartmentOral(), theta={"CL": 2.8, "V": 32.0, "KA": 1.5},
...                           omega={"CL": 0.09, "KA": 0.4}, error=pkpd.AdditiveError(0.7),
...                           covariates=[pkpd.power("CL", "WT", reference=70, exponent=0.75, fixed=True)])
>>> pm.eta_names, pm.estimated
(('CL', 'KA'), ('CL', 'V', 'KA'))
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from .._internal.lazy import special
from ..errors import DatasetError, ParameterError
from .residual import ResidualError
from .covariates import CovariateEffect
from .occasions import IOV, expand_omega, kappa_names, omega_blocks, omega_frame

__all__ = ["PopulationModel", "TRANSFORMS", "omega_blocks"]

#: Scales of random effects and of the estimation of typical values.
TRANSFORMS = ("log", "logit", "identity")

_FORWARD = {"log": np.log, "logit": lambda v: special.logit(v), "identity": lambda v: np.asarray(v, dtype=float)}
_BACKWARD = {"log": np.exp, "logit": lambda v: special.expit(v), "identity": lambda v: np.asarray(v, dtype=float)}


@dataclass(frozen=True)
class CovariateDesign:
    """Covariates of a dataset for a population model: ``subjects`` (one row per subject) and, when covariates
    the model reads change within subjects, ``records`` (one row per record, subject index ``rank``), the
    ``varying`` columns and the model parameters they drive (``affected``; None: all, for ``individual``)."""

    subjects: pd.DataFrame
    records: pd.DataFrame | None = None
    rank: np.ndarray | None = None
    varying: tuple = ()
    affected: tuple | None = None
    #: with between-occasion variability: per record the position of its occasion in ``occasions`` (-1: none)
    occasion: np.ndarray | None = None
    occasions: tuple = ()
    #: each covariate effect's checked values for ``subjects`` and ``records`` (read once, not every evaluation)
    subject_values: tuple | None = None
    record_values: tuple | None = None

    def iov_by_record(self, kappa: np.ndarray) -> np.ndarray:
        """Each record's IOV random effects (records, IOV effects) from the subjects' ``kappa`` (subjects,
        occasions x IOV effects, occasion by occasion); 0 on records of an occasion without IOV."""
        n = len(kappa)
        per_occasion = kappa.reshape(n, len(self.occasions), -1)
        out = np.zeros((len(self.occasion), per_occasion.shape[2]))
        has = self.occasion >= 0
        out[has] = per_occasion[self.rank[has], self.occasion[has]]
        return out

    def present(self, n_subjects: int) -> np.ndarray:
        """(subjects, occasions): whether the subject has a record in the occasion."""
        out = np.zeros((n_subjects, len(self.occasions)), dtype=bool)
        has = self.occasion >= 0
        out[self.rank[has], self.occasion[has]] = True
        return out


@dataclass(frozen=True)
class PopulationModel:
    """A population model: structural model, typical values, random effects, covariates and residual error.

    Parameters
    ----------
    model : Model
        The structural pkpd model.
    theta : mapping
        Typical values (initial estimates). Declared models: model parameter -> typical value. With
        ``individual``: any names, on the scale ``individual`` expects.
    omega : mapping or DataFrame
        Variances of the random effects (diagonal Omega) by parameter name, or a symmetric DataFrame with
        covariances; each connected block of nonzero entries is estimated as a full block.
    error : ResidualError or mapping
        Residual error model (additive, proportional, combined in either form, or exponential: log-transform
        both sides, with DV on the natural scale), or one per model output
        (``{"CP": ProportionalError(0.1), "CM": ProportionalError(0.2)}``) when several outputs are observed:
        a ``DVID`` column then says which output each observation is.
    covariates : sequence of CovariateEffect
        Effects on typical values (:func:`pkpd.power`, :func:`pkpd.exponential`, :func:`pkpd.linear`,
        :func:`pkpd.categorical`, :func:`pkpd.population.covariates.indicator`), each reading a column or an
        expression of columns (``pkpd.power("CL", "WT/70", reference=1)``, ``indicator("V", "APGR < 5")``);
        their coefficients join the fixed effects.
    individual : callable, optional
        ``individual(theta, eta[, covariates]) -> {model parameter: array over subjects}`` instead of the
        declaration: ``theta`` a dict of floats, ``eta`` an array (subjects, random effects) in the order of
        ``omega``, ``covariates`` a DataFrame with one row per subject. Without ``covariates``, estimation calls
        it once for many sets of random effects, their rows stacked (each value one per row, or a scalar); a
        function whose values are not (one that reads per-subject arrays of its own) is called set by set.
    transforms : mapping, optional
        Scale of each declared parameter: ``"log"`` (default), ``"logit"`` or ``"identity"``.
    output : str, optional
        Model output compared with DV (default: the first output; not with an error per output).
    fixed : tuple of str
        Names in ``theta`` held at their values.
    carry : {"nocb", "locf"}
        Time-varying covariates (a covariate column that changes within a subject): as NONMEM, the value
        on a record applies over the interval that ends at it (next observation carried backward, the
        default) or from it to the next record (last observation carried forward). Parameters that depend
        on them then change at those times (:func:`pkpd.simulate` ``record_params``: exact for linear
        models, by matrix exponentials between records; the ODE engine otherwise).
    iov : IOV, mapping or DataFrame, optional
        Between-occasion variability (:class:`pkpd.IOV`): a random effect per occasion added to the parameter
        on its transform's scale, the occasion read from a data column (a mapping or DataFrame: ``IOV(iov)``,
        occasions from the ``OCC`` column). Declared models only. Its variances appear in fits as
        ``IOV_<parameter>``; a subject's random effects are its ``eta`` then one set per occasion.
    """

    model: Any
    theta: Mapping[str, float]
    omega: Mapping[str, float] | pd.DataFrame
    error: ResidualError
    covariates: tuple = ()
    individual: Callable | None = field(default=None, kw_only=True)
    transforms: Mapping[str, str] = field(default_factory=dict, kw_only=True)
    output: str | None = field(default=None, kw_only=True)
    fixed: tuple = field(default=(), kw_only=True)
    carry: str = field(default="nocb", kw_only=True)
    iov: IOV | None = field(default=None, kw_only=True)

    def __post_init__(self):
        object.__setattr__(self, "covariates", tuple(self.covariates))
        object.__setattr__(self, "fixed", tuple(self.fixed))
        frame = omega_frame(self.omega)
        if self.iov is not None and not isinstance(self.iov, IOV):
            if not isinstance(self.iov, (Mapping, pd.DataFrame)):
                raise ParameterError(f"PopulationModel: iov must be a pkpd.IOV (or a mapping of variances), "
                                     f"not {type(self.iov).__name__}")
            object.__setattr__(self, "iov", IOV(self.iov))
        self._check_error()
        for name, value in self.theta.items():
            if not (isinstance(value, (int, float, np.floating)) and math.isfinite(value)):
                raise ParameterError(f"PopulationModel: theta[{name!r}] must be a finite number, got {value!r}")
        for effect in self.covariates:
            if not isinstance(effect, CovariateEffect):
                raise ParameterError(f"PopulationModel: covariates must be covariate effects (pkpd.power ...), "
                                     f"got {effect!r}")
        coefs = [n for e in self.covariates for n in e.names]
        clash = sorted(set(coefs) & set(self.theta)) or sorted({n for n in coefs if coefs.count(n) > 1})
        if clash:
            raise ParameterError(f"PopulationModel: covariate coefficient name(s) {clash} are used twice")
        unknown = sorted(set(self.fixed) - set(self.theta) - set(coefs))
        if unknown:
            raise ParameterError(f"PopulationModel: fixed names {unknown} are not fixed effects {self.theta_names}")
        if self.carry not in ("nocb", "locf"):
            raise ParameterError(f"PopulationModel: carry must be 'nocb' or 'locf', got {self.carry!r}")
        bad = {k: v for k, v in self.transforms.items() if v not in TRANSFORMS}
        if bad:
            raise ParameterError(f"PopulationModel: transforms must be among {TRANSFORMS}, got {bad}")
        if self.individual is None:
            self._check_declaration(list(frame.index))
        elif self.covariates:
            raise ParameterError("PopulationModel: with an individual(...) function, apply covariates inside it")
        elif self.iov is not None:
            raise ParameterError("PopulationModel: between-occasion variability (iov=) needs a declared model: "
                                 "with an individual(...) function there is no parameter to add it to")
        object.__setattr__(self, "omega", frame)

    def _check_error(self):
        errors = dict(self.error) if isinstance(self.error, Mapping) else {None: self.error}
        if not errors:
            raise ParameterError("PopulationModel: the error mapping must name at least one output")
        for output, error in errors.items():
            where = "error" if output is None else f"error[{output!r}]"
            if not isinstance(error, ResidualError):
                raise ParameterError(f"PopulationModel: {where} must be a ResidualError, not {type(error).__name__}")
        if isinstance(self.error, Mapping):
            object.__setattr__(self, "error", dict(self.error))
            unknown = sorted(set(errors) - set(self.model.outputs))
            if unknown:
                raise ParameterError(f"PopulationModel: error outputs {unknown} are not outputs of {self.model.name} "
                                     f"({list(self.model.outputs)})")
            if self.output is not None:
                raise ParameterError("PopulationModel: give either output= or an error per output, not both")
        elif self.output is not None and self.output not in self.model.outputs:
            raise ParameterError(f"PopulationModel: output {self.output!r} is not an output of {self.model.name} "
                                 f"({list(self.model.outputs)})")

    @property
    def outputs(self) -> tuple:
        """The model outputs compared with DV (one unless ``error`` maps several outputs)."""
        if isinstance(self.error, Mapping):
            return tuple(self.error)
        return (self.output or self.model.outputs[0],)

    @property
    def error_parameters(self) -> dict:
        """Residual error parameters by name (``<output>.<name>`` with an error per output)."""
        return self.bound_error(np.zeros(0, dtype=int)).parameters

    def bound_error(self, index):
        """The residual error of observations whose outputs are ``index`` (positions in :attr:`outputs`)."""
        if not isinstance(self.error, Mapping):
            return self.error
        from ._errors import OutputErrors

        return OutputErrors(self.error, index)

    def observation_outputs(self, events: pd.DataFrame, rows) -> np.ndarray:
        """Position in :attr:`outputs` of each observation record: from the ``DVID`` column (output name or
        1-based position) when the model has an error per output, else 0."""
        rows = np.asarray(rows)
        outputs = self.outputs
        if len(outputs) == 1 and not isinstance(self.error, Mapping):
            return np.zeros(len(rows), dtype=int)
        if "DVID" not in events:
            if len(outputs) == 1:
                return np.zeros(len(rows), dtype=int)
            raise DatasetError(f"the model has an error model per output {list(outputs)}: the data need a DVID "
                               "column saying which output each observation is (its name or 1-based position)")
        index = np.empty(len(rows), dtype=int)
        for i, value in enumerate(events["DVID"].to_numpy(dtype=object)[rows]):
            value = value.item() if hasattr(value, "item") else value
            if isinstance(value, str) and value in outputs:
                index[i] = outputs.index(value)
                continue
            try:
                position = int(float(value))
            except (TypeError, ValueError):
                position = -1
            if not 1 <= position <= len(outputs) or float(value) != position:
                raise DatasetError(f"record {rows[i] + 1}: DVID {value!r} is neither an output {list(outputs)} nor "
                                   f"a position 1..{len(outputs)}")
            index[i] = position - 1
        return index

    def _check_declaration(self, eta_names):
        known = {p.name for p in self.model.parameters}
        for what, names in (("theta", list(self.theta)), ("transforms", list(self.transforms))):
            unknown = sorted(set(names) - known)
            if unknown:
                raise ParameterError(f"PopulationModel: {what} names {unknown} are not parameters of "
                                     f"{self.model.name} ({sorted(known)})")
        iov_names = list(self.iov.names) if self.iov is not None else []
        for what, names in (("omega", eta_names), ("covariate effects", [e.parameter for e in self.covariates]),
                            ("iov", iov_names)):
            unknown = sorted(set(names) - set(self.theta))
            if unknown:
                raise ParameterError(f"PopulationModel: {what} name(s) {unknown} have no typical value in theta")
        for name, value in self.theta.items():
            kind = self.transform_of(name)
            if (kind == "log" and value <= 0) or (kind == "logit" and not 0 < value < 1):
                need = "> 0 (log scale)" if kind == "log" else "in (0, 1) (logit scale)"
                raise ParameterError(f"PopulationModel: theta[{name!r}] = {value} must be {need}")

    # ------------------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        model = getattr(self.model, "name", type(self.model).__name__)
        theta = ", ".join(f"{k}={v:g}" for k, v in self.theta_values.items())
        omega = ", ".join(f"{k}={self.omega.loc[k, k]:g}" for k in self.eta_names)
        extra = "".join(f", {name}={value!r}" for name, value in (("fixed", self.fixed), ("output", self.output))
                        if value)
        iov = f"; iov: {self.iov!r}" if self.iov is not None else ""
        return (f"PopulationModel({model}; theta: {theta}; omega (variances): {omega}{iov}; error: {self.error!r}; "
                f"{len(self.covariates)} covariate effect(s){extra})")

    def _repr_html_(self) -> str:
        """Notebook view: fixed effects (with their scale and whether fixed), Omega and the residual error."""
        theta = pd.DataFrame({"initial": self.theta_values,
                              "scale": {k: self.transform_of(k) for k in self.theta_names},
                              "fixed": {k: k in self.fixed for k in self.theta_names}})
        model = getattr(self.model, "name", type(self.model).__name__)
        return (f"<p><b>PopulationModel</b> of {model}; residual error {self.error!r}</p>"
                f"<p>fixed effects</p>{theta._repr_html_()}<p>Omega (variances and covariances of the random "
                f"effects)</p>{self.omega._repr_html_()}"
                + (f"<p>between-occasion variability by {self.iov.column} (one occasion's variances and "
                   f"covariances)</p>{self.iov.omega._repr_html_()}" if self.iov is not None else ""))

    @cached_property
    def eta_names(self) -> tuple:
        """The parameters with between-subject random effects (``omega``'s names)."""
        return tuple(self.omega.index)

    @property
    def omega_matrix(self) -> np.ndarray:
        return self.omega.to_numpy(dtype=float)

    @property
    def random_effect_names(self) -> tuple:
        """Every variance the model estimates: :attr:`eta_names`, then the IOV effects (``IOV_CL``)."""
        return self.eta_names + (self.iov.labels if self.iov is not None else ())

    @property
    def random_effect_matrix(self) -> np.ndarray:
        """Omega over :attr:`random_effect_names`: the between-subject block, then one occasion's IOV block."""
        if self.iov is None:
            return self.omega_matrix
        q, m = len(self.eta_names), len(self.iov.names)
        out = np.zeros((q + m, q + m))
        out[:q, :q], out[q:, q:] = self.omega_matrix, self.iov.matrix
        return out

    def effect_parameter(self, name: str) -> str:
        """The model parameter a random effect of :attr:`random_effect_names` acts on (``IOV_CL`` -> ``CL``)."""
        if self.iov is not None and name in self.iov.labels:
            return self.iov.names[self.iov.labels.index(name)]
        return name

    def n_effects(self, design: "CovariateDesign") -> int:
        """Random effects per subject in a dataset: the etas, then the IOV effects of each occasion."""
        n_iov = len(self.iov.names) if self.iov is not None else 0
        return len(self.eta_names) + len(design.occasions) * n_iov

    def subject_effect_names(self, design: "CovariateDesign") -> list[str]:
        """Names of a subject's random effects in a dataset (:meth:`n_effects`): ``CL``, ``V``, ``IOV_CL[1]`` ..."""
        return list(self.eta_names) + (kappa_names(self.iov, design.occasions) if self.iov is not None else [])

    def subject_omega(self, matrix: np.ndarray, design: "CovariateDesign") -> np.ndarray:
        """The covariance of a subject's random effects (:meth:`n_effects`) from Omega over
        :attr:`random_effect_names` (the IOV block repeated per occasion)."""
        matrix = np.asarray(matrix, dtype=float)
        if len(matrix) != len(self.random_effect_names):
            raise ParameterError(f"subject_omega: Omega over the model's {len(self.random_effect_names)} random effects "
                             f"expected, got {matrix.shape}")
        if self.iov is None:
            return matrix
        return expand_omega(matrix, len(self.eta_names), len(design.occasions))

    @property
    def theta_names(self) -> tuple:
        """All fixed effects: typical values, then covariate coefficients."""
        return tuple(self.theta) + tuple(n for e in self.covariates for n in e.names)

    @property
    def theta_values(self) -> dict:
        return {**{k: float(v) for k, v in self.theta.items()},
                **{n: float(v) for e in self.covariates for n, v in e.initial.items()}}

    @property
    def estimated(self) -> tuple:
        """Fixed effects that are estimated (not in ``fixed`` and not of a fixed covariate effect)."""
        held = set(self.fixed) | {n for e in self.covariates if e.fixed for n in e.names}
        return tuple(n for n in self.theta_names if n not in held)

    def transform_of(self, name: str) -> str:
        """Estimation scale of a fixed effect: ``"log"``, ``"logit"`` or ``"identity"``."""
        if self.individual is not None:
            return self.transforms.get(name, "identity")
        if name in self.theta:
            return self.transforms.get(name, "log")
        effect = next(e for e in self.covariates if name in e.names)
        return "log" if effect.kind in ("categorical", "indicator") else "identity"

    def to_internal(self, name: str, value: float) -> float:
        return float(_FORWARD[self.transform_of(name)](value))

    def from_internal(self, name: str, value: float) -> float:
        return float(self.backward_transform(name)(value))

    def backward_transform(self, name: str):
        """The function from ``name``'s estimation scale (:meth:`transform_of`) to its value."""
        return _BACKWARD[self.transform_of(name)]

    @cached_property
    def _takes_covariates(self) -> bool:
        try:
            return len(inspect.signature(self.individual).parameters) >= 3
        except (TypeError, ValueError):
            return False

    def parameters_for(self, theta: Mapping[str, float], eta: np.ndarray, covariates: pd.DataFrame,
                       iov: np.ndarray | None = None, *, checked: tuple | None = None) -> dict:
        """The structural model's parameters for every subject (arrays over the rows of ``eta``: the
        between-subject effects), plus ``iov`` (rows, IOV effects) for the parameters with IOV when given.
        ``checked``: the values of each covariate effect in ``covariates`` (:meth:`covariate_values`), when the
        caller has already read them."""
        if self.individual is not None:
            return self.individual(theta, eta, covariates) if self._takes_covariates else self.individual(theta, eta)
        return self._shifted(self._typical(theta, len(eta), covariates, checked), eta, iov)

    def _typical(self, theta: Mapping[str, float], n: int, covariates: pd.DataFrame, checked: tuple | None) -> dict:
        """The built-in typical values of ``n`` subjects (arrays), with their covariate effects."""
        typical = {k: np.full(n, float(theta[k])) for k in self.theta}
        checked = self.covariate_values(covariates) if checked is None else checked
        for effect, values in zip(self.covariates, checked):
            typical[effect.parameter] = typical[effect.parameter] * effect.multiplier(theta, values)
        return typical

    def _shifted(self, typical: dict, eta: np.ndarray, iov: np.ndarray | None = None) -> dict:
        """The individual parameters from their typical values (arrays over the rows of ``eta``) and the random
        effects, each on its transform's scale."""
        shift = {name: eta[:, j] for j, name in enumerate(self.eta_names)}
        if iov is not None:
            for j, name in enumerate(self.iov.names):
                shift[name] = shift[name] + iov[:, j] if name in shift else iov[:, j]
        out = {}
        for name, tv in typical.items():
            if name in shift:
                kind = self.transforms.get(name, "log")
                with np.errstate(divide="ignore", invalid="ignore"):
                    out[name] = _BACKWARD[kind](_FORWARD[kind](tv) + shift[name])
            else:
                out[name] = tv
        return out

    def parameters_many(self, theta: Mapping[str, float], etas, covariates: pd.DataFrame, *,
                        checked: tuple | None = None) -> list[dict]:
        """:meth:`parameters_for` at each of several eta arrays (each (subjects, effects)): a list of dicts.

        The built-in parameters are computed for all of them at once (the typical values once), as is a parameter
        function that does not read covariates (called once on the etas stacked, its values split): estimation asks
        for a dozen sets at every step. A parameter function whose values are not one per stacked row (or a scalar),
        or that fails on the stack, is called once per eta array instead, as :meth:`parameters_for` calls it."""
        etas = list(etas)
        return self._unstacked(self._parameters_stacked(theta, etas, covariates, checked), theta, etas, covariates,
                               checked)

    def _unstacked(self, stacked: dict | None, theta, etas: list, covariates, checked) -> list[dict]:
        """:meth:`parameters_many`'s dicts from :meth:`_parameters_stacked`'s values, or set by set where it gave
        None."""
        if stacked is None:
            return [self.parameters_for(theta, eta, covariates, checked=checked) for eta in etas]
        n = len(etas[0])
        arrays = [k for k, v in stacked.items() if np.ndim(v)]
        return [dict(stacked, **{k: stacked[k][j * n: (j + 1) * n] for k in arrays}) for j in range(len(etas))]

    def _parameters_stacked(self, theta, etas: list, covariates, checked) -> dict | None:
        """:meth:`parameters_many`'s values of all the sets in one dict, each a scalar or an array over the etas'
        rows stacked (set by set); None where they must be computed set by set."""
        if len(etas) < 2 or (self.individual is not None and self._takes_covariates) or \
                any(eta.shape != etas[0].shape for eta in etas):
            return None
        n = len(etas[0])
        if self.individual is None:
            typical = self._typical(theta, n, covariates, checked)
            return self._shifted({k: np.tile(v, len(etas)) for k, v in typical.items()}, np.concatenate(etas))
        try:
            stacked = self.individual(theta, np.concatenate(etas))
            ok = all(np.ndim(v) == 0 or np.shape(v) == (n * len(etas),) for v in stacked.values())
        except Exception:  # noqa: BLE001 -- a function written for one set of subjects: called set by set
            ok = False
        return stacked if ok else None

    def covariate_values(self, covariates: pd.DataFrame) -> tuple:
        """Each covariate effect's values in ``covariates`` (:meth:`CovariateEffect.values`: checked, and raising
        :class:`DatasetError` naming the column and row if an effect cannot read the data)."""
        return tuple(effect.values(covariates) for effect in self.covariates)

    def check_covariates(self, covariates: pd.DataFrame) -> tuple:
        """Raise :class:`DatasetError` naming the column and row if a covariate effect cannot read the data, or
        gives a typical value out of range; returns :meth:`covariate_values`."""
        checked = self.covariate_values(covariates)
        typical = self.parameters_for(self.theta_values, np.zeros((len(covariates), len(self.eta_names))), covariates,
                                      checked=checked)
        for name, values in typical.items():
            values = np.broadcast_to(np.asarray(values, dtype=float), (len(covariates),))
            bad = ~np.isfinite(values) | (values <= 0) if self.transform_of(name) == "log" else ~np.isfinite(values)
            if self.individual is None and bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DatasetError(f"the typical {name} of subject row {i} is {values[i]!r} with covariates "
                                   f"{covariates.iloc[i].to_dict()}: a log-normal parameter must be > 0")
        return checked

    # ------------------------------------------------------------------------------------------------
    def with_values(self, theta: Mapping[str, float] | None = None, omega=None, error: Mapping | None = None):
        """A copy with new estimates (fixed effects incl. covariate coefficients, Omega, error parameters)."""
        theta = dict(self.theta_values if theta is None else theta)
        effects = tuple(replace(e, initial={n: float(theta[n]) for n in e.names}) for e in self.covariates)
        new_error, iov = self.error, self.iov
        if isinstance(omega, pd.DataFrame) and iov is not None and set(iov.labels) <= set(omega.index):
            labels, names = list(iov.labels), list(iov.names)
            block = omega.loc[labels, labels].set_axis(names, axis=0).set_axis(names, axis=1)
            iov = replace(iov, omega=block)
            omega = omega.loc[list(self.eta_names), list(self.eta_names)]
        if error is not None:
            def update(model, values):
                names = {f.name.upper(): f.name for f in fields(model)}
                return replace(model, **{names[k]: float(v) for k, v in values.items()})
            if isinstance(self.error, Mapping):
                new_error = {out: update(e, {k: error[f"{out}.{k}"] for k in e.parameters})
                             for out, e in self.error.items()}
            else:
                new_error = update(self.error, error)
        return replace(self, theta={k: float(theta[k]) for k in self.theta}, covariates=effects,
                       omega=self.omega if omega is None else omega, error=new_error, iov=iov)

    def design(self, events: pd.DataFrame, rank: np.ndarray) -> "CovariateDesign":
        """The covariates of a dataset: one row per subject (its first record), and per record when a covariate
        the model reads changes within a subject (missing values filled within the subject, in the direction
        of ``carry``)."""
        from ..io import CANONICAL_COLUMNS

        names = [c for c in events.columns if c not in CANONICAL_COLUMNS]
        records = events[names]
        if names and records.isna().any().any():
            grouped = records.groupby(rank, sort=False)
            first, second = (grouped.bfill, grouped.ffill) if self.carry == "nocb" else (grouped.ffill, grouped.bfill)
            records = first()
            records = records.fillna(second()) if records.isna().any().any() else records
        # filled, a subject's column is missing throughout or nowhere: its first record holds its value
        read = sorted({c for e in self.covariates for c in e.columns}) if self.individual is None else names
        varying = _varying_within(records, [c for c in read if c in records], np.asarray(rank))
        subjects = records.iloc[np.unique(rank, return_index=True)[1]].reset_index(drop=True)
        subject_values = self.check_covariates(subjects)
        occasion, occasions = (self.iov.occasions_of(events, rank, self.carry) if self.iov is not None
                               else (None, ()))
        if not varying and self.iov is None:
            return CovariateDesign(subjects, subject_values=subject_values)
        per_record = records.reset_index(drop=True)
        record_values = self.check_covariates(per_record) if varying else self.covariate_values(per_record)
        affected = None if self.individual is not None else \
            tuple(sorted({e.parameter for e in self.covariates if set(e.columns) & set(varying)}
                         | set(self.iov.names if self.iov is not None else ())))
        return CovariateDesign(subjects, per_record, np.asarray(rank), tuple(varying), affected, occasion, occasions,
                               subject_values, record_values)

    def predict(self, predictor, theta, etas, design: "CovariateDesign") -> np.ndarray:
        """Predictions (len(etas), rows) of a :class:`~pkpd.engine._batch.BatchPredictor` for sets of random
        effects (each (subjects, :meth:`n_effects`)), with the parameters that time-varying covariates or
        occasions drive changing at their records."""
        q = len(self.eta_names)
        between = [eta[:, :q] for eta in etas]
        stacked = self._parameters_stacked(theta, between, design.subjects, design.subject_values)
        if design.records is None and stacked is not None:
            return predictor.stacked(stacked, len(etas))
        sets = self._unstacked(stacked, theta, between, design.subjects, design.subject_values)
        if design.records is None:
            return predictor(sets)
        n = len(design.records)
        record_params = []
        for eta in etas:
            iov = design.iov_by_record(eta[:, q:]) if design.occasion is not None else None
            values = self.parameters_for(theta, eta[design.rank, :q], design.records, iov,
                                         checked=design.record_values)
            record_params.append({k: np.broadcast_to(np.asarray(v, dtype=float), (n,)) for k, v in values.items()
                                  if design.affected is None or k in design.affected})
        return predictor(sets, record_params=record_params, carry=self.carry)

    def sample_eta(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` draws of the between-subject random effects from N(0, Omega)."""
        return rng.multivariate_normal(np.zeros(len(self.eta_names)), self.omega_matrix, size=n, method="cholesky")

    def sample_effects(self, n: int, design: "CovariateDesign", rng: np.random.Generator) -> np.ndarray:
        """``n`` draws of a subject's random effects in a dataset (:meth:`n_effects`): the etas, then (with IOV)
        the IOV effects of every occasion, drawn independently from N(0, IOV Omega)."""
        eta = self.sample_eta(n, rng)
        if self.iov is None or not design.occasions:
            return eta
        m, k = len(self.iov.names), len(design.occasions)
        kappa = rng.multivariate_normal(np.zeros(m), self.iov.matrix, size=n * k, method="cholesky")
        return np.hstack([eta, kappa.reshape(n, k * m)])

    def simulate(self, data, n_replicates: int = 1, *, seed=None, residual: bool = True,
                 engine: str = "auto") -> pd.DataFrame:
        """Replicates of a dataset's observations simulated from the model (new subjects each replicate; with
        between-occasion variability, new effects for each of their occasions).

        Parameters
        ----------
        data : Dataset or DataFrame
            The design: doses, observation times and covariates of each subject.
        n_replicates : int
            Number of simulated copies of the whole dataset.
        seed : int or Generator, optional
        residual : bool
            Add residual error to ``DV`` (otherwise ``DV`` = ``IPRED``): ``IPRED + sd * EPS``, or
            ``IPRED * exp(SD * EPS)`` with an exponential (log-scale) error, ``EPS ~ N(0, 1)``.

        Returns
        -------
        DataFrame
            One row per observation record and replicate: ``REP`` (1..n), ``ID``, ``TIME``, ``PRED`` (typical
            subject), ``IPRED`` and ``DV``, and ``LLOQ``/``BLQ`` (simulated value below LLOQ) when the data
            has an ``LLOQ`` column. Replicate ``r``'s rows follow the dataset's observation order.

        Examples
        --------
        >>> import pkpd
        >>> from pkpd.models import OneCompartment
        >>> pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.0, "V": 12.0}, {"CL": 0.1},
        ...                           pkpd.ProportionalError(0.1))
        >>> sim = pm.simulate(pkpd.load_dataset("indometacin"), 3, seed=1)
        >>> len(sim), list(sim.columns)
        (198, ['REP', 'ID', 'TIME', 'PRED', 'IPRED', 'DV'])
        """
        from ..engine import BatchPredictor
        from ..io import as_dataset

        data = as_dataset(data)
        rng = np.random.default_rng(seed)
        rows = np.flatnonzero(data.is_observation)
        if not len(rows):
            raise DatasetError("the dataset has no observation records to simulate")
        index = self.observation_outputs(data.events, rows)
        predict = BatchPredictor(self.model, data, np.asarray(self.outputs, dtype=object)[index], rows, engine)
        design = self.design(data.events, predict.rank)
        theta = self.theta_values
        n = predict.n_subjects
        pred = self.predict(predict, theta, [np.zeros((n, self.n_effects(design)))], design)[0]
        eta = self.sample_effects(n * n_replicates, design, rng)
        ipred = self.predict(predict, theta, [eta[r * n:(r + 1) * n] for r in range(n_replicates)], design)
        dv = self.bound_error(index).sample(ipred, rng) if residual else ipred.copy()
        base = data.events.iloc[rows][["ID", "TIME"]].reset_index(drop=True)
        out = pd.concat([base] * n_replicates, ignore_index=True)
        out.insert(0, "REP", np.repeat(np.arange(1, n_replicates + 1), len(rows)))
        out["PRED"] = np.tile(pred, n_replicates)
        out["IPRED"] = ipred.reshape(-1)
        out["DV"] = dv.reshape(-1)
        if "LLOQ" in data.events:
            lloq = np.tile(data.events["LLOQ"].to_numpy(dtype=float)[rows], n_replicates)
            out["LLOQ"] = lloq
            out["BLQ"] = (out["DV"].to_numpy() < lloq).astype(int)
        return out


def _varying_within(records: pd.DataFrame, columns: list, rank: np.ndarray) -> list:
    """The ``columns`` whose values differ between records of one subject (``rank``: each record's subject), missing
    values filled within subjects (a subject's column is then missing throughout or nowhere)."""
    order = np.argsort(rank, kind="stable")
    same_subject = rank[order][1:] == rank[order][:-1]
    out = []
    for c in columns:
        v = records[c].to_numpy()[order]
        missing = pd.isna(v)
        if np.any(same_subject & (v[1:] != v[:-1]) & ~(missing[1:] & missing[:-1])):
            out.append(c)
    return out
