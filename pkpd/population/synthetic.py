"""Synthetic cohorts: NONMEM-style datasets simulated from a model with known ("true") parameters.

:func:`cohort` draws a virtual cohort -- covariates, individual parameters with inter-individual
variability (IIV), sampling times, residual error, BLQ censoring and dropout -- simulates the model at
every sampling time and returns a :class:`SyntheticCohort`: the data as a :class:`pkpd.Dataset` and the
truth they were drawn from. Use it to test estimation methods (does a fit recover the truth?), to teach,
and to ship example datasets (``datasets/make_synthetic_datasets.py``).
Its helpers live in private modules: option checks (``_synthetic_checks``), the subjects' parameters and
covariates (``_synthetic_subjects``) and the dataset records (``_synthetic_records``).

The statistical model, for subject ``i``, parameter ``P`` and observation ``j``::

    P_i   = TV(P) * COV_P(row_i) * exp(ETA_P,i)      ETA_i ~ N(0, OMEGA)      (log-normal IIV)
    IPRED = f(t_ij; P_i, doses_i)                       (the model output, noiseless)
    DV    = IPRED drawn through the residual error model (e.g. IPRED * (1 + EPS), EPS ~ N(0, CV^2))

Reproducibility: everything random comes from ``numpy.random.default_rng(seed).spawn(5)``, five
independent streams used in this order and for nothing else (see :data:`STREAMS`):

1. ``covariates`` -- handed to a covariate callable ``covariates(rng, n)``;
2. ``iiv`` -- one ``standard_normal((n, k))`` draw, ``k`` = number of parameters with IIV (in the
   order of ``iiv``), turned into ``ETA = Z @ L.T`` with ``L L' = OMEGA``;
3. ``design`` -- the sparse sampling times, subject by subject (ID order);
4. ``residual`` -- the residual errors of every *designed* observation, output by output (in the
   order of ``output``), records in dataset order;
5. ``dropout`` -- two ``random(n)`` draws: who drops out, and when.

Because the streams are independent, changing one ingredient leaves the others' draws unchanged: the
same seed with another design gives the same individual parameters, and adding an LLOQ or dropout does
not change any drawn DV (only how it is reported). The same seed and inputs give identical data.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..io import Dataset, read_nonmem, write_nonmem
from ._synthetic_checks import (_check_design, _check_digits, _check_dropout, _check_error, _check_lloq, _check_n,
                                _check_output, _check_seed)
from ._synthetic_records import RICH_TIMES, SPARSE_WINDOWS, _doses, _records, _significant, _times
from ._synthetic_subjects import _covariate_effects, _covariates, _factor, _omega, _typical
from .residual import ResidualError

__all__ = ["cohort", "SyntheticCohort", "RICH_TIMES", "SPARSE_WINDOWS", "STREAMS"]

#: The independent random streams, in the order they are spawned from the seed.
STREAMS = ("covariates", "iiv", "design", "residual", "dropout")


# ---------------------------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SyntheticCohort:
    """A simulated cohort: the data and the truth they were drawn from (an immutable value).

    Made by :func:`cohort`; not meant to be built directly.

    Attributes
    ----------
    data : Dataset
        The NONMEM-style dataset: columns ``ID TIME EVID AMT RATE CMT II ADDL SS MDV DV``, then
        ``DVID`` (only when several outputs are observed: 1-based index into :attr:`output`),
        ``BLQ`` and ``LLOQ`` (only when an ``lloq`` was given), then the covariates.
    model : Model
        The simulated model.
    output : tuple of str
        The observed model output(s).
    typical : mapping
        Typical value of every model parameter (read-only).
    error : ResidualError or mapping
        The residual error model (or one per output).
    seed : int
        The seed: ``cohort(..., seed=c.seed)`` with the same inputs reproduces the cohort (also when
        ``seed=None`` was given: a fresh seed is then drawn and recorded here).
    design : str or tuple of float
        ``"rich"``, ``"sparse"`` or the explicit sampling times.
    lloq : mapping or None
        Lower limit of quantification per output (mg/L), or None.
    dropout : float or None
        Probability that a subject drops out.
    digits : int or None
        Significant digits of the reported DV (None: full precision).
    """

    data: Dataset
    model: Any = field(repr=False)
    output: tuple
    typical: Mapping[str, float] = field(repr=False)
    error: Any = field(repr=False)
    seed: int = 0
    design: Any = "rich"
    lloq: Mapping[str, float] | None = None
    dropout: float | None = None
    digits: int | None = None
    _truth: pd.DataFrame = field(default=None, repr=False)
    _iiv: pd.DataFrame = field(default=None, repr=False)

    @property
    def truth(self) -> pd.DataFrame:
        """The truth, one row per subject (a copy).

        Columns: ``ID``; every model parameter (individual value ``P_i``); ``ETA_<P>`` for each
        parameter with IIV; the covariates; ``DROPOUT_TIME`` (h; NaN for completers) when a
        ``dropout`` probability was given.
        """
        return self._truth.copy()

    @property
    def params(self) -> pd.DataFrame:
        """``ID`` and the individual model parameters: the ``params`` of :func:`pkpd.simulate` (a copy)."""
        return self._truth[["ID", *self.model.parameter_names]].copy()

    @property
    def iiv(self) -> pd.DataFrame:
        """The covariance matrix OMEGA of the etas (log scale), labelled by parameter (a copy)."""
        return self._iiv.copy()

    @property
    def omega(self) -> dict[str, float]:
        """The IIV as standard deviations of the etas: ``{parameter: sqrt(OMEGA[P, P])}``."""
        return {str(k): float(math.sqrt(self._iiv.loc[k, k])) for k in self._iiv.index}

    def predict(self, **options):
        """The noiseless individual predictions (IPRED) at every record of :attr:`data`.

        ``pkpd.simulate(model, data, params)``; ``options`` are passed on (e.g. ``rtol``).

        Returns
        -------
        SimulationResult
        """
        from ..engine.simulation import simulate

        return simulate(self.model, self.data, self.params, **options)

    def to_csv(self, path) -> tuple[Path, Path]:
        """Write the data as a NONMEM-style CSV file, and the truth next to it.

        The data go to ``path`` (:func:`pkpd.io.write_nonmem`: ``.`` for missing values, full
        precision); the truth (:attr:`truth`) to ``<stem>_truth.csv`` in the same folder, numbers with
        12 significant digits.

        Returns
        -------
        (Path, Path)
            The data file and the truth file.

        Examples
        --------
        >>> import tempfile, pathlib, pkpd
        >>> import pkpd.population.synthetic as synthetic
        >>> from pkpd.models import OneCompartment
        >>> c = synthetic.cohort(OneCompartment(), pkpd.Bolus(100), 3, iiv={"CL": 0.2}, seed=7)
        >>> data, truth = c.to_csv(pathlib.Path(tempfile.mkdtemp()) / "demo.csv")
        >>> truth.name, pkpd.read_nonmem(data) == c.data
        ('demo_truth.csv', True)
        """
        path = Path(path)
        truth_path = path.with_name(f"{path.stem}_truth.csv")
        write_nonmem(self.data, path)
        self._truth.to_csv(truth_path, index=False, float_format="%.12g", na_rep=".", lineterminator="\n")
        return path, truth_path

    def _repr_html_(self) -> str:
        return f"<b>{html.escape(repr(self))}</b>{self.data._repr_html_()}"

    def __repr__(self) -> str:
        design = self.design if isinstance(self.design, str) else f"{len(self.design)} fixed times"
        extras = ""
        if self.lloq:
            extras += ", lloq " + ", ".join(f"{k} {v:g}" for k, v in self.lloq.items())
        if self.dropout:
            extras += f", dropout {self.dropout:g}"
        return (f"SyntheticCohort({self.model.name}, output {', '.join(self.output)}, design {design!r}"
                f"{extras}, seed {self.seed}; {self.data!r})")


# ---------------------------------------------------------------------------------------------
# the generator
# ---------------------------------------------------------------------------------------------
def cohort(
    model,
    regimen,
    n: int,
    *,
    params: Mapping[str, float] | None = None,
    iiv=None,
    error=None,
    design="rich",
    lloq=None,
    dropout: float | None = None,
    covariates=None,
    covariate_model: Mapping[str, Callable] | None = None,
    seed: int | None = None,
    output=None,
    digits: int | None = None,
) -> SyntheticCohort:
    """Simulate a cohort of ``n`` subjects given ``regimen``: a NONMEM-style dataset with known truth.

    Parameters
    ----------
    model : Model
        Any pkpd model (closed form or ODE: the simulation uses ``method="auto"``).
    regimen : Bolus, Infusion, Regimen or callable
        The doses every subject gets, or ``regimen(id, row) -> Regimen`` called once per subject with
        its ID (1..n) and covariate row (a pandas Series; empty without covariates), e.g. for
        weight-based doses. Compartments may be names or numbers; the data hold numbers.
    n : int
        Number of subjects (IDs ``1..n``), >= 1.
    params : mapping, optional
        Typical values of model parameters; the others keep the model defaults
        (``model.parameters[k].default``).
    iiv : mapping, DataFrame or (names, matrix), optional
        Inter-individual variability, log-normal: ``P_i = P * exp(ETA_i)``. A mapping gives each
        parameter's omega, the SD of its eta (0.3 is about 30 % CV); etas are independent. A square
        DataFrame (index and columns the same parameter names) or a ``(names, matrix)`` pair gives the
        full covariance matrix OMEGA (variances on the diagonal); it must be symmetric and positive
        semi-definite (a singular OMEGA, e.g. two parameters sharing one eta, is fine).
    error : ResidualError or mapping, optional
        Residual error model(s) of :mod:`pkpd.population.residual` (one for all outputs, or
        ``{output: error}``); default ``ProportionalError(0.1)``. DV are drawn with its ``sample``.
        Additive errors can give negative DV; they are kept unless an ``lloq`` censors them.
    design : {"rich", "sparse"} or array_like
        Sampling times. Let ``t_last`` be the time of the last dose given (ADDL doses included) and
        ``tau`` its dosing interval ``II`` (24 h when it has none).

        - ``"rich"``: ``t_last + g * tau/24`` for ``g`` in :data:`RICH_TIMES` (0.25, 0.5, 1, 2, 3, 4,
          6, 8, 12, 24 h): the nominal profile after a single dose, or a full profile over the last
          dosing interval (steady state). With several doses, also the first-dose profile
          ``t_first + g * tau1/24``, ``tau1`` = time to the second dose (at most 24 h).
        - ``"sparse"``: per subject 2-4 (uniformly) of the windows :data:`SPARSE_WINDOWS` (0.25-1,
          1-4, 4-12, 12-24 h, scaled by ``tau/24``) after ``t_last``, one time uniform in each
          window (on a 0.01-h grid: a multiple of 0.01 h in ``[lo, hi)``).
        - an array of times (h): the same times for every subject.

        An observation at the time of a dose is placed before the dose record (a pre-dose sample).
    lloq : float or mapping, optional
        Lower limit of quantification (mg/L; one value, or ``{output: value}``). NONMEM M3
        convention: a drawn DV below the LLOQ keeps its record, with ``BLQ = 1`` and ``DV = LLOQ``;
        columns ``BLQ`` (0/1) and ``LLOQ`` (the limit, on every observation record) are added.
    dropout : float, optional
        Probability in [0, 1] that a subject drops out. A dropout time is drawn uniformly between the
        subject's first and last sampling times; its observations after that time are removed (dose
        records are kept). Recorded in ``truth["DROPOUT_TIME"]``.
    covariates : DataFrame or callable, optional
        Per-subject covariates: a DataFrame of ``n`` rows (in ID order; never modified) or a callable
        ``covariates(rng, n) -> DataFrame`` drawing them from the ``covariates`` stream. Every column
        is copied onto all records of the subject. Names must differ from the dataset columns and
        the model parameters.
    covariate_model : mapping of str to callable, optional
        Covariate effects: ``{parameter: effect}``, ``effect(row)`` returning the factor (>= 0) that
        multiplies the typical value for a subject, e.g. ``{"CL": lambda row: (row.WT / 70) ** 0.75}``.
        ``row`` is the subject's covariate row (pandas Series: ``row.WT`` or ``row["WT"]``).
    seed : int, optional
        Seed of ``numpy.random.default_rng``; see the module docstring for the streams. ``None``
        draws a fresh seed (recorded in :attr:`SyntheticCohort.seed`).
    output : str or sequence of str, optional
        The observed model output(s) (default: the model's first output, e.g. ``"CP"``). Several
        outputs give one observation record each per sampling time, told apart by ``DVID``.
    digits : int, optional
        Report DV with this many significant digits (as an assay would); default full precision.

    Returns
    -------
    SyntheticCohort

    Raises
    ------
    ParameterError
        Unknown parameter (in ``params``, ``iiv``, ``covariate_model``) or output, negative omega,
        invalid OMEGA, bad error model, a covariate effect that is not a finite number >= 0.
    DatasetError
        ``n < 1``, unknown design, bad times, negative LLOQ, dropout outside [0, 1], bad covariates
        or regimen.

    Notes
    -----
    Data layout: per subject, records sorted by time (observations before doses at equal times);
    dose records come from ``Regimen.to_events`` (``EVID 1``, ``MDV 1``, CMT as a number); observation
    records have ``EVID 0``, ``MDV 0`` and ``CMT`` the number of the compartment the output is read
    from (``CENTRAL`` or ``<drug>.CENTRAL`` for concentration outputs ``CP``/``CU``; 0 otherwise).

    Examples
    --------
    A theophylline-like one-compartment oral cohort, rich sampling, 30 % IIV on CL:

    >>> import pkpd
    >>> import pkpd.population.synthetic as synthetic
    >>> from pkpd.models import OneCompartmentOral
    >>> c = synthetic.cohort(OneCompartmentOral(), pkpd.Bolus(320, cmt="DEPOT"), 4,
    ...                      params={"CL": 2.8, "V": 32, "KA": 1.5}, iiv={"CL": 0.3}, seed=1)
    >>> c.data
    Dataset(4 subjects, 44 records: 4 doses, 40 observations)
    >>> c.truth[["ID", "CL", "V", "ETA_CL"]].round(3)
       ID     CL     V  ETA_CL
    0   1  5.902  32.0   0.746
    1   2  3.902  32.0   0.332
    2   3  1.921  32.0  -0.377
    3   4  3.224  32.0   0.141
    >>> c.data.observations.head(3).round(3)
       ID  TIME     DV  CMT
    0   1  0.25  2.371    2
    1   1  0.50  5.528    2
    2   1  1.00  6.440    2

    Sparse sampling, a weight covariate on CL, and an LLOQ (M3: ``BLQ = 1``, ``DV = LLOQ``):

    >>> import numpy as np, pandas as pd
    >>> wt = pd.DataFrame({"WT": [50.0, 70.0, 90.0]})
    >>> c = synthetic.cohort(OneCompartmentOral(), pkpd.Bolus(320, cmt="DEPOT"), 3, design="sparse",
    ...                      covariates=wt, covariate_model={"CL": lambda row: (row.WT / 70) ** 0.75},
    ...                      lloq=2.0, seed=3)
    >>> c.truth[["ID", "CL", "WT"]].round(3)
       ID     CL    WT
    0   1  3.885  50.0
    1   2  5.000  70.0
    2   3  6.037  90.0
    >>> c.data.to_frame()[["ID", "TIME", "EVID", "DV", "BLQ", "LLOQ"]].head(5).round(3)
       ID   TIME  EVID     DV  BLQ  LLOQ
    0   1   0.00     1    NaN    0   NaN
    1   1   0.59     0  2.436    0   2.0
    2   1   1.36     0  4.461    0   2.0
    3   1   6.09     0  4.450    0   2.0
    4   1  20.05     0  2.000    1   2.0
    """
    n = _check_n(n)
    seed = _check_seed(seed)
    outputs = _check_output(model, output)
    errors = _check_error(error, outputs)
    limits = _check_lloq(lloq, outputs)
    dropout = _check_dropout(dropout)
    digits = _check_digits(digits)
    typical = _typical(model, params)
    names, omega = _omega(model, iiv)
    fixed_times = _check_design(design)
    streams = dict(zip(STREAMS, np.random.default_rng(seed).spawn(len(STREAMS))))

    # 1. covariates; 2. individual parameters
    cov = _covariates(covariates, n, streams["covariates"], model)
    multipliers = _covariate_effects(model, covariate_model, cov, n)
    etas = streams["iiv"].standard_normal((n, len(names))) @ _factor(omega).T if names else np.zeros((n, 0))
    ids = np.arange(1, n + 1)
    truth = {"ID": ids}
    for name in model.parameter_names:
        value = np.full(n, typical[name]) * multipliers.get(name, 1.0)
        if name in names:
            value = value * np.exp(etas[:, names.index(name)])
        truth[name] = value
    for k, name in enumerate(names):
        truth[f"ETA_{name}"] = etas[:, k]

    # doses and sampling times (3.)
    doses = _doses(model, regimen, cov, ids)
    times = _times(doses, fixed_times, design, streams["design"])
    frame, obs_rows, obs_output = _records(model, doses, times, outputs, n)

    # simulate, then 4. residual error on every designed observation
    from ..engine.simulation import simulate

    params_frame = pd.DataFrame({k: truth[k] for k in ["ID", *model.parameter_names]})
    pred = simulate(model, frame, params_frame, method="auto")
    dv = np.full(len(frame), np.nan)
    blq = np.zeros(len(frame), dtype=np.int64)
    limit = np.full(len(frame), np.nan)
    for j, out in enumerate(outputs):
        rows = obs_rows[obs_output == j]
        f = np.asarray(pred[out], dtype=float)[rows]
        drawn = np.asarray(errors[out].sample(f, streams["residual"]), dtype=float)
        if limits is not None and out in limits:
            below = drawn < limits[out]
            blq[rows] = below.astype(np.int64)
            drawn = np.where(below, limits[out], drawn)
            limit[rows] = limits[out]
        dv[rows] = drawn
    if digits is not None:
        censored = blq == 1
        dv = np.where(censored, dv, _significant(dv, digits))
    frame["DV"] = dv
    if len(outputs) > 1:
        dvid = np.zeros(len(frame), dtype=np.int64)
        dvid[obs_rows] = obs_output + 1
        frame["DVID"] = dvid
    if limits is not None:
        frame["BLQ"] = blq
        frame["LLOQ"] = limit

    # 5. dropout
    keep = np.ones(len(frame), dtype=bool)
    if dropout is not None:
        rng = streams["dropout"]
        u_who, u_when = rng.random(n), rng.random(n)
        subject = frame["ID"].to_numpy()[obs_rows] - 1
        t_obs = frame["TIME"].to_numpy()[obs_rows]
        first = np.full(n, np.inf)
        last = np.full(n, -np.inf)
        np.minimum.at(first, subject, t_obs)
        np.maximum.at(last, subject, t_obs)
        drops = u_who < dropout
        t_drop = np.where(drops, first + u_when * (last - first), np.nan)
        keep[obs_rows[t_obs > np.where(drops, t_drop, np.inf)[subject]]] = False
        truth["DROPOUT_TIME"] = t_drop

    # covariates on every record
    for col in cov.columns:
        frame[col] = cov[col].to_numpy()[frame["ID"].to_numpy() - 1]
    data = read_nonmem(frame.loc[keep].reset_index(drop=True))

    truth_frame = pd.DataFrame(truth)
    for col in cov.columns:
        truth_frame.insert(len(truth_frame.columns) - ("DROPOUT_TIME" in truth), col, cov[col].to_numpy())
    iiv_frame = pd.DataFrame(omega, index=list(names), columns=list(names))
    return SyntheticCohort(
        data=data,
        model=model,
        output=tuple(outputs),
        typical=MappingProxyType(dict(typical)),
        error=errors[outputs[0]] if isinstance(error, (ResidualError, type(None))) else MappingProxyType(dict(errors)),
        seed=seed,
        design=design if isinstance(design, str) else tuple(float(t) for t in fixed_times),
        lloq=None if limits is None else MappingProxyType(dict(limits)),
        dropout=dropout,
        digits=digits,
        _truth=truth_frame,
        _iiv=iiv_frame,
    )
