"""The naive baseline of the composed-model benchmarks: one ``scipy.integrate.solve_ivp`` per subject and
dosing interval, on the composed model's own right-hand side for that subject.

Doses are the regimen's records with the model's bioavailability ``F`` and lag ``ALAG`` per compartment
(``model.dosing_matrices``), as the batched engine applies them; bolus records (with ADDL/II) only.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from scipy.integrate import solve_ivp


def lsoda_loop(model, params, regimen, times, outputs, *, rtol=1e-6, atol=1e-9) -> dict:
    """``{output: array (subjects, len(times))}`` from a per-subject ``solve_ivp(LSODA)`` loop.

    ``outputs`` are model outputs or state names; ``params`` a DataFrame with one row per subject.
    """
    times = np.asarray(times, dtype=float)
    S = len(model.states)
    _, all_p = model.resolve_params(params)
    records = [(d.time + k * d.ii, model.state_index(d.cmt), d.amt) for d in regimen for k in range(d.addl + 1)]
    out = {k: np.empty((len(params), len(times))) for k in outputs}
    zero = np.zeros((1, S))
    for i in range(len(params)):
        p = {k: v[i: i + 1] for k, v in all_p.items()}
        dosing = model.dosing_matrices(p, 1)
        doses = [(t + dosing["ALAG"][0, c], c, amt * dosing["F"][0, c]) for t, c, amt in records]

        def rhs(t, y):
            return model.rhs(np.array([t]), y[None, :], p, zero)[0]

        y = model.initial_state(p)[0].copy()
        bounds = sorted({d[0] for d in doses if d[0] < times[-1]}) + [times[-1]]
        for a, b in zip(bounds[:-1], bounds[1:]):
            for t_d, c, amt in doses:
                if t_d == a:
                    y[c] += amt
            last = b == times[-1]
            mask = (times >= a) & ((times <= b) if last else (times < b))
            t_eval = times[mask] if last else np.append(times[mask], b)
            sol = solve_ivp(rhs, (a, b), y, method="LSODA", rtol=rtol, atol=atol, t_eval=t_eval)
            if not sol.success:
                raise RuntimeError(f"LSODA failed for subject {i}: {sol.message}")
            states = sol.y[:, : mask.sum()].T
            if states.size:
                values = model.output(states[None], p)
                for k in outputs:
                    out[k][i, mask] = values[k][0] if k in values else states[:, model.state_index(k)]
            y = sol.y[:, -1].copy()
    return out


def median_time(fn, repeats):
    """Median wall time of ``repeats`` calls of ``fn`` (no warm-up), and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result
