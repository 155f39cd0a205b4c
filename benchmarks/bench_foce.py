"""Benchmark of FOCE-I population estimation (issue 6, criterion 7).

1. Theophylline, nlme fm3Theo structure (12 subjects, 132 observations, closed form): wall time of
   ``fit_population`` without the covariance step (the median of 9 warm fits: issue 17's target <= 0.1 s) and with
   it (target <= 10 s), and the estimation hot path
   (predictions from arrays, dosing schedule compiled once per dataset) against the public ``simulate()`` per
   evaluation it replaced (issue 16: target >= 3x), medians of 5 alternating fits.
2. 200 synthetic subjects, two-compartment oral, predictions by the ODE engine -- compiled (``engine="compiled"``:
   DOP853 steps at a hundredth of the estimation's rtol) and numpy (``"ode"``: Dormand-Prince, the baseline) --,
   30 % IIV on CL, V1 and KA, 10 % proportional error, 10 samples each (issue 17 target <= 20 s); ``--quick`` skips
   it. Steps of the outer gradient in CL, V1 and KA are shifts of their random effects and simulate nothing
   (``pkpd/estimation/_eta_shift.py``); on either engine.

Prints wall times and objective evaluations per second (each evaluation = batched EBEs for every subject),
and, as the baseline in the same process, one objective evaluation at the start values computed subject by
subject (the same EBE search on one subject at a time, as an unbatched implementation would) against the
batched evaluation: the batching speed-up.

Run: ``python benchmarks/bench_foce.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import pkpd
from pkpd.population import synthetic
from pkpd.models import OneCompartmentOral, TwoCompartmentOral
from pkpd.population import PopulationModel, fit_population


def theophylline():
    ev = pkpd.load_dataset("theophylline").events
    ev["AMT"] = np.where(ev["EVID"] == 1, ev["DOSE_MGKG"], 0.0)

    def individual(th, eta):
        cl = np.exp(th["lCl"] + eta[:, 1])
        return {"KA": np.exp(th["lKa"] + eta[:, 0]), "CL": cl, "V": cl / np.exp(th["lKe"])}

    pm = PopulationModel(OneCompartmentOral(), {"lKe": -2.5, "lKa": 0.5, "lCl": -3.2}, {"KA": 0.36, "CL": 0.04},
                         pkpd.AdditiveError(0.7), individual=individual)
    return pm, pkpd.read_nonmem(ev)


def two_compartment_ode(n=200, seed=17):
    model = TwoCompartmentOral()
    typical = {"CL": 5.0, "V1": 20.0, "Q": 8.0, "V2": 60.0, "KA": 1.2}
    cohort = synthetic.cohort(model, pkpd.Bolus(500, cmt="DEPOT"), n, params=typical,
                              iiv={"CL": 0.3, "V1": 0.3, "KA": 0.3}, error=pkpd.ProportionalError(0.1),
                              design=[0.5, 1, 2, 3, 4, 6, 8, 12, 24, 36], seed=seed)

    start = {"CL": 4.0, "V1": 25.0, "KA": 1.0, "Q": 6.0, "V2": 50.0}
    pm = PopulationModel(model, start, {"CL": 0.1, "V1": 0.1, "KA": 0.1}, pkpd.ProportionalError(0.15))
    return pm, cohort.data


def run(label, pm, data, **kw):
    start = time.perf_counter()
    fit = fit_population(pm, data, **kw)
    seconds = time.perf_counter() - start
    print(f"{label}: {seconds:7.2f} s, {fit.n_evaluations} objective evaluations "
          f"({fit.n_evaluations / seconds:.1f}/s), OFV {fit.ofv:.4f}, success {fit.success}")
    return fit


def objective_ratio(pm, data, engine, n_loop=20):
    """Seconds of one cold objective evaluation batched over all subjects vs subject by subject (the first
    ``n_loop`` subjects, scaled), and the two objectives (equal when the loop covers every subject)."""
    from pkpd.io import as_dataset
    from pkpd.estimation._objective import Objective, PopData

    theta, omega, sigma = pm.theta_values, pm.omega_matrix, dict(pm.error.parameters)
    data = as_dataset(data)
    start = time.perf_counter()
    batched = Objective(pm, PopData(pm, data, engine), "FOCEI")(theta, omega, sigma)
    t_batched = time.perf_counter() - start
    ids = data.ids[:n_loop]
    start = time.perf_counter()
    looped = sum(Objective(pm, PopData(pm, data.subject(i), engine), "FOCEI")(theta, omega, sigma) for i in ids)
    t_loop = (time.perf_counter() - start) * len(data.ids) / len(ids)
    return t_batched, t_loop, batched, looped if len(ids) == len(data.ids) else None


def _through_public_simulate(self, sets, record_params=None, carry="nocb"):
    """The estimation hot path before issue 16: every evaluation builds a parameter DataFrame and calls the public
    ``pkpd.simulate`` (which re-validates the table and recompiles the dosing schedule). The baseline of
    :func:`hot_path_ratio`; subject-level parameters only."""
    import pandas as pd
    from pkpd.io import Dataset
    from pkpd.engine._batch import ODE_ATOL

    k, n, m = len(sets), self.n_subjects, len(self.events)
    table = self.events.iloc[np.tile(np.arange(m), k)].reset_index(drop=True)
    table["ID"] = np.repeat(np.arange(k) * n, m) + np.tile(self.rank, k) + 1
    columns = {name: np.concatenate([np.broadcast_to(np.asarray(s.get(name, default), dtype=float), (n,))
                                     for s in sets]) for name, default in self.defaults.items()}
    frame = pd.DataFrame({"ID": np.arange(1, k * n + 1), **columns})
    options = {"rtol": self.rtol, "atol": ODE_ATOL} if self.uses_ode else {}
    res = pkpd.simulate(self.model, Dataset(table), frame, method=self.engine, **options)
    return np.asarray(res[self.output], dtype=float).reshape(k, m)[:, self.rows]


def _stacked_through_public_simulate(self, values, k):
    """:func:`_through_public_simulate` for parameter sets given stacked (``BatchPredictor.stacked``)."""
    n = self.n_subjects
    sets = [{name: v if np.ndim(v) == 0 else v[j * n: (j + 1) * n] for name, v in values.items()} for j in range(k)]
    return _through_public_simulate(self, sets)


def hot_path_ratio(pm, data, repeats=5):
    """Median seconds of the same FOCE-I fit with the estimation hot path (arrays, schedule compiled once) and
    through the public ``simulate()`` per evaluation (:func:`_through_public_simulate`), alternating runs."""
    from pkpd.engine._batch import BatchPredictor

    hot, public, ofv = [], [], []
    fast = BatchPredictor.__call__, BatchPredictor.stacked
    for _ in range(repeats):
        for times, (call, stacked) in ((hot, fast), (public, (_through_public_simulate,
                                                               _stacked_through_public_simulate))):
            BatchPredictor.__call__, BatchPredictor.stacked = call, stacked
            try:
                start = time.perf_counter()
                fit = fit_population(pm, data, covariance=False, progress=False)
                times.append(time.perf_counter() - start)
                ofv.append(fit.ofv)
            finally:
                BatchPredictor.__call__, BatchPredictor.stacked = fast
    return float(np.median(hot)), float(np.median(public)), max(ofv) - min(ofv)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="theophylline only")
    args = parser.parse_args()
    pm, data = theophylline()
    run("theophylline FOCE-I, first in the process (numba kernels compiled or loaded)", pm, data, covariance=False)
    seconds = []
    for _ in range(9):
        start = time.perf_counter()
        fit = fit_population(pm, data, covariance=False, progress=False)
        seconds.append(time.perf_counter() - start)
    print(f"theophylline FOCE-I, estimation only, 9 warm fits: median {np.median(seconds):.3f} s, fastest "
          f"{min(seconds):.3f} s (target <= 0.1 s), {fit.n_evaluations} objective evaluations, OFV {fit.ofv:.6f}")
    run("theophylline FOCE-I + covariance step    (target <= 10 s)", pm, data)
    hot, public, spread = hot_path_ratio(pm, data)
    print(f"theophylline FOCE-I fit, median of 5: hot path {hot:.3f} s vs public simulate() per evaluation "
          f"{public:.3f} s: {public / hot:.2f}x (OFV spread {spread:.1e})")
    t_b, t_l, ofv_b, ofv_l = objective_ratio(pm, data, "auto", n_loop=12)
    print(f"theophylline objective: batched {t_b:.3f} s vs subject by subject {t_l:.3f} s: {t_l / t_b:.1f}x "
          f"(OFV {ofv_b:.6f} vs {ofv_l:.6f})")
    if not args.quick:
        seconds = {}
        pm, data = two_compartment_ode()
        t_b, t_l, _, _ = objective_ratio(pm, data, "ode", n_loop=20)
        print(f"200-subject ODE objective (cold EBEs): batched {t_b:.2f} s vs subject by subject {t_l:.1f} s "
              f"(20 subjects, scaled): {t_l / t_b:.1f}x")
        for engine in ("compiled", "ode"):
            start = time.perf_counter()
            fit = run(f"200 subjects, 2-cmt oral, engine={engine!r:10} (target <= 20 s)", pm, data, engine=engine,
                      covariance=False)
            seconds[engine] = time.perf_counter() - start
            print("  estimates:", {k: round(v, 3) for k, v in fit.theta.items()},
                  {k: round(v, 3) for k, v in fit.omega_sd.items()}, fit.error)
        print(f"numpy ODE engine / compiled engine: {seconds['ode'] / seconds['compiled']:.1f}x")


if __name__ == "__main__":
    main()
