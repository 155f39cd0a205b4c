"""The integrators' grouped arguments (Start, Course, Outputs, StepOptions): explicit and implicit paths
on a hand-built breakpoint table, against the closed form of a one-compartment bolus."""

import numpy as np
import pytest

from pkpd import SimulationError
from pkpd.engine._explicit import Breakpoints, Course, Kind, Outputs, Start, StepOptions, integrate
from pkpd.engine._implicit import integrate_implicit
from pkpd.models import OneCompartment, TwoCompartment

CL, V, DOSE = 2.0, 10.0, 100.0


def _bolus_course(t_end=10.0):
    """One unit: a bolus at 0 into CENTRAL and a snapshot (OBS row 0) at 4 h."""
    bps = Breakpoints.build(
        1,
        np.array([0, 0]),
        np.array([0.0, 4.0]),
        np.zeros(2),
        np.array([Kind.BOLUS, Kind.OBS]),
        np.array([0, 0]),
        np.array([DOSE, 0.0]),
        np.array([-1, 0]),
    )
    return Course(bps, np.array([t_end]), np.zeros((0, 1)))


def _start(S=1):
    return Start(np.zeros(1), np.zeros((1, S)), np.zeros((1, S)))


def _exact(t):
    return DOSE * np.exp(-CL / V * np.asarray(t))


@pytest.mark.parametrize("path", ["explicit", "implicit"])
def test_grouped_arguments_give_the_closed_form(path):
    times = np.array([1.0, 2.5, 7.0])
    outputs = Outputs(1, np.zeros(3, np.int64), times)
    params = {"CL": np.array([CL]), "V": np.array([V])}
    if path == "explicit":
        y_end, snap, dense = integrate(OneCompartment(), params, _start(), _bolus_course(), outputs,
                                       StepOptions(rtol=1e-10, atol=1e-12))
    else:
        y_end, snap, dense = integrate_implicit(OneCompartment(), params, _start(), _bolus_course(), outputs,
                                                StepOptions(rtol=1e-10, atol=1e-12, method="Radau"))
    np.testing.assert_allclose(y_end[:, 0], _exact(10.0), rtol=1e-7)
    np.testing.assert_allclose(snap[:, 0], _exact(4.0), rtol=1e-7)
    np.testing.assert_allclose(dense[:, 0], _exact(times), rtol=1e-6)


def test_dense_states_leaves_the_others_nan():
    model = TwoCompartment()
    params = {p.name: np.array([float(p.default)]) for p in model.parameters}
    bps = Breakpoints.build(1, np.array([0]), np.array([0.0]), np.zeros(1), np.array([Kind.BOLUS]),
                            np.array([0]), np.array([DOSE]))
    course = Course(bps, np.array([5.0]), np.zeros((0, 2)))
    _, _, dense = integrate(model, params, _start(2), course,
                            Outputs(0, np.zeros(2, np.int64), np.array([1.0, 3.0]), np.array([0])))
    assert np.isfinite(dense[:, 0]).all() and np.isnan(dense[:, 1]).all()


def test_step_budget_is_enforced():
    params = {"CL": np.array([CL]), "V": np.array([V])}
    with pytest.raises(SimulationError, match="more than 3 steps"):
        integrate(OneCompartment(), params, _start(), _bolus_course(), options=StepOptions(max_steps=3))
