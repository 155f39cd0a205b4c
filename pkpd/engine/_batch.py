"""Predictions for many parameter sets of one dataset in one batched simulation.

Finite-difference derivatives need the model at many nearby parameter sets. Replicating the dataset
(copy ``j`` holds every subject under new IDs) and giving each copy its set lets the batched engine
compute them all in one call, so a derivative costs about one integration instead of one per set.
Used by the individual fits (:mod:`pkpd.estimation.fit`) and the population estimation
(:mod:`pkpd.population`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..io import Dataset
from ..errors import ParameterError
from ._bolus_batch import BolusBatch, pick_outputs
from .simulation import _choose_method, _options, _Prepared, _record_params

__all__ = ["BatchPredictor", "ODE_RTOL", "ODE_ATOL"]

#: ODE tolerances inside estimation: tight, so that finite-difference derivatives of objectives are not
#: dominated by integration error.
ODE_RTOL, ODE_ATOL = 1e-9, 1e-12
#: The compiled engine's DOP853 runs at the asked ``rtol`` times this: its error estimate is optimistic on long steps,
#: so that at rtol 1e-8 its largest error (2.9e-7 over 2000 two-compartment subjects, 10 samples in 36 h) exceeds
#: Dormand-Prince 5(4)'s (4.7e-9); at rtol 1e-10 it is below (1.7e-9; 99th percentile 4e-11 vs 2.8e-9) in half the
#: time (tests/unit/test_compiled_engine.py, benchmarks/bench_foce.py).
DOP853_RTOL_FACTOR = 1e-2
#: :attr:`BatchPredictor._boluses` before its first call
_UNBUILT = object()


class BatchPredictor:
    """Model ``output`` at the records ``rows`` of ``data`` for parameter sets given together.

    Parameters
    ----------
    model : Model
    data : Dataset
    output : str or array of str
        The model output predicted, or one output name per row of ``rows``.
    rows : array of int
        Record positions (in ``data.events``) to return, typically the observations.
    engine : {"auto", "analytic", "ode", "compiled"}
        As ``method`` of :func:`pkpd.simulate`; ``"compiled"`` is the ODE engine with ``solver="dop853"`` (the
        model's kernel compiled by numba, :mod:`pkpd.engine._compiled`, taking eighth-order steps: at these
        tight tolerances about a fifth of Dormand-Prince 5(4)'s), at ``rtol`` times :data:`DOP853_RTOL_FACTOR`.
    rtol : float
        Relative tolerance of the ODE engine (absolute: :data:`ODE_ATOL`).
    """

    def __init__(self, model, data: Dataset, output: str, rows, engine: str = "auto", rtol: float = ODE_RTOL):
        self.model, self.rows, self.engine = model, np.asarray(rows), engine
        self.rtol = rtol * DOP853_RTOL_FACTOR if engine == "compiled" else rtol
        self.output = output if isinstance(output, str) else np.asarray(output, dtype=object)
        self.solver = "dop853" if engine == "compiled" else "auto"
        self.method = _choose_method(model, "ode" if engine == "compiled" else engine)
        self.uses_ode = self.method == "ode"
        self.data, self.events = data, data.events
        self.rank, ids = pd.factorize(self.events["ID"])
        self.ids, self.n_subjects = np.asarray(ids), len(ids)
        self.defaults = {p.name: p.default for p in model.parameters}
        self._lower = np.array([p.lower for p in model.parameters], dtype=float)[:, None, None]
        self._upper = np.array([p.upper for p in model.parameters], dtype=float)[:, None, None]
        self._plans = {}
        self._boluses = None if self.method != "analytic" else _UNBUILT

    def __call__(self, sets, record_params=None, carry: str = "nocb") -> np.ndarray:
        """Predictions (len(sets), len(rows)); each set maps parameter names to a value for every subject
        or an array over subjects (in order of first appearance); missing parameters take their defaults.

        ``record_params`` (optional) holds parameters that vary within subjects, as in :func:`pkpd.simulate`:
        one mapping per set (or one mapping for every set) of names to arrays over the dataset's records.
        A set whose mapping lacks a name that another set has takes its subject-level value there."""
        k, n = len(sets), self.n_subjects
        block = np.empty((len(self.defaults), k, n))
        given = set().union(*sets)
        for i, (name, default) in enumerate(self.defaults.items()):
            if name not in given:
                block[i] = default
                continue
            for j, s in enumerate(sets):
                block[i, j] = s.get(name, default)
        return self._predict(block, given, sets, record_params, carry)

    def stacked(self, values, k: int) -> np.ndarray:
        """:meth:`__call__` for ``k`` sets given stacked: ``values`` maps names to a scalar (every subject of every set)
        or an array over the subjects of each set in turn, ``(k * n_subjects,)``."""
        block = np.empty((len(self.defaults), k * self.n_subjects))
        for i, (name, default) in enumerate(self.defaults.items()):
            block[i] = values.get(name, default)
        block = block.reshape(len(self.defaults), k, self.n_subjects)
        return self._predict(block, values.keys(), None, None, "nocb")

    def _predict(self, block, given, sets, record_params, carry):
        """The predictions for the parameters ``block`` (parameters, sets, subjects); ``given``: the names the sets
        gave (the others are defaults); ``sets``: as given to :meth:`__call__` (read with ``record_params``)."""
        k, n = block.shape[1:]
        columns = dict(zip(self.defaults, block.reshape(len(self.defaults), k * n)))
        # bounds and finiteness, as simulate() checks them: all sets at once, and set by set by resolve_params (which
        # names the value) where they fail
        if np.isfinite(block).all() and (block >= self._lower).all() and (block <= self._upper).all():
            p = columns
        else:
            for j in range(k):             # the first set that fails, its subject named by its dataset ID
                self.model.resolve_params(pd.DataFrame({"ID": self.ids, **dict(zip(self.defaults, block[:, j]))}))
            _, p = self.model.resolve_params(columns)
        if record_params is None and self._boluses is not None:
            if self._boluses is _UNBUILT:
                self._boluses = BolusBatch.of(self.model, self.data, self.rank, self.rows)
            out = None if self._boluses is None else self._boluses(p, k, self.output, given)
            if out is not None:
                return out
        plan, options = self._plan(k)
        if record_params is None:
            res = plan.predict(p, options)
        else:
            record_params = _record_params(self.model, self._replicate(sets, record_params), k * len(self.events))
            first_row = np.unique(plan.subj_of_record, return_index=True)[1]
            p = dict(p, **{name: v[first_row] for name, v in record_params.items()})
            res = plan.predict(p, options, record_params=record_params, carry=carry)
        return pick_outputs(self.output, lambda name: np.asarray(res[name], dtype=float).reshape(
            k, len(self.events))[:, self.rows], (k, len(self.rows)))

    def _plan(self, k):
        """The general route for ``k`` sets: the dataset replicated ``k`` times (copy ``j``: every record, IDs
        ``j * n + rank + 1``), prepared for the engine once, and the engine's options."""
        if k not in self._plans:
            n, m = self.n_subjects, len(self.events)
            table = self.events.iloc[np.tile(np.arange(m), k)].reset_index(drop=True)
            table["ID"] = np.repeat(np.arange(k) * n, m) + np.tile(self.rank, k) + 1
            # copies of a validated dataset with fresh IDs are valid by construction: a Dataset, checked and
            # chunked once, its compiled schedules kept (the objective's hot path predicts from arrays)
            self._plans[k] = (
                _Prepared(self.model, Dataset(table), self.method, n_names=len(self.model.outputs),
                          keep_schedules=True),
                _options(self.model, self.method, self.rtol, ODE_ATOL, self.solver, False, self.events))
        return self._plans[k]

    def _replicate(self, sets, record_params):
        """Per-record arrays of every set, concatenated in the order of the replicated table."""
        if isinstance(record_params, Mapping):
            record_params = [record_params] * len(sets)
        if len(record_params) != len(sets):
            raise ParameterError(f"record_params: expected one mapping per parameter set ({len(sets)}), "
                             f"got {len(record_params)}")
        names = list(dict.fromkeys(name for rp in record_params for name in rp))
        n_rec = len(self.events)
        out = {}
        for name in names:
            parts = []
            for s, rp in zip(sets, record_params):
                if name in rp:
                    parts.append(np.asarray(rp[name], dtype=float))
                else:
                    value = s.get(name, self.defaults.get(name, np.nan))
                    parts.append(np.broadcast_to(np.asarray(value, dtype=float), (self.n_subjects,))[self.rank])
                if parts[-1].shape != (n_rec,):
                    raise ParameterError(f"record_params[{name!r}]: expected one value per dataset record ({n_rec}), "
                                     f"got shape {parts[-1].shape}")
            out[name] = np.concatenate(parts)
        return out
