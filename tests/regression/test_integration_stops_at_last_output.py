"""Regression: the engine integrated up to the last breakpoint even when it lay far after the last output
(an infusion ending at 10 000 h made a 2-hour brain simulation take 100 000+ steps and fail)."""

import pkpd
from pkpd.models import OneCompartment, compose
from pkpd.physiology import BrainPgp


def test_breakpoints_after_the_last_output_are_not_integrated():
    model = compose(OneCompartment(drug="PRB"), BrainPgp("PRB", clin=5.0, clout=5.0, clpgp=8.5))
    dose = pkpd.Bolus(50.0, cmt="PRB.CENTRAL") + pkpd.Infusion(1e5, rate=10.0, cmt="PRB.CENTRAL")  # ends at 1e4 h
    res = model.simulate(dose, [0.5, 2.0], {"PRB.CL": 20.0, "PRB.V": 100.0, "PRB.FU": 0.3}, method="ode")
    assert (res["PRB_BRAIN.CU"] > 0).all()
