"""Estimation's predictions of a linear model dosed by boluses alone: one compiled scan for every parameter set.

:class:`~pkpd.engine._batch.BatchPredictor`'s general route replicates the dataset once per number of parameter sets
(a new table, validated, its schedule compiled) and computes every record of every copy. When the dosing parameters
(``F``, ``ALAG``, ``R``, ``D`` of a compartment) keep their defaults and every input is a bolus, the schedule of
one copy serves them all: its inputs and the requested records are tiled over the sets, the subjects offset, and the
compiled bolus scan (:func:`pkpd.engine._closed_form.bolus_scan`) computes the states at the requested records
only. The same kernel and the same arithmetic per subject as the general route: equal results, to the bit
(``tests/unit/test_bolus_batch.py``). What this route does not handle -- a degenerate or complex eigensystem, an
initial state, a prediction that is not finite -- it returns as None, and the general route computes or reports it.
"""

from __future__ import annotations

import numpy as np

from ..models import DOSING_PARAMETER, Model
from .._internal.columns import EVENT_COLUMNS
from ._closed_form import bolus_plan, bolus_scan, empty_states, _numba
from ._schedule import compile_schedule
from .simulation import _check_compartments

__all__ = ["BolusBatch", "pick_outputs"]


class BolusBatch:
    """States and outputs of ``model`` at the records ``rows`` of ``events`` for ``k`` parameter sets at once.

    Built by :meth:`of` (None where the route does not apply); called with the parameters of every set,
    ``{name: array (k * n_subjects,)}`` (set by set, subjects in order of their first record), ``k``, the output
    name(s) and the names the sets gave.
    """

    def __init__(self, model, n_subjects, cache, plan, selected):
        self.model, self.cache, self.n_subjects = model, cache, n_subjects
        # the dosing parameters (F1, ALAG1 ...) the schedule was compiled with: their defaults
        self.dosing = {p.name: float(p.default) for p in model.parameters if DOSING_PARAMETER.match(p.name)}
        self.n_inputs = len(plan[0])
        ctx, (lo, hi, t_ref) = cache["structure"], cache["ranges"]
        self.inputs = plan[:5]
        self.outputs = tuple(np.ascontiguousarray(a[selected]) for a in plan[5:])     # subject, time, latest input
        self.zero_args = (ctx, lo[selected], hi[selected], plan[6][selected], plan[5][selected], None,
                          t_ref[selected])
        self.custom_x0 = type(model).initial_state is not Model.initial_state
        self._tiled = {}

    @classmethod
    def of(cls, model, data, subject_index, rows) -> "BolusBatch | None":
        """The route for the :class:`~pkpd.io.Dataset` ``data`` (``subject_index``: each record's subject, in order of
        first appearance) at the records ``rows``, or None where it does not apply (a nonlinear model, other
        inputs than boluses, numba missing)."""
        if not model.linear or type(model).dosing_matrices is not Model.dosing_matrices or not _numba():
            return None
        _check_compartments(model, data)
        events = data.events
        n = int(subject_index.max()) + 1 if len(subject_index) else 0
        defaults = {p.name: np.full(n, float(p.default)) for p in model.parameters}
        schedule = compile_schedule(events[list(EVENT_COLUMNS)], model, np.asarray(subject_index),
                                    model.dosing_matrices(defaults, n), ode=False)
        cache = {}
        plan = bolus_plan(schedule, cache)
        if plan is None:
            return None
        output_of_record = np.full(len(events), -1)
        output_of_record[schedule.out_row] = np.arange(len(schedule.out_row))
        selected = output_of_record[np.asarray(rows)]
        if np.any(selected < 0):                       # (every record is an output; a guard, not a case)
            return None
        return cls(model, n, cache, plan, selected)

    def __call__(self, p: dict, k: int, output, given=()) -> np.ndarray | None:
        """``output`` (a name, or one name per row) at the rows for each of the ``k`` sets, ``(k, rows)``; None
        where the general route must compute it. ``given``: the names the sets gave values (the others are
        defaults)."""
        model = self.model
        if any(name in given and np.any(p[name] != value) for name, value in self.dosing.items()):
            return None                                # (other doses than the schedule's)
        A = np.asarray(model.system_matrix(p), dtype=float)
        flows = (A != 0).any(axis=0)
        if self.custom_x0 and np.any(np.asarray(model.initial_state(p), dtype=float) != 0):
            return None
        plan, subject = self._plan(k)
        with np.errstate(over="ignore"):
            states = bolus_scan(A, plan, flows)
            if states is None:
                return None
            m = len(self.outputs[0])
            rows, keep = empty_states(A, *self.zero_args, cache=self.cache, flows=flows)
            if rows is not None:
                by_set = states.reshape(k, m, -1)
                by_set[:, rows] = np.where(keep, by_set[:, rows], 0.0)
            if model.nonnegative:
                np.maximum(states, 0.0, out=states)
            outs = model.output(states, {name: v[subject] for name, v in p.items()})
        values = pick_outputs(output, lambda name: np.asarray(outs[name], dtype=float).reshape(k, m), (k, m))
        return values if np.all(np.isfinite(values)) else None      # (inf: the general route names the dose)

    def _plan(self, k):
        """The scan's arguments for ``k`` copies (inputs and outputs tiled, subjects and inputs offset), and the row of
        the parameter arrays of each output."""
        if k not in self._tiled:
            n, n_in = self.n_subjects, self.n_inputs
            subj, cmt, amount, time, group = self.inputs
            out_subj, out_time, latest = self.outputs
            copies = np.arange(k)
            subj_k = (subj[None, :] + n * copies[:, None]).ravel()
            group_k = (group[None, :] + n_in * copies[:, None]).ravel()
            out_k = (out_subj[None, :] + n * copies[:, None]).ravel()
            latest_k = np.where(latest[None, :] >= 0, latest[None, :] + n_in * copies[:, None], -1).ravel()
            plan = (subj_k, np.tile(cmt, k), np.tile(amount, k), np.tile(time, k), group_k, out_k,
                    np.tile(out_time, k), latest_k)
            self._tiled[k] = (tuple(np.ascontiguousarray(a) for a in plan), out_k)
        return self._tiled[k]


def pick_outputs(output, values_of, shape) -> np.ndarray:
    """The predictions ``shape`` (sets, rows) of ``output``: one name, or one name per row, each taken from
    ``values_of(name)`` (an array of ``shape``)."""
    if isinstance(output, str):
        return values_of(output)
    out = np.empty(shape)
    for name in np.unique(output):
        which = output == name
        out[:, which] = values_of(name)[:, which]
    return out
