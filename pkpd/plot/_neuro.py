"""The status-epilepticus panel: surface GABA-A receptors, E_GABA, drug effect and seizure activity over time."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import ParameterError
from ..physiology import Chloride, GabaAReceptors, Seizure
from ._common import Table, artist_kw, as_axes_array, mark_doses, new_axes, time_factor, time_label, value_factor

__all__ = ["se_panel", "SE_PANELS"]

#: Panels :func:`se_panel` can draw, in their default order, with the outputs they read.
SE_PANELS = {
    "concentration": "plasma <drug>.CP of the drugs with an effect site (and <drug>_BRAIN.CU, dashed)",
    "receptors": "GABAA.SURFACE_A235 (or ``receptor``)",
    "e_gaba": Chloride.E_GABA,
    "effect": "<X>.EFFECT and <X>.BLOCK outputs of the drugs (or ``effects``)",
    "activity": Seizure.ACTIVITY,
}

_DEFAULT_PANELS = ("receptors", "e_gaba", "effect", "activity")


def _effect_outputs(table: Table) -> list:
    return [c for c in table.columns
            if not c.startswith("SEIZURE.") and (c.endswith(".EFFECT") or c.endswith(".BLOCK"))]


def _concentration_outputs(table: Table) -> list:
    """``<drug>.CP`` of every drug with an effect site -- its unbound brain ECF ``<drug>_BRAIN.CU`` (drawn too) or
    an effect compartment ``<drug>_EFFECT.CE``."""
    out = []
    for c in table.columns:
        if c.endswith(".CP"):
            drug = c[:-3]
            brain = f"{drug}_BRAIN.CU" in table
            if brain or f"{drug}_EFFECT.CE" in table:
                out.append((c, "-"))
                if brain:
                    out.append((f"{drug}_BRAIN.CU", "--"))
    return out


def se_panel(result, axes=None, *, panels=_DEFAULT_PANELS, time_unit: str = "min", doses=None, effects=None,
             receptor: str = GabaAReceptors.SURFACE_A235, log_effect: bool = False, concentration_unit: str = "ng/mL",
             colors=None, **plot_kw):
    """Stacked panels of a status-epilepticus simulation: surface GABA-A receptors, E_GABA, drug effect and
    seizure activity over time (:func:`pkpd.se.scenarios.se_model`).

    Parameters
    ----------
    result : SimulationResult, DataFrame, or mapping of label to either
        A simulation of :func:`pkpd.se.scenarios.se_model` (one subject; time in h, onset at 0), or the frame
        of :func:`pkpd.se.scenarios.simulate_patient` / :func:`pkpd.se.demo.typical_patient`. A mapping (e.g.
        ``{"5 min": ..., "30 min": ...}``) overlays several, one colour each, labelled in the legend.
    axes : array_like of Axes, optional
        One per panel; default a new column of panels sharing the time axis.
    panels : sequence of str
        Which panels, in order, from :data:`SE_PANELS`: ``"concentration"``, ``"receptors"``, ``"e_gaba"``,
        ``"effect"``, ``"activity"``. Default all but the concentration.
    time_unit : str
        Unit of the time axis (time after seizure onset); default minutes.
    doses : Regimen, event table or sequence of float, or mapping of label to one, optional
        Doses to mark on every panel (:func:`pkpd.se.scenarios.treat` regimens; the zero-amount onset record is not
        marked; plain numbers are times in ``time_unit``). With a mapping of results, a mapping with the same
        labels marks each in its colour.
    effects : sequence of str, optional
        Effect outputs (fractions of their maxima) drawn in the effect panel; default every ``*.EFFECT`` and
        ``*.BLOCK`` output present (``BZD.EFFECT``, ``KET_NMDA.BLOCK``, ``VPA_PD.EFFECT``, ...).
    receptor : str
        Receptor output of the receptors panel (a fraction of baseline).
    log_effect : bool
        Logarithmic y axis of the effect panel.
    concentration_unit : str
        Unit of the concentration panel.
    colors : sequence of colours, optional
        One per result (default the colour cycle).
    **plot_kw
        Passed to ``Axes.plot`` of every data line (not the reference lines nor the dose marks), overriding the
        defaults: e.g. ``linewidth``, ``alpha``, ``linestyle``. A ``color`` replaces ``colors`` (every result,
        and its dose marks, in that colour); a ``label`` names a single result in the first panel's legend, as
        the key of a one-entry mapping ``{label: result}`` would (with a mapping, its keys are the labels:
        ``label`` is refused).

    Returns
    -------
    ndarray of Axes
        One per panel.

    Raises
    ------
    ParameterError
        An unknown panel, or a result without an output a panel needs (the message names it).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pkpd
    >>> from pkpd import scenarios
    >>> course = scenarios.simulate_patient(10, t_end_min=60, step_min=10)
    >>> axes = pkpd.plot.se_panel(course, doses=[10])            # minutes, the time_unit
    >>> [ax.get_ylabel().splitlines()[0] for ax in axes]
    ['Surface GABA-A α2/3/5', 'E_GABA (mV)', 'Drug effect', 'Seizure activity']
    """
    from ..physiology.seizure import E_GABA0, TERMINATION_THRESHOLD

    panels = [panels] if isinstance(panels, str) else list(panels)
    unknown = [p for p in panels if p not in SE_PANELS]
    if unknown or not panels:
        raise ParameterError(f"se_panel: unknown panel(s) {unknown or panels}; choose from {list(SE_PANELS)}")
    plot_kw = artist_kw({}, plot_kw)                   # matplotlib's aliases normalised (c -> color, lw -> ...)
    user_label, user_color = plot_kw.pop("label", None), plot_kw.pop("color", None)
    if user_label is not None and isinstance(result, Mapping):
        raise ParameterError("se_panel: label= names a single result; the keys of a mapping of results are "
                             "their labels")
    sources = dict(result) if isinstance(result, Mapping) else {user_label: result}
    tables = {label: Table(src, "se_panel") for label, src in sources.items()}
    needs = {"receptors": [receptor], "e_gaba": [Chloride.E_GABA], "activity": [Seizure.ACTIVITY]}
    for label, table in tables.items():
        if len(table.ids) > 1:
            raise ParameterError(f"se_panel: the result holds {len(table.ids)} subjects; give one subject "
                                 "(or a mapping of single-subject results)")
        for p in panels:
            missing = [o for o in needs.get(p, []) if o not in table]
            if missing:
                raise ParameterError(f"se_panel: the {p!r} panel needs output {missing[0]!r}, which the result "
                                     f"{'' if label is None else repr(label) + ' '}does not have; leave the panel "
                                     f"out with panels=")
        if effects is not None:
            table.require(list(effects))
    if axes is None:
        _, axes = new_axes(len(panels), 1, figsize=(7.5, 2.1 * len(panels) + 0.6), sharex=True, squeeze=False)
    axes = as_axes_array(axes, len(panels), "se_panel")[:len(panels)]
    by_panel = dict(zip(panels, axes))
    scale = time_factor(time_unit)
    if user_color is not None:
        colors = [user_color] * len(tables)
    elif colors is None:
        colors = [f"C{k % 10}" for k in range(len(tables))]

    def line_kw(color, label, linestyle=None):
        defaults = {"color": color, "label": label} | ({} if linestyle is None else {"linestyle": linestyle})
        return artist_kw(defaults, plot_kw)

    dose_map = doses if isinstance(doses, Mapping) else {label: doses for label in tables}
    first = axes[0]
    for k, (label, table) in enumerate(tables.items()):
        color = colors[k]
        t = table.time * scale
        name = "" if label is None else str(label)

        def legend_label(ax, text):                  # the results are named in the first panel's legend only
            return text if ax is first else "_nolegend_"

        if "concentration" in by_panel:
            ax = by_panel["concentration"]
            shown = _concentration_outputs(table)
            if not shown:
                raise ParameterError("se_panel: the 'concentration' panel needs a drug's plasma concentration "
                                     "<drug>.CP (with its <drug>_BRAIN.CU or <drug>_EFFECT.CE); none in the result")
            plasma = [o for o, style in shown if style == "-"]
            for output, style in shown:
                factor, _ = value_factor(table.unit(output), concentration_unit, output, "se_panel")
                drug = output.split(".")[0].removesuffix("_BRAIN")
                if not name:
                    text = f"{drug} {'brain unbound' if style == '--' else 'plasma'}"
                elif style == "--":
                    text = "_nolegend_"                  # named results: the y label tells plasma from brain
                else:
                    text = name if len(plasma) == 1 else f"{name}: {drug}"
                ax.plot(t, table.values(output) * factor, **line_kw(color, legend_label(ax, text), style))
        if "receptors" in by_panel:
            ax = by_panel["receptors"]
            ax.plot(t, table.values(receptor), **line_kw(color, legend_label(ax, name or receptor)))
        if "e_gaba" in by_panel:
            ax = by_panel["e_gaba"]
            ax.plot(t, table.values(Chloride.E_GABA), **line_kw(color, legend_label(ax, name or "E_GABA")))
        if "effect" in by_panel:
            ax = by_panel["effect"]
            names = list(effects) if effects is not None else _effect_outputs(table)
            for j, output in enumerate(names):
                y = table.values(output)
                if log_effect:
                    y = np.maximum(y, 1e-6)
                text = f"{name}: {output}" if (ax is first and name) else output
                ax.plot(t, y, **line_kw(color, text if (k == 0 or ax is first) else "_nolegend_",
                                        ("-", "--", "-.", ":")[j % 4]))
        if "activity" in by_panel:
            ax = by_panel["activity"]
            ax.plot(t, table.values(Seizure.ACTIVITY), **line_kw(color, legend_label(ax, name or "activity")))
        marks = dose_map.get(label) if isinstance(dose_map, Mapping) else None
        for ax in axes:
            mark_doses(ax, marks, scale, color=color if label is not None else "0.4",
                       label="dose" if (ax is first and k == 0) else None)
    labels = {
        "concentration": f"Concentration ({concentration_unit})\nplasma —, brain unbound --",
        "receptors": "Surface GABA-A α2/3/5\n(fraction of baseline)" if receptor == GabaAReceptors.SURFACE_A235
        else f"{receptor}\n(fraction of baseline)",
        "e_gaba": "E_GABA (mV)",
        "effect": "Drug effect\n(fraction of maximum)",
        "activity": "Seizure activity\n(fraction of onset)",
    }
    for p, ax in by_panel.items():
        ax.set_ylabel(labels[p])
    if "e_gaba" in by_panel:
        ax = by_panel["e_gaba"]
        ax.axhline(-50.0, color="grey", linestyle=":", linewidth=0.8, label="firing threshold (-50 mV)")
        ax.axhline(E_GABA0, color="grey", linestyle="--", linewidth=0.6, label=f"healthy ({E_GABA0:.1f} mV)")
    if "activity" in by_panel:
        ax = by_panel["activity"]
        ax.axhline(TERMINATION_THRESHOLD, color="grey", linestyle=":", linewidth=0.8,
                   label=f"termination threshold ({TERMINATION_THRESHOLD:g})")
        ax.set_ylim(-0.03, 1.05)
    if "concentration" in by_panel:
        by_panel["concentration"].set_yscale("log")
    if "effect" in by_panel and log_effect:
        by_panel["effect"].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="x-small", loc="best")
    axes[-1].set_xlabel(time_label(time_unit, "Time after seizure onset"))
    return np.asarray(axes, dtype=object)
