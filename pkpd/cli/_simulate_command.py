"""``pkpd simulate FILE``: run a simulate scenario, draw it, and write its table, summary and figure."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .._internal.output import OutputFolder
from ._tables import _agg, _unit_label, markdown_table

__all__ = ["run_simulate"]


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
