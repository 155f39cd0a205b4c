"""The work behind ``pkpd nca`` and ``pkpd fit`` (the argument parsing is in :mod:`pkpd.cli`).

Each command reads a NONMEM-style CSV with :func:`pkpd.read_nonmem`, runs the analysis and writes its
files to an output folder; it returns the paths written. Bad input raises :class:`pkpd.PkpdError`,
:class:`OSError` or :class:`ValueError`, which :func:`pkpd.cli.main` turns into one line on stderr and
exit status 2.

Defaults of ``pkpd fit --population`` (kept simple on purpose):

- typical values (theta): the NCA-based start values of :func:`pkpd.fitting.initial_estimates` (CL, V,
  KA, ...), the model defaults for the other parameters; ``F1``, ``ALAG1`` and ``FM`` are not estimated
  (held at the model defaults);
- inter-individual variability: log-normal, variance 0.1, on ``CL`` and on the central volume (``V`` or
  ``V1``) when the model has them (otherwise on the first typical value);
- residual error: ``--error`` (default additive), started at the error model's defaults;
- FOCE-I with the covariance step (:func:`pkpd.fit_population`).
"""

from __future__ import annotations

import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["resolve_model", "make_error", "run_nca", "run_fit", "markdown_table", "MODEL_NAMES",
           "NCA_MD_COLUMNS", "POPULATION_FIXED", "POPULATION_IIV"]

#: Columns of the NCA table shown in ``nca.md`` (``nca.csv`` has them all).
NCA_MD_COLUMNS = ("ID", "ROUTE", "DOSE", "CMAX", "TMAX", "AUCLAST", "AUCINF_OBS", "HALF_LIFE", "CL", "VZ")
#: Parameters held at the model defaults by ``pkpd fit --population``.
POPULATION_FIXED = ("F1", "ALAG1", "FM")
#: Parameters given log-normal IIV (variance 0.1) by ``pkpd fit --population`` when the model has them.
POPULATION_IIV = ("CL", "V", "V1")
_IIV_VARIANCE = 0.1


def _library():
    from .models import pk
    return {name: getattr(pk, name) for name in pk.__all__}


#: Model names accepted by ``--model`` (snake_case aliases such as ``one_compartment_oral`` too).
MODEL_NAMES = tuple(_library())


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def resolve_model(name: str):
    """A model of the library by class name (``OneCompartmentOral``) or snake-case alias
    (``one_compartment_oral``); case, ``-`` and ``_`` do not matter.

    >>> resolve_model("one_compartment_oral").name, resolve_model("TwoCompartment").name
    ('OneCompartmentOral', 'TwoCompartment')
    """
    from .errors import ModelError

    key = name.replace("_", "").replace("-", "").lower()
    for cls_name, cls in _library().items():
        if cls_name.lower() == key:
            return cls()
    aliases = ", ".join(_snake(n) for n in MODEL_NAMES)
    raise ModelError(f"unknown model {name!r}; known models: {aliases}")


def make_error(kind: str):
    """The residual error model named ``kind`` (additive, proportional or combined), at its defaults."""
    from .errors import ParameterError
    from .fitting import AdditiveError, CombinedError, ProportionalError

    kinds = {"additive": AdditiveError, "proportional": ProportionalError, "combined": CombinedError}
    if kind not in kinds:
        raise ParameterError(f"unknown error model {kind!r}; expected one of {', '.join(kinds)}")
    return kinds[kind]()


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


def markdown_table(frame: pd.DataFrame, index: bool = False) -> str:
    """A GitHub-flavoured markdown table of ``frame`` (floats to 4 significant digits).

    >>> print(markdown_table(pd.DataFrame({"ID": [1], "CMAX": [10.51234]})))
    | ID | CMAX |
    |---|---|
    | 1 | 10.51 |
    """
    if index:
        frame = frame.reset_index()
    lines = ["| " + " | ".join(str(c) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def _read(path):
    from .io import read_nonmem

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such data file: {path}")
    data = read_nonmem(path)
    if data.observations.empty:
        from .errors import DatasetError
        raise DatasetError(f"{path.name}: no observations (records with EVID 0, MDV 0 and a DV value)")
    return data


def _out_dir(out) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


# ---------------------------------------------------------------------------------------------
# pkpd nca
# ---------------------------------------------------------------------------------------------
def run_nca(data_path, out="pkpd-nca") -> dict:
    """NCA of ``data_path``: ``nca.csv`` (all metrics, :data:`pkpd.nca.NCA_COLUMNS`) and ``nca.md``."""
    from .nca import nca

    data = _read(data_path)
    table = nca(data)
    out = _out_dir(out)
    files = {"csv": out / "nca.csv", "md": out / "nca.md"}
    table.to_csv(files["csv"], index=False)
    shown = table[[c for c in NCA_MD_COLUMNS if c in table.columns]]
    notes = [f"- ID {r.ID}: {r.NOTE}" for r in table.itertuples() if isinstance(r.NOTE, str) and r.NOTE]
    text = [f"# NCA of {Path(data_path).name}", "",
            f"{len(table)} subjects; units h, mg, mg/L (AUC mg·h/L, CL L/h, VZ L; CL/F and VZ/F after an "
            "extravascular dose). All metrics: `nca.csv`.", "", markdown_table(shown), ""]
    if notes:
        text += ["Notes:", "", *notes, ""]
    files["md"].write_text("\n".join(text), encoding="utf-8")
    return files


# ---------------------------------------------------------------------------------------------
# pkpd fit
# ---------------------------------------------------------------------------------------------
def _agg():
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def run_fit(data_path, model_name: str, *, error: str = "additive", population: bool = False,
            out="pkpd-fit") -> dict:
    """Fit ``model_name`` to ``data_path`` per subject (default) or as a population model."""
    from .errors import ConvergenceWarning

    model = resolve_model(model_name)        # bad names fail before the data are read
    err = make_error(error)
    data = _read(data_path)
    out = _out_dir(out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)   # reported in report.md instead
        if population:
            return _fit_population(model, data, err, out, Path(data_path).name)
        return _fit_each(model, data, err, out, Path(data_path).name)


def _fit_each(model, data, err, out: Path, source: str) -> dict:
    from .fitting import fit_each, fit_individual

    if len(data) == 1:
        fits = {data.ids[0]: fit_individual(model, data, error=err)}
    else:
        fits = fit_each(model, data, error=err)
    rows = []
    for sid, fit in fits.items():
        row = {"ID": sid, "success": fit.success, "ofv": fit.ofv, "n_obs": fit.n_obs}
        row.update(fit.estimates)
        row.update({f"err_{k}": v for k, v in fit.error_estimates.items()})
        rows.append(row)
    table = pd.DataFrame(rows)
    files = {"csv": out / "estimates.csv", "md": out / "report.md", "png": out / "fits.png"}
    table.to_csv(files["csv"], index=False)

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
    fig.savefig(files["png"], dpi=100)
    plt.close(fig)

    failed = [str(s) for s, f in fits.items() if not f.success]
    text = [f"# {model.name} fitted to {source}, one fit per subject", "",
            f"{n} subjects; error model {err!r}; {n - len(failed)} converged"
            + (f", not converged: IDs {', '.join(failed)}" if failed else "") + ".", "",
            markdown_table(table), "", "![fits](fits.png)", "", "## Per subject", ""]
    for sid, fit in fits.items():
        text += [f"### ID {sid}", "", "```", fit.report(), "```", ""]
    files["md"].write_text("\n".join(text), encoding="utf-8")
    return files


def population_model(model, data, err):
    """The :class:`pkpd.PopulationModel` that ``pkpd fit --population`` fits (defaults in the module docstring)."""
    from .fitting import initial_estimates
    from .population import PopulationModel

    start = initial_estimates(model, data)
    theta = {}
    for p in model.parameters:
        if p.name in POPULATION_FIXED:
            continue
        value = start.get(p.name, p.default)
        if value > 0:
            theta[p.name] = float(value)
    omega = {name: _IIV_VARIANCE for name in POPULATION_IIV if name in theta} or {next(iter(theta)): _IIV_VARIANCE}
    return PopulationModel(model, theta, omega, err)


def _fit_population(model, data, err, out: Path, source: str) -> dict:
    from . import plot
    from .population import fit_population

    fit = fit_population(population_model(model, data, err), data, progress=False)
    files = {"table": out / "table.csv", "etas": out / "etas.csv", "md": out / "report.md", "png": out / "gof.png"}
    fit.table().to_csv(files["table"])
    fit.etas.to_csv(files["etas"], index=False)
    plt = _agg()
    axes = plot.gof(fit)
    fig = axes[0].figure
    fig.savefig(files["png"], dpi=100)
    plt.close(fig)
    text = [f"# {model.name} population fit to {source}", "",
            f"Defaults of `pkpd fit --population`: log-normal IIV (variance {_IIV_VARIANCE}) on "
            f"{', '.join(fit.popmodel.eta_names)}; typical values started from NCA; error {err!r}.", "",
            "```", fit.report(), "```", "", "![goodness of fit](gof.png)", ""]
    files["md"].write_text("\n".join(text), encoding="utf-8")
    return files
