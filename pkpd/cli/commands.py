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
- residual error: ``--error`` (default additive, the default of the API, :func:`pkpd.estimation.default_error`),
  started at the error model's defaults;
- FOCE-I with the covariance step (:func:`pkpd.fit_population`).

``pkpd fit --init CL=2,V=30`` gives start values (typical values with ``--population``): the parameters
named start there and are estimated, the others start from :func:`pkpd.estimation.initial_estimates` (NCA,
or a grid search when NCA cannot apply) -- ``fit_each(model, data, init={"CL": 2, "V": 30})`` in Python.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._internal.output import OutputFolder
from ..models.registry import resolve_model

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




def _error_kinds():
    from ..estimation import AdditiveError, CombinedError, ProportionalError
    return {"additive": AdditiveError, "proportional": ProportionalError, "combined": CombinedError}


#: ``--error`` choices of ``pkpd fit``.
ERROR_NAMES = tuple(_error_kinds())


def _default_error_name() -> str:
    from ..estimation import default_error
    return next(name for name, cls in _error_kinds().items() if type(default_error()) is cls)


#: Default of ``pkpd fit --error``: the API's default error model (:func:`pkpd.estimation.default_error`).
DEFAULT_ERROR_NAME = _default_error_name()


def make_error(kind: str):
    """The residual error model named ``kind`` (additive, proportional or combined), at its defaults."""
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
def _agg():
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def run_fit(data_path, model_name: str, *, error: str = DEFAULT_ERROR_NAME, population: bool = False,
            out="pkpd-fit", force: bool = False, init: dict | None = None, reading: dict | None = None) -> dict:
    """Fit ``model_name`` to ``data_path`` per subject (default) or as a population model.

    ``error`` defaults to the API's default error model (:data:`DEFAULT_ERROR_NAME`); ``init`` gives start
    values (``--init``, :func:`parse_init`) of parameters that are then estimated; ``reading`` the options of
    :func:`pkpd.read_nonmem` (``ignore``, ``na_values``).
    """
    from ..errors import ConvergenceWarning

    model = resolve_model(model_name)        # bad names fail before the data are read
    err = make_error(error)
    _check_init(model, init)
    names = ({"table": "table.csv", "etas": "etas.csv", "md": "report.md", "png": "gof.png"} if population else
             {"csv": "estimates.csv", "md": "report.md", "png": "fits.png"})
    folder = OutputFolder(out, names, force=force, inputs=[data_path])
    data = _read(data_path, reading)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)   # reported in report.md instead
        if population:
            files = _fit_population(model, data, err, folder, Path(data_path).name, init)
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


def population_model(model, data, err, init=None):
    """The :class:`pkpd.PopulationModel` that ``pkpd fit --population`` fits (defaults in the module docstring);
    ``init`` (``--init``) overrides typical values, and a parameter named there is estimated."""
    from ..estimation import initial_estimates, usable_subjects
    from ..population import PopulationModel

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
    return PopulationModel(model, theta, omega, err)


def _fit_population(model, data, err, folder: OutputFolder, source: str, init=None) -> dict:
    from .. import plot
    from ..population import fit_population

    fit = fit_population(population_model(model, data, err, init), data, progress=False)
    folder.write_csv("table", fit.table())
    folder.write_csv("etas", fit.etas, index=False)
    plt = _agg()
    axes = plot.gof(fit)
    fig = axes[0].figure
    folder.save_figure("png", fig, dpi=100)
    plt.close(fig)
    text = [f"# {model.name} population fit to {source}", "",
            f"Defaults of `pkpd fit --population`: log-normal IIV (variance {_IIV_VARIANCE}) on "
            f"{', '.join(fit.popmodel.eta_names)}; typical values started from "
            + (f"{_init_text(init)} (--init), the others from NCA or a grid search" if init else
               "NCA (a grid search where NCA cannot apply)") + f"; error {err!r}.", "",
            "```", fit.report(), "```", "", "![goodness of fit](gof.png)", ""]
    folder.write_text("md", "\n".join(text))
    return folder.files


# ---------------------------------------------------------------------------------------------
# pkpd simulate
# ---------------------------------------------------------------------------------------------
def _unit_label(model, name: str) -> str:
    from ..engine import output_units

    try:
        unit = output_units(model, [name]).get(name, "")
    except Exception:                                   # pragma: no cover - unusual models
        unit = ""
    return f"{name} ({unit or 'dimensionless'})"


def _subject_params(scenario, base: dict) -> pd.DataFrame | dict:
    """Parameters of the scenario's subjects: the same log-normal draws in every regimen."""
    n = scenario.subjects
    if n == 1 and not scenario.iiv:
        return dict(base)
    rng = np.random.default_rng(scenario.seed)
    names = sorted(scenario.iiv)
    z = rng.standard_normal((n, len(names)))
    table = {k: np.full(n, float(v)) for k, v in base.items()}
    for j, k in enumerate(names):
        table[k] = table[k] * np.exp(scenario.iiv[k] * z[:, j])
    frame = pd.DataFrame(table)
    frame.insert(0, "ID", np.arange(1, n + 1))
    return frame


def _dose_times(regimen) -> np.ndarray:
    times = []
    for d in regimen:
        if d.amt > 0:
            times.extend(d.time + d.ii * np.arange(d.addl + 1))
    return np.unique(np.asarray(times, dtype=float))


def _exposure(t: np.ndarray, c: np.ndarray, dose_times: np.ndarray) -> dict:
    """Cmax, Tmax, AUC (linear trapezoids over the output times), trough before the last dose, last value
    of one subject's curve ``c`` at times ``t`` (h)."""
    i = int(np.nanargmax(c)) if np.isfinite(c).any() else 0
    out = {"CMAX": float(c[i]), "TMAX": float(t[i]), "AUC": float(np.trapezoid(c, t)) if len(t) > 1 else 0.0,
           "CTROUGH": math.nan, "CLAST": float(c[-1])}
    later = dose_times[(dose_times > t[0]) & (dose_times <= t[-1])]
    if len(dose_times) > 1 and later.size:
        # an output at a dose time reports the value just after it: take the last output time before it
        out["CTROUGH"] = float(c[np.flatnonzero(t < later[-1])[-1]])
    return out


def _time_in_range(t: np.ndarray, c: np.ndarray, lo: float, hi: float) -> dict:
    """Percent of the output time span ``t[0]..t[-1]`` with ``c`` below ``lo``, in ``[lo, hi]`` and above
    ``hi``, ``c`` interpolated linearly between the output times (a single time: where that value lies)."""
    c = np.asarray(c, dtype=float)
    if len(t) < 2 or not np.isfinite(c).all():
        if len(t) < 2 and np.isfinite(c).all():
            v = c[0]
            return {"BELOW_RANGE": 100.0 * (v < lo), "IN_RANGE": 100.0 * (lo <= v <= hi),
                    "ABOVE_RANGE": 100.0 * (v > hi)}
        return {"BELOW_RANGE": math.nan, "IN_RANGE": math.nan, "ABOVE_RANGE": math.nan}
    dt, c0, c1 = np.diff(t), c[:-1], c[1:]

    def below(level):                   # time of each interval with c < level (c linear in the interval)
        flat = c1 == c0
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.clip((level - c0) / (c1 - c0), 0.0, 1.0)
        frac = np.where(c1 > c0, s, 1.0 - s)                   # rising: the start; falling: the end
        return np.where(flat, (c0 < level).astype(float), frac) * dt

    span = t[-1] - t[0]
    low, high = below(lo).sum(), dt.sum() - below(hi).sum()
    low, high = 100.0 * low / span, 100.0 * max(high, 0.0) / span
    return {"BELOW_RANGE": low, "IN_RANGE": max(100.0 - low - high, 0.0), "ABOVE_RANGE": high}


def _simulate_figure(sc, curves):
    """The time courses of a simulate scenario: one panel per output, each regimen's curve (several subjects:
    median and 5-95 % band), an output's therapeutic range (``[range]``) as a shaded band (gid ``range``)."""
    plt = _agg()
    scale = 60.0 if sc.time_unit == "min" else 1.0
    k = len(sc.outputs)
    fig, axes = plt.subplots(k, 1, figsize=(7, 3.4 * k), squeeze=False, sharex=True, layout="constrained")
    t_plot = sc.times_h * scale
    for ax, o in zip(axes[:, 0], sc.outputs):
        if o in sc.ranges:
            lo, hi = sc.ranges[o]
            ax.axhspan(lo, hi, color="tab:green", alpha=0.15, lw=0, label=f"range {lo:g}-{hi:g}", gid="range")
        for j, name in enumerate(sc.regimens):
            v = curves[(name, o)]
            color = f"C{j % 10}"
            if sc.subjects == 1:
                ax.plot(t_plot, v[0], color=color, label=name)
            else:
                ax.plot(t_plot, np.median(v, axis=0), color=color, label=f"{name} (median)")
                ax.fill_between(t_plot, np.quantile(v, 0.05, axis=0), np.quantile(v, 0.95, axis=0), color=color,
                                alpha=0.2, lw=0, label=f"{name} (5-95 %)")
        ax.set_ylabel(_unit_label(sc.model, o))
        ax.legend(fontsize="small")
    axes[-1, 0].set_xlabel(f"time ({sc.time_unit})")
    axes[0, 0].set_title(sc.title)
    return fig


def run_simulate(scenario_path, out="pkpd-simulate", *, force: bool = False) -> dict:
    """Simulate every regimen of a scenario file: ``timecourses.csv``, ``timecourses.png``,
    ``summary.csv`` and ``summary.md`` (Cmax, Tmax, AUC, trough per regimen and output; with ``[range]``, the
    percent of the time below, in and above each output's range, :func:`_time_in_range`, and the range shaded
    on the figure)."""
    from .scenario_file import load_simulate

    sc = load_simulate(scenario_path)          # every check before any simulation
    folder = OutputFolder(out, {"csv": "timecourses.csv", "png": "timecourses.png", "summary": "summary.csv",
                                "md": "summary.md"}, force=force, inputs=[scenario_path])
    t_h = sc.times_h
    scale = 60.0 if sc.time_unit == "min" else 1.0
    frames, summary, curves = [], [], {}
    for name, (model, base, regimen, _specs) in sc.regimens.items():
        params = _subject_params(sc, base)
        res = model.simulate(regimen, t_h, params)
        frame = res.to_frame()
        tidy = pd.DataFrame({"regimen": name, "ID": frame["ID"].to_numpy(), "TIME": frame["TIME"].to_numpy()})
        if sc.time_unit == "min":
            tidy["TIME_MIN"] = tidy["TIME"] * 60.0
        for o in sc.outputs:
            tidy[o] = frame[o].to_numpy()
        frames.append(tidy)
        dose_times = _dose_times(regimen)
        for o in sc.outputs:
            values = tidy[o].to_numpy().reshape(sc.subjects, len(t_h))
            curves[(name, o)] = values
            per = pd.DataFrame([_exposure(t_h, v, dose_times) for v in values])
            row = {"regimen": name, "output": o, "n": sc.subjects}
            if o in sc.ranges:
                lo_r, hi_r = sc.ranges[o]
                per = per.join(pd.DataFrame([_time_in_range(t_h, v, lo_r, hi_r) for v in values]))
            elif sc.ranges:
                per = per.assign(BELOW_RANGE=math.nan, IN_RANGE=math.nan, ABOVE_RANGE=math.nan)
            for col in per.columns:
                med = float(per[col].median()) if per[col].notna().any() else math.nan
                row[col] = med * scale if col == "TMAX" else med
                if sc.subjects > 1:
                    lo, hi = (per[col].quantile([0.05, 0.95]).to_numpy() if per[col].notna().any()
                              else (math.nan, math.nan))
                    f = scale if col == "TMAX" else 1.0
                    row[f"{col}_P5"], row[f"{col}_P95"] = lo * f, hi * f
            if sc.ranges:
                row["RANGE_LO"], row["RANGE_HI"] = sc.ranges.get(o, (math.nan, math.nan))
            summary.append(row)
    table = pd.concat(frames, ignore_index=True)
    summary = pd.DataFrame(summary)
    folder.write_csv("csv", table, index=False)
    folder.write_csv("summary", summary, index=False)

    plt = _agg()
    fig = _simulate_figure(sc, curves)
    t_plot = t_h * scale
    folder.save_figure("png", fig, dpi=100)
    plt.close(fig)

    what = sc.label or (sc.drug.name if sc.drug is not None else sc.model.name)
    shown = summary.copy()
    units = {o: _unit_label(sc.model, o).rsplit("(", 1)[1].rstrip(")") for o in sc.outputs}
    text = [f"# {sc.title}", "",
            f"`pkpd simulate {Path(scenario_path).name}`: {what}, {len(sc.regimens)} regimen(s), "
            f"{sc.subjects} subject(s)" + (f" with log-normal IIV (SD of log) {sc.iiv}" if sc.iiv else "")
            + f"; output times {t_plot[0]:g}-{t_plot[-1]:g} {sc.time_unit} ({len(t_h)} times).", "",
            f"CMAX and CLAST in the output's unit ({', '.join(f'{o}: {u}' for o, u in units.items())}), TMAX in "
            f"{sc.time_unit}, AUC (linear trapezoids over the output times) in unit x h, CTROUGH just before the "
            "last dose (regimens with several doses)."
            + (" Medians over the subjects, with the 5th and 95th percentiles (`_P5`, `_P95`)." if sc.subjects > 1
               else "")
            + (" Therapeutic ranges (" + ", ".join(f"{o}: {lo:g}-{hi:g}" for o, (lo, hi) in sc.ranges.items())
               + "): `RANGE_LO`, `RANGE_HI`, and the percent of the output time span below, in and above the range "
               "(`BELOW_RANGE`, `IN_RANGE`, `ABOVE_RANGE`; linear interpolation between the output times); shaded "
               "on the figure." if sc.ranges else ""), "", markdown_table(shown), "",
            "![time courses](timecourses.png)", "",
            "Time courses: `timecourses.csv` (TIME in h" + (", TIME_MIN in min" if sc.time_unit == "min" else "")
            + ").", ""]
    folder.write_text("md", "\n".join(text))
    return folder.files


# ---------------------------------------------------------------------------------------------
# pkpd trial
# ---------------------------------------------------------------------------------------------
#: Most Dask worker processes of ``pkpd trial --workers`` (each is a Python process with its own memory).
MAX_WORKERS = 256

def _combine(results, design_arms, sc):
    """One TrialResult from the results of arm groups simulated with different models (same subjects)."""
    from ..trials import TrialDesign, TrialResult

    design = TrialDesign(design_arms, times=sc.times_h, endpoints=sc.endpoints)
    return TrialResult.combine(results, design, model_name=sc.model_label)


def simulate_trial(sc, *, workers: int = 0, progress=None):
    """Run a parsed trial scenario (:func:`pkpd.cli.scenario_file.load_trial`): returns the population and a
    :class:`pkpd.trials.TrialResult` (arm groups that need different models run with the same subjects)."""
    from ..trials import TrialDesign, run_trial
    from ..population.virtual import Population

    pop = Population.virtual(**sc.population)
    keep = tuple(dict.fromkeys([sc.plot_output] + [o for ep in sc.endpoints for o in ep.outputs]))
    cluster = client = None
    try:
        if workers > 0:
            try:
                import dask.distributed as distributed
            except ImportError:
                raise ValueError("--workers needs dask.distributed: pip install 'dask[distributed]' "
                                 "(or pkpd[all])") from None
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               dashboard_address=None)
            client = distributed.Client(cluster)
        results = []
        for source, names in sc.groups:
            design = TrialDesign({a: sc.arms[a] for a in names}, times=sc.times_h, endpoints=sc.endpoints)
            results.append(run_trial(source, design, pop, seed=sc.seed, client=client, progress=progress,
                                     keep_timecourses=keep, **sc.options))
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    result = results[0] if len(results) == 1 else _combine(results, sc.arms, sc)
    return pop, result


def _endpoint_bars(ax, summary: pd.DataFrame, arms):
    fr = summary.loc[summary["statistic"] == "fraction"]
    eps = list(dict.fromkeys(fr["endpoint"]))
    width = 0.8 / max(1, len(arms))
    for j, arm in enumerate(arms):
        part = fr.loc[fr["arm"] == arm].set_index("endpoint").reindex(eps)
        x = np.arange(len(eps)) + (j - (len(arms) - 1) / 2) * width
        est = part["estimate"].to_numpy(dtype=float)
        err = np.vstack([est - part["lower"].to_numpy(dtype=float), part["upper"].to_numpy(dtype=float) - est])
        ax.bar(x, 100 * est, width, yerr=100 * err, capsize=3, color=f"C{j % 10}", label=arm)
    ax.set_xticks(np.arange(len(eps)), eps, fontsize="small")
    ax.set_ylabel("subjects (%), 95 % Wilson CI")
    ax.set_ylim(0, 100)
    ax.legend(fontsize="small")


def run_trial_scenario(scenario_path, out="pkpd-trial", *, workers: int = 0, n: int | None = None,
                       progress=None, force: bool = False) -> dict:
    """Run a trial scenario file: ``summary.csv`` (:meth:`pkpd.trials.TrialResult.summarize`),
    ``subjects.csv``, ``timecourses.csv``, ``report.md`` and ``trial.png``."""
    from .scenario_file import load_trial

    if not 0 <= workers <= MAX_WORKERS:
        raise ValueError(f"--workers must be 0 (serial) or a number of Dask workers up to {MAX_WORKERS}, "
                         f"got {workers}")
    if n is not None and n < 1:
        raise ValueError(f"--n must be a positive number of subjects, got {n}")
    sc = load_trial(scenario_path, n=n)
    folder = OutputFolder(out, {"summary": "summary.csv", "subjects": "subjects.csv", "timecourses": "timecourses.csv",
                                "md": "report.md", "png": "trial.png"}, force=force, inputs=[scenario_path])
    pop, result = simulate_trial(sc, workers=workers, progress=progress)
    summary = result.summarize()
    scale = 60.0 if sc.time_unit == "min" else 1.0
    folder.write_csv("summary", summary, index=False)
    folder.write_csv("subjects", result.subjects, index=False)
    folder.write_csv("timecourses", result.timecourses, index=False)

    plt = _agg()
    has_fractions = bool((summary["statistic"] == "fraction").any())
    ncol = 2 if has_fractions else 1
    fig, axes = plt.subplots(1, ncol, figsize=(6.5 * ncol, 4.2), squeeze=False, layout="constrained")
    from ..plot import ribbon
    ax = ribbon(result, sc.plot_output, ax=axes[0, 0], time_unit=sc.time_unit)
    model = sc.groups[0][0].model
    ax.set_ylabel(_unit_label(model, sc.plot_output))
    ax.set_xlabel(f"time ({sc.time_unit})")
    ax.set_title(f"{sc.plot_output}: median and 5-95 %", fontsize="medium")
    if has_fractions:
        _endpoint_bars(axes[0, 1], summary, result.arms)
        axes[0, 1].set_title("endpoints", fontsize="medium")
    fig.suptitle(sc.title)
    folder.save_figure("png", fig, dpi=100)
    plt.close(fig)

    shown = summary.copy()
    time_rows = shown["unit"] == "h"
    if scale != 1.0:
        shown.loc[time_rows, ["estimate", "lower", "upper"]] *= scale
        shown.loc[time_rows, "unit"] = "min"
    for col in ("estimate", "lower", "upper"):
        frac = shown["statistic"] == "fraction"
        shown[col] = shown[col].astype(object)
        shown.loc[frac, col] = [f"{100 * v:.1f} %" for v in summary.loc[frac, col]]
    p = sc.population
    text = [f"# {sc.title}", "",
            f"`pkpd trial {Path(scenario_path).name}`: {sc.model_label}; {len(result.arms)} arm(s) x "
            f"{result.n_subjects} virtual subjects (the same subjects in every arm; `pkpd.Population.virtual`, "
            f"ancestry {p['ancestry']}, population seed {p['seed']}; trial seed {sc.seed}). Simulated in "
            f"{result.elapsed:.1f} s" + (f" on {workers} Dask workers" if workers else "") + ".", "",
            "Fractions with 95 % Wilson intervals; times and values as medians with distribution-free 95 % "
            "intervals (a median time is inf when fewer than half the subjects reached the event).", "",
            markdown_table(shown), "", "![trial](trial.png)", "",
            "Files: `summary.csv` (this table, times in h), `subjects.csv` (one row per subject and arm), "
            "`timecourses.csv` (quantiles per arm and time, TIME in h).", ""]
    folder.write_text("md", "\n".join(text))
    return folder.files
