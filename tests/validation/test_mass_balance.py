"""Mass balance in composed models (issue 3, criterion 7): dosed = eliminated + remaining, to 1e-6 rel.

Each drug's amount is followed through its compartments, the brain, first-pass loss and elimination
(``compose(..., mass_balance=True)`` accumulates eliminated amounts in ``<drug>.ELIMINATED``)."""

import numpy as np
import pytest

import pkpd
from pkpd.models import OneCompartmentOral, TwoCompartmentOral, compose
from pkpd.physiology import BrainPgp, EnzymeTurnover, Induction, WellStirredLiver


def _amount(res, model, drug, row):
    names = [s for s in model.states if s.startswith(f"{drug}.") or s == f"{drug}_BRAIN.BRAIN"]
    return sum(res[s][row] for s in names)


@pytest.mark.parametrize("solver", ["compiled", "bdf"])
def test_dosed_equals_eliminated_plus_remaining(solver, validation):
    """An explicit method (Dormand-Prince 5(4), compiled: the numpy engine's steps, tests/unit/test_compiled_engine.py;
    at rtol 1e-10 over 119 h the numpy engine took 15 s) and an implicit one (BDF)."""
    model = compose(
        OneCompartmentOral(drug="CBZ"),
        TwoCompartmentOral(drug="MDZ"),
        EnzymeTurnover("CYP3A4", inducers={"CBZ": Induction(emax=8.0, ec50=2.0)}),
        WellStirredLiver("CBZ", {"CYP3A4": 0.55}, clh=1.5, clr=0.25, fub=0.26),
        WellStirredLiver("MDZ", {"CYP3A4": 0.93}, clh=19.4, fub=0.09, fg=0.56),
        BrainPgp("MDZ", clin=20.0, clout=20.0, clpgp=2.0),
        mass_balance=True,
    )
    assert "MDZ.ELIMINATED" in model.states and "CBZ.ELIMINATED" in model.states
    dose = pkpd.Bolus(200, cmt="CBZ.DEPOT", ii=12, addl=9) + pkpd.Bolus(7.5, cmt="MDZ.DEPOT", ii=24, addl=4)
    dose = dose + pkpd.Infusion(5.0, duration=0.5, cmt="MDZ.CENTRAL", time=30.0)
    params = {"CBZ.CL": 1.75, "CBZ.V": 98.0, "CBZ.KA": 0.5, "MDZ.CL": 19.4, "MDZ.V1": 30.0, "MDZ.Q": 40.0,
              "MDZ.V2": 50.0, "MDZ.KA": 3.0}
    times = np.array([6.0, 30.25, 60.0, 119.0])
    res = model.simulate(dose, times, params, method="ode", solver=solver, rtol=1e-10, atol=1e-12)
    # CBZ: 200 mg at 0, 12, ..., 108 h; MDZ: 7.5 mg at 0, 24, ..., 96 h and 5 mg over 30-30.5 h
    dosed = {"CBZ": np.array([200.0, 600, 1200, 2000]), "MDZ": np.array([7.5, 15 + 2.5, 22.5 + 5, 37.5 + 5])}
    for drug in ("CBZ", "MDZ"):
        total = [_amount(res, model, drug, row) for row in range(len(times))]  # includes ELIMINATED
        validation.compare(f"{drug} amount in the body + eliminated at 6-119 h (mg)", total, dosed[drug], rtol=1e-6,
                           source="dosed amount")
    assert res["MDZ.ELIMINATED"][-1] > 0.9 * 42.5  # first pass and clearance did remove the drug
