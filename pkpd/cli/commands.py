"""The work behind ``pkpd nca``, ``fit``, ``simulate`` and ``trial`` (the argument parsing is in :mod:`pkpd.cli.main`).

``nca`` and ``fit`` read a NONMEM-style CSV with :func:`pkpd.read_nonmem`; ``simulate`` and ``trial`` read
a TOML scenario file (:mod:`pkpd.cli.scenario_file`, schema in ``examples/README.md``). Each runs the analysis
and writes its files to an output folder; it returns the paths written. Bad input raises :class:`pkpd.PkpdError`,
:class:`OSError` or :class:`ValueError`, which :func:`pkpd.cli.main.main` turns into one line on stderr and
exit status 2.

Defaults of ``pkpd fit --population`` (kept simple on purpose):

- typical values (theta): the NCA-based start values of :func:`pkpd.estimation.initial_estimates` (CL, V,
  KA, ...), the model defaults for the other parameters; ``F1``, ``ALAG1`` and ``FM`` are not estimated
  (held at the model defaults);
- inter-individual variability: log-normal, variance 0.1, on ``CL`` and on the central volume (``V`` or
  ``V1``) when the model has them (otherwise on the first typical value);
- between-occasion variability only where asked (``--iov CL,KA``; variance 0.05 to start), the occasion of each
  record from the column ``--occasion`` (default ``OCC``): :class:`pkpd.IOV`;
- residual error: ``--error`` (default additive, the default of the API, :func:`pkpd.estimation.default_error`),
  started at the error model's defaults;
- FOCE-I with the covariance step (:func:`pkpd.fit_population`).

``pkpd fit --init CL=2,V=30`` gives start values (typical values with ``--population``): the parameters
named start there and are estimated, the others start from :func:`pkpd.estimation.initial_estimates` (NCA,
or a grid search when NCA cannot apply) -- ``fit_each(model, data, init={"CL": 2, "V": 30})`` in Python.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._internal.output import OutputFolder
from ..models.registry import resolve_model
from ._simulate_command import run_simulate
from ._tables import _agg, markdown_table
from ._trial_command import run_trial_scenario, simulate_trial

__all__ = ["make_error", "parse_init", "run_nca", "run_fit", "run_simulate", "run_trial_scenario",
           "simulate_trial", "markdown_table", "ERROR_NAMES", "DEFAULT_ERROR_NAME",
           "NCA_MD_COLUMNS", "POPULATION_FIXED", "POPULATION_IIV"]

#: Columns of the NCA table shown in ``nca.md`` (``nca.csv`` has them all).
NCA_MD_COLUMNS = ("ID", "ROUTE", "DOSE", "CMAX", "TMAX", "AUCLAST", "AUCINF_OBS", "HALF_LIFE", "CL", "VZ")
#: Parameters held at the model defaults by ``pkpd fit --population``.
POPULATION_FIXED = ("F1", "ALAG1", "FM")
#: Parameters given log-normal IIV (variance 0.1) by ``pkpd fit --population`` when the model has them.
POPULATION_IIV = ("CL", "V", "V1")
_IIV_VARIANCE = 0.1
#: start value of the variance of each between-occasion random effect (``--iov``)
_IOV_VARIANCE = 0.05




def _error_kinds():
    """``--error`` name -> the error model's constructor: NONMEM's combined error in both forms (variances add,
    standard deviations add) and log-transform-both-sides."""
    import functools

    from ..estimation import AdditiveError, CombinedError, ExponentialError, ProportionalError
    return {"additive": AdditiveError, "proportional": ProportionalError, "combined": CombinedError,
            "combined-sd": functools.partial(CombinedError, form="sd"), "exponential": ExponentialError}


#: ``--error`` choices of ``pkpd fit``.
ERROR_NAMES = tuple(_error_kinds())


def _default_error_name() -> str:
    from ..estimation import default_error
    return next(name for name, make in _error_kinds().items() if make() == default_error())


#: Default of ``pkpd fit --error``: the API's default error model (:func:`pkpd.estimation.default_error`).
DEFAULT_ERROR_NAME = _default_error_name()


def make_error(kind: str):
    """The residual error model named ``kind`` (one of :data:`ERROR_NAMES`), at its defaults."""
    from ..errors import ParameterError

    kinds = _error_kinds()
    if kind not in kinds:
        raise ParameterError(f"unknown error model {kind!r}; expected one of {', '.join(kinds)}")
    return kinds[kind]()


def parse_init(text: str) -> dict:
    """Start values from ``pkpd fit --init``: ``"CL=2,V=30"`` -> ``{"CL": 2.0, "V": 30.0}``.

    Raises ValueError (one line) on bad syntax: a pair without ``=``, an empty name, a value that is not a
    finite number, or a name given twice. Whether the names are parameters of the model is checked by
    :func:`run_fit`.

    >>> parse_init("CL=2, V=30")
    {'CL': 2.0, 'V': 30.0}
    >>> parse_init("CL=2,V")
    Traceback (most recent call last):
    ...
    ValueError: 'V' is not NAME=VALUE (expected e.g. CL=2,V=30)
    """
    out = {}
    pairs = [p.strip() for p in str(text).split(",")]
    if not any(pairs):
        raise ValueError("no start values given (expected e.g. CL=2,V=30)")
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise ValueError(f"{pair!r} is not NAME=VALUE (expected e.g. CL=2,V=30)")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{name}={value!r}: {value!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{name}={value}: the start value must be a finite number")
        if name in out:
            raise ValueError(f"{name} is given twice")
        out[name] = number
    return out


def _check_init(model, init):
    """``--init`` names must be parameters of ``model`` and values within their bounds (ParameterError)."""
    from ..errors import ParameterError

    known = {p.name: p for p in model.parameters}
    for name, value in (init or {}).items():
        if name not in known:
            raise ParameterError(f"--init: {name!r} is not a parameter of {model.name} "
                                 f"(parameters: {', '.join(known)})")
        par = known[name]
        if not par.lower <= value <= par.upper:
            raise ParameterError(f"--init: {name}={value:g} is outside its bounds [{par.lower:g}, {par.upper:g}]")


def _read(path, reading: dict | None = None):
    """The data file read by :func:`pkpd.read_nonmem` with ``reading`` (``ignore``, ``na_values``)."""
    from ..io import read_nonmem

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {path}")
    data = read_nonmem(path, **dict(reading or {}))
    if data.observations.empty:
        from ..errors import DatasetError
        raise DatasetError(f"{path.name}: no observations (records with EVID 0, MDV 0 and a DV value)")
    return data


# ---------------------------------------------------------------------------------------------
# pkpd nca
# ---------------------------------------------------------------------------------------------
def run_nca(data_path, out="pkpd-nca", *, force: bool = False, reading: dict | None = None) -> dict:
    """NCA of ``data_path``: ``nca.csv`` (all metrics, :data:`pkpd.estimation.nca.NCA_COLUMNS`) and ``nca.md``.
    ``reading``: options of :func:`pkpd.read_nonmem` (``ignore``, ``na_values``)."""
    from ..estimation.nca import nca

    folder = OutputFolder(out, {"csv": "nca.csv", "md": "nca.md"}, force=force, inputs=[data_path])
    data = _read(data_path, reading)
    table = nca(data)
    folder.write_csv("csv", table, index=False)
    shown = table[[c for c in NCA_MD_COLUMNS if c in table.columns]]
    notes = [f"- ID {r.ID}: {r.NOTE}" for r in table.itertuples() if isinstance(r.NOTE, str) and r.NOTE]
    text = [f"# NCA of {Path(data_path).name}", "",
            f"{len(table)} subjects; units h, mg, mg/L (AUC mg·h/L, CL L/h, VZ L; CL/F and VZ/F after an "
            "extravascular dose). All metrics: `nca.csv`.", "", markdown_table(shown), ""]
    if notes:
        text += ["Notes:", "", *notes, ""]
    folder.write_text("md", "\n".join(text))
    return folder.files


# ---------------------------------------------------------------------------------------------
# pkpd fit
# ---------------------------------------------------------------------------------------------
def run_fit(data_path, model_name: str, *, error: str = DEFAULT_ERROR_NAME, population: bool = False,
            out="pkpd-fit", force: bool = False, init: dict | None = None, reading: dict | None = None,
            iov: tuple = (), occasion: str = "OCC") -> dict:
    """Fit ``model_name`` to ``data_path`` per subject (default) or as a population model.

    ``error`` defaults to the API's default error model (:data:`DEFAULT_ERROR_NAME`); ``init`` gives start
    values (``--init``, :func:`parse_init`) of parameters that are then estimated; ``reading`` the options of
    :func:`pkpd.read_nonmem` (``ignore``, ``na_values``); ``iov`` (population fits) the parameters with
    between-occasion variability, the occasions read from the column ``occasion``.
    """
    from ..errors import ConvergenceWarning

    model = resolve_model(model_name)        # bad names fail before the data are read
    err = make_error(error)
    _check_init(model, init)
    if iov and not population:
        raise ValueError("--iov (between-occasion variability) needs --population")
    unknown = sorted(set(iov) - {p.name for p in model.parameters})
    if unknown:
        raise ValueError(f"--iov: {unknown} are not parameters of {model.name} "
                         f"({', '.join(p.name for p in model.parameters)})")
    names = ({"table": "table.csv", "etas": "etas.csv", "md": "report.md", "png": "gof.png"} if population else
             {"csv": "estimates.csv", "md": "report.md", "png": "fits.png"})
    folder = OutputFolder(out, names, force=force, inputs=[data_path])
    data = _read(data_path, reading)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)   # reported in report.md instead
        if population:
            files = _fit_population(model, data, err, folder, Path(data_path).name, init, iov, occasion)
        else:
            files = _fit_each(model, data, err, folder, Path(data_path).name, init, caught)
    for w in caught:                                          # other warnings are shown as usual
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return files


def _init_text(init) -> str:
    return ", ".join(f"{k} = {v:g}" for k, v in init.items())


def _fit_each(model, data, err, folder: OutputFolder, source: str, init=None, caught=()) -> dict:
    from ..estimation import fit_each, fit_individual

    if len(data) == 1:
        fits = {data.ids[0]: fit_individual(model, data, error=err, init=init)}
    else:
        fits = fit_each(model, data, error=err, init=init)
    skipped = [str(w.message).split(": ", 1)[1] for w in caught if "SUBJECTS_SKIPPED" in str(w.message)]
    rows = []
    for sid, fit in fits.items():
        row = {"ID": sid, "success": fit.success, "ofv": fit.ofv, "n_obs": fit.n_obs}
        row.update(fit.estimates)
        row.update({f"err_{k}": v for k, v in fit.error_estimates.items()})
        row["warnings"] = ";".join(fit.warning_names)
        rows.append(row)
    table = pd.DataFrame(rows)
    folder.write_csv("csv", table, index=False)

    plt = _agg()
    n = len(fits)
    ncol = min(4, n)
    nrow = math.ceil(n / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False, layout="constrained")
    for ax, (sid, fit) in zip(axes.ravel(), fits.items()):
        obs = fit.predictions[fit.predictions["ID"] == sid]
        t = np.linspace(0.0, float(obs["TIME"].max()) * 1.05, 200)
        curve = fit.predict(t, sid)
        ax.plot(curve["TIME"], curve["PRED"], color="C0")
        ax.plot(obs["TIME"], obs["DV"], "o", color="k", markersize=3)
        ax.set_title(f"ID {sid}" + ("" if fit.success else " (not converged)"), fontsize="small")
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.supxlabel("time (h)")
    fig.supylabel(fits[next(iter(fits))].problem.output)
    folder.save_figure("png", fig, dpi=100)
    plt.close(fig)

    failed = [str(s) for s, f in fits.items() if not f.success]
    start = (f"start values: {_init_text(init)} (--init), the others from NCA or a grid search" if init else
             "start values from NCA, or a grid search where NCA cannot apply")
    text = [f"# {model.name} fitted to {source}, one fit per subject", "",
            f"{n} subjects; error model {err!r}; {start}; {n - len(failed)} converged"
            + (f", not converged: IDs {', '.join(failed)}" if failed else "") + ".", ""]
    text += [f"**{s}**" for s in skipped] + ([""] if skipped else [])
    text += [markdown_table(table), "", "![fits](fits.png)", "", "## Per subject", ""]
    for sid, fit in fits.items():
        text += [f"### ID {sid}", "", "```", fit.report(), "```", ""]
    folder.write_text("md", "\n".join(text))
    return folder.files


def population_model(model, data, err, init=None, iov=(), occasion="OCC"):
    """The :class:`pkpd.PopulationModel` that ``pkpd fit --population`` fits (defaults in the module docstring);
    ``init`` (``--init``) overrides typical values, and a parameter named there is estimated; ``iov``
    (``--iov``) adds between-occasion variability (variance :data:`_IOV_VARIANCE`) by the column ``occasion``."""
    from ..estimation import initial_estimates, usable_subjects
    from ..population import IOV, PopulationModel

    usable, _ = usable_subjects(data)
    start = initial_estimates(model, usable if len(usable) else data)
    start.update(init or {})
    theta = {}
    for p in model.parameters:
        if p.name in POPULATION_FIXED and p.name not in (init or {}):
            continue
        value = start.get(p.name, p.default)
        if value > 0:
            theta[p.name] = float(value)
    omega = {name: _IIV_VARIANCE for name in POPULATION_IIV if name in theta} or {next(iter(theta)): _IIV_VARIANCE}
    held = sorted(set(iov) - set(theta))
    if held:
        raise ValueError(f"--iov: {held} are held at their defaults by pkpd fit --population, not estimated: give "
                         f"start values with --init to estimate them")
    iov = IOV({name: _IOV_VARIANCE for name in iov}, column=occasion) if iov else None
    return PopulationModel(model, theta, omega, err, iov=iov)


def _fit_population(model, data, err, folder: OutputFolder, source: str, init=None, iov=(), occasion="OCC") -> dict:
    from .. import plot
    from ..population import fit_population

    fit = fit_population(population_model(model, data, err, init, iov, occasion), data, progress=False)
    folder.write_csv("table", fit.table())
    folder.write_csv("etas", fit.etas, index=False)
    plt = _agg()
    axes = plot.gof(fit)
    fig = axes[0].figure
    folder.save_figure("png", fig, dpi=100)
    plt.close(fig)
    text = [f"# {model.name} population fit to {source}", "",
            f"Defaults of `pkpd fit --population`: log-normal IIV (variance {_IIV_VARIANCE}) on "
            f"{', '.join(fit.popmodel.eta_names)}"
            + (f"; between-occasion variability (variance {_IOV_VARIANCE}) on {', '.join(iov)} by {occasion}"
               if iov else "") + "; typical values started from "
            + (f"{_init_text(init)} (--init), the others from NCA or a grid search" if init else
               "NCA (a grid search where NCA cannot apply)") + f"; error {err!r}.", "",
            "```", fit.report(), "```", "", "![goodness of fit](gof.png)", ""]
    folder.write_text("md", "\n".join(text))
    return folder.files


# ---------------------------------------------------------------------------------------------
# pkpd simulate
# ---------------------------------------------------------------------------------------------
