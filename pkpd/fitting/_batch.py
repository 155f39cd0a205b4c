"""Predictions for many parameter sets of one dataset in one batched simulation.

Finite-difference derivatives need the model at many nearby parameter sets. Replicating the dataset
(copy ``j`` holds every subject under new IDs) and giving each copy its set lets the batched engine
compute them all in one call, so a derivative costs about one integration instead of one per set.
Used by the individual fits (:mod:`pkpd.fitting.fit`) and the population estimation
(:mod:`pkpd.population`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io import Dataset
from ..simulation import _choose_method, simulate

__all__ = ["BatchPredictor", "ODE_RTOL", "ODE_ATOL"]

#: ODE tolerances inside estimation: tight, so that finite-difference derivatives of objectives are not
#: dominated by integration error.
ODE_RTOL, ODE_ATOL = 1e-9, 1e-12


class BatchPredictor:
    """Model ``output`` at the records ``rows`` of ``data`` for parameter sets given together.

    Parameters
    ----------
    model : Model
    data : Dataset
    output : str
        The model output predicted.
    rows : array of int
        Record positions (in ``data.events``) to return, typically the observations.
    engine : {"auto", "analytic", "ode"}
        As :func:`pkpd.simulate`.
    rtol : float
        Relative tolerance of the ODE engine (absolute: :data:`ODE_ATOL`).
    """

    def __init__(self, model, data: Dataset, output: str, rows, engine: str = "auto", rtol: float = ODE_RTOL):
        self.model, self.output, self.rows, self.engine, self.rtol = model, output, np.asarray(rows), engine, rtol
        self.uses_ode = _choose_method(model, engine) == "ode"
        self.events = data.events
        self.rank, ids = pd.factorize(self.events["ID"])
        self.ids, self.n_subjects = np.asarray(ids), len(ids)
        self.defaults = {p.name: p.default for p in model.parameters}
        self._tables = {}

    def __call__(self, sets) -> np.ndarray:
        """Predictions (len(sets), len(rows)); each set maps parameter names to a value for every subject
        or an array over subjects (in order of first appearance); missing parameters take their defaults."""
        k, n = len(sets), self.n_subjects
        if k not in self._tables:
            self._tables[k] = pd.concat([self.events.assign(ID=j * n + self.rank + 1) for j in range(k)],
                                        ignore_index=True)
        columns = {name: np.concatenate([np.broadcast_to(np.asarray(s.get(name, default), dtype=float), (n,))
                                         for s in sets])
                   for name, default in self.defaults.items()}
        frame = pd.DataFrame({"ID": np.arange(1, k * n + 1), **columns})
        tol = {"rtol": self.rtol, "atol": ODE_ATOL} if self.uses_ode else {}
        res = simulate(self.model, self._tables[k], frame, method=self.engine, **tol)
        return np.asarray(res[self.output], dtype=float).reshape(k, len(self.events))[:, self.rows]
