"""Result values returned by pkpd: frozen, tidy, plottable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

__all__ = ["SimulationResult"]


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Simulated outputs and states, one row per (subject, time).

    Attributes
    ----------
    model : str
        Name of the simulated model.
    id, time : ndarray
        Subject ID and time (h) of each row.
    values : mapping of str to ndarray
        Outputs (e.g. ``CP``) then states (e.g. ``CENTRAL``), each aligned with ``id`` and ``time``.
    method : str
        ``"analytic"`` or ``"ode"``.
    units : mapping of str to str
        Unit of each column.

    Examples
    --------
    >>> import pkpd
    >>> from pkpd.models import OneCompartment
    >>> result = OneCompartment().simulate(pkpd.Bolus(100), [0, 6], {"CL": 5, "V": 50})
    >>> result["CP"].round(4)
    array([2.    , 1.0976])
    >>> result.to_frame()
       ID  TIME        CP     CENTRAL
    0   1   0.0  2.000000  100.000000
    1   1   6.0  1.097623   54.881164
    """

    model: str
    id: np.ndarray
    time: np.ndarray
    values: Mapping[str, np.ndarray]
    method: str
    units: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        for arr in (self.id, self.time, *self.values.values()):
            if isinstance(arr, np.ndarray):
                arr.flags.writeable = False

    def __len__(self) -> int:
        return len(self.time)

    def __getitem__(self, name: str) -> np.ndarray:
        """Column ``name`` (an output or a state) as a read-only array."""
        return self.values[name]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.values)

    def to_frame(self) -> pd.DataFrame:
        """Long tidy DataFrame with columns ``ID, TIME`` then outputs and states."""
        data = {"ID": self.id, "TIME": self.time}
        data.update(self.values)
        return pd.DataFrame({k: np.asarray(v) for k, v in data.items()})

    def plot(self, output: str | None = None, ax=None, log: bool = False, *, label: str | None = None, **line_kw):
        """Plot ``output`` (default: the first output) against time, one line per subject; returns the Axes.

        ``label`` names the curve in the legend (with several subjects ``"<label>, ID <id>"``), so that regimens
        drawn on the same Axes can be told apart; without it the lines are labelled by subject ID. Other keywords
        go to ``Axes.plot``.

        >>> import pkpd
        >>> from pkpd.models import OneCompartment
        >>> model, p = OneCompartment(), {"CL": 2.0, "V": 10.0}
        >>> ax = model.simulate(pkpd.Bolus(100), [0, 2, 4], p).plot(label="100 mg")
        >>> ax = model.simulate(pkpd.Bolus(200), [0, 2, 4], p).plot(ax=ax, label="200 mg", ls="--")
        >>> [line.get_label() for line in ax.lines]
        ['100 mg', '200 mg']
        """
        import matplotlib.pyplot as plt

        name = output or self.columns[0]
        if ax is None:
            _, ax = plt.subplots()
        frame = pd.DataFrame({"ID": self.id, "TIME": self.time, name: self.values[name]})
        several = frame["ID"].nunique() > 1
        for sid, g in frame.groupby("ID", sort=False):
            text = str(sid) if label is None else (f"{label}, ID {sid}" if several else label)
            ax.plot(g["TIME"], g[name], label=text, **line_kw)
        ax.set_xlabel("time (h)")
        unit = self.units.get(name, "")
        ax.set_ylabel(f"{name} ({unit})" if unit else name)
        if log:
            ax.set_yscale("log")
        if len(ax.lines) <= 10:
            ax.legend(title="ID" if label is None else None, fontsize="small")
        return ax

    def __repr__(self) -> str:
        n_id = len(pd.unique(np.asarray(self.id)))
        return (
            f"SimulationResult(model={self.model}, method={self.method}, subjects={n_id}, rows={len(self)}, "
            f"columns={list(self.columns)})"
        )

    def _repr_html_(self) -> str:
        return f"<p>{self!r}</p>" + self.to_frame().head(20).to_html(index=False)
