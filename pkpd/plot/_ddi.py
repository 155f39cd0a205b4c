"""Drug-drug interaction time course: the victim's concentration and the enzyme amount on twin axes."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from ._common import Table, artist_kw, mark_doses, new_axes, time_factor, time_label, value_factor, with_unit

__all__ = ["ddi"]


def _resolve(table: Table, name: str, suffixes, what: str) -> str:
    """``name`` if it is a column, else ``name.<suffix>`` for the first suffix that is (``"MDZ"`` -> ``MDZ.CP``)."""
    if name in table:
        return name
    for suffix in suffixes:
        if f"{name}.{suffix}" in table:
            return f"{name}.{suffix}"
    raise ParameterError(f"ddi: no {what} output {name!r} in the result; available: {table.columns}")


def _enzyme_label(enzyme: str) -> str:
    head, _, pool = enzyme.partition(".")
    pool = {"LIVER": "liver", "GUT": "gut wall"}.get(pool, pool.lower())
    return f"{head} {pool}".strip()


def ddi(result, victim: str | None = None, enzyme: str = "CYP3A4.LIVER", ax=None, *, time_unit: str = "d",
        unit: str | None = None, doses=None, log: bool = False, victim_color="tab:blue", enzyme_color="tab:red",
        **plot_kw):
    """DDI time course: the victim drug's concentration (left axis) and the enzyme amount relative to its
    baseline (right, twin axis).

    Parameters
    ----------
    result : SimulationResult or DataFrame
        One subject of a composed model with an enzyme turnover (e.g. midazolam + rifampicin +
        :func:`pkpd.drugs.cyp3a4`).
    victim : str, optional
        Victim output (``"MDZ.CP"``) or drug prefix (``"MDZ"`` -> ``MDZ.CP``); default the first ``<drug>.CP``.
    enzyme : str
        Enzyme output (relative to baseline, 1 = uninduced) or enzyme prefix (``"CYP3A4"`` -> ``CYP3A4.LIVER``).
    ax : Axes, optional
        The victim's Axes; the enzyme goes on ``ax.twinx()``.
    time_unit : str
        Unit of the time axis (``"d"``, ``"h"``, ``"week"``, ...; the result's times, h, are converted); default
        days.
    unit : str, optional
        Unit of the victim's concentration (e.g. ``"ng/mL"``).
    doses : Regimen, event table or sequence of float, optional
        Doses to mark (e.g. the inducer's regimen); plain numbers are dose times in ``time_unit``.
    log : bool
        Logarithmic victim axis.
    victim_color, enzyme_color
        Line (and axis label) colours.
    **plot_kw
        Passed to ``Axes.plot`` of the victim's concentration, overriding the defaults (a ``color`` replaces
        ``victim_color``, axis label included; a ``label`` replaces the victim's name in the legend).

    Returns
    -------
    ndarray of Axes
        ``[ax, twin]``: the victim's Axes and the enzyme's twin Axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, pkpd
    >>> from pkpd import drugs
    >>> mdz, rif = drugs.midazolam().with_route("oral"), drugs.rifampicin()
    >>> model = pkpd.compose(*mdz.components(), *rif.components(), drugs.cyp3a4(inducers=[rif]))
    >>> rifampicin = rif.dose(600, "oral", time=24, ii=24, addl=6)
    >>> res = model.simulate(rifampicin + mdz.dose(15, "oral", ii=24, addl=9), np.linspace(0, 240, 241),
    ...                      {**mdz.params, **rif.params})
    >>> ax, twin = pkpd.plot.ddi(res, victim="MDZ", enzyme="CYP3A4", doses=rifampicin, unit="ng/mL")
    >>> ax.get_ylabel(), twin.get_ylabel()
    ('MDZ.CP (ng/mL)', 'CYP3A4 liver (relative to baseline)')
    """
    table = Table(result, "ddi")
    if len(table.ids) > 1:
        raise ParameterError(f"ddi: the result holds {len(table.ids)} subjects; give one subject")
    if victim is None:
        cps = [c for c in table.columns if c.endswith(".CP") or c == "CP"]
        if not cps:
            raise ParameterError(f"ddi: no concentration output (<drug>.CP) in the result; available: {table.columns}")
        victim = cps[0]
    victim = _resolve(table, victim, ("CP",), "victim")
    enzyme = _resolve(table, enzyme, ("LIVER", "GUT"), "enzyme")
    factor, shown_unit = value_factor(table.unit(victim), unit, victim, "ddi")
    scale = time_factor(time_unit)
    if ax is None:
        _, ax = new_axes(figsize=(7.5, 4))
    twin = ax.twinx()
    t = table.time * scale
    victim_kw = artist_kw({"color": victim_color, "label": victim}, plot_kw)
    victim_color = victim_kw["color"]
    ax.plot(t, table.values(victim) * factor, **victim_kw)
    twin.plot(t, table.values(enzyme), color=enzyme_color, linewidth=2, label=_enzyme_label(enzyme))
    twin.axhline(1.0, color=enzyme_color, linestyle=":", linewidth=0.8, label="enzyme baseline")
    mark_doses(ax, doses, scale, color="tab:orange", label="perpetrator dose", alpha=0.15)
    ax.set_xlabel(time_label(time_unit))
    ax.set_ylabel(with_unit(victim, shown_unit), color=victim_color)
    twin.set_ylabel(f"{_enzyme_label(enzyme)} (relative to baseline)", color=enzyme_color)
    ax.tick_params(axis="y", colors=victim_color)
    twin.tick_params(axis="y", colors=enzyme_color)
    twin.set_ylim(bottom=0.0)
    if log:
        ax.set_yscale("log")
    handles, labels = [], []
    for a in (ax, twin):
        h, lab = a.get_legend_handles_labels()
        handles += h
        labels += lab
    ax.legend(handles, labels, fontsize="small", loc="upper right")
    return np.asarray([ax, twin], dtype=object)
