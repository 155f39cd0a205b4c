"""Compile pkpd's numba kernels into their caches: ``python tests/warm_kernels.py 1|2`` (two halves of about equal
compile time).

The root ``conftest.py`` runs both halves at once, before the test workers start, when the caches are empty (a
fresh clone): otherwise each worker, notebook kernel and command-line process that needs a kernel first compiles
the same one at the same time (7-17 s each on 2 cores). A warm-up that fails only means the tests compile as they go.
"""

from __future__ import annotations

import sys

import numpy as np

import pkpd
from pkpd.models import OneCompartmentOral, TwoCompartmentOral


def integrate(*solvers):
    """The integrator of each method: "compiled" (the explicit one: Dormand-Prince and DOP853), "rodas" (Rodas5P)."""
    model = TwoCompartmentOral()
    for solver in solvers:
        model.simulate(pkpd.Bolus(100, cmt="DEPOT"), times=[1.0, 2.0], method="ode", solver=solver)


def estimate():
    """The EBE search's Newton kernel and the closed form of bolus schedules (triangular and not)."""
    from pkpd.population import PopulationModel, fit_population, synthetic

    for model, typical in ((OneCompartmentOral(), {"CL": 2.0, "V": 20.0, "KA": 1.0}),
                           (TwoCompartmentOral(), {"CL": 2.0, "V1": 20.0, "Q": 3.0, "V2": 40.0, "KA": 1.0})):
        data = synthetic.cohort(model, pkpd.Bolus(100, cmt="DEPOT"), 4, params=typical, iiv={"CL": 0.3},
                                error=pkpd.ProportionalError(0.1), design=[0.5, 1, 2, 4, 8, 12], seed=1).data
        pm = PopulationModel(model, typical, {"CL": 0.1}, pkpd.ProportionalError(0.1))
        fit_population(pm, data, covariance=False, progress=False)


def half(which: str):
    if which == "1":
        integrate("compiled")
        estimate()
    else:
        from pkpd.engine._closed_form import _expm

        integrate("rodas")
        _expm(np.array([[[-1.0, 0.0], [1.0, -1.0]]]))


if __name__ == "__main__":
    half(sys.argv[1])
