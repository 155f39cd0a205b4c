"""Tracing a numpy right-hand side into equations (``pkpd/engine/_trace.py``; issue 17, items 1-2).

Any model -- library, composed, the status-epilepticus chain -- is traced into :class:`~pkpd.models.Equations`
that give its own ``rhs`` (1e-12 relative at random states) and into a symbolic Jacobian that matches central
differences of that ``rhs`` (1e-6); what tracing cannot follow is refused, naming it; and a composed model compiled
from its trace takes the numpy engine's steps.
"""

from __future__ import annotations

import numpy as np
import pytest

import pkpd
from pkpd.engine import _compiled
from pkpd.engine._trace import NotTraceable, evaluate, trace, trace_equations
from pkpd.models import OneCompartment, OneCompartmentOral, TwoCompartmentOral, pk
from pkpd.physiology import BrainPgp, EnzymeTurnover, Induction, WellStirredLiver
from pkpd.se.scenarios import cohort_parameters, se_model

LIBRARY = [getattr(pk, name)() for name in pk.__all__
           if isinstance(getattr(pk, name), type) and issubclass(getattr(pk, name), pkpd.models.Model)]


def _mechanisms():
    return pkpd.compose(
        OneCompartmentOral(drug="CBZ"), TwoCompartmentOral(drug="MDZ"),
        EnzymeTurnover("CYP3A4", inducers={"CBZ": Induction(emax=8.0, ec50=2.0)}),
        WellStirredLiver("CBZ", {"CYP3A4": 0.55}, clh=1.5, clr=0.25, qh=86.8, fub=0.26, fg=1.0),
        WellStirredLiver("MDZ", {"CYP3A4": 0.93}, clh=19.4, clr=0.0, qh=86.8, fub=0.09, fg=0.56),
        BrainPgp("MDZ", clin=20.0, clout=20.0, clpgp=2.0), mass_balance=True)


MODELS = {**{m.name: m for m in LIBRARY}, "mechanisms": _mechanisms(), "se_midazolam": se_model(("midazolam",)),
          "se_midazolam_ketamine": se_model(("midazolam", "ketamine")), "se_valproate": se_model(("valproate",)),
          "se_phenobarbital": se_model(("phenobarbital",)), "se_propofol": se_model(("propofol",))}


@pytest.mark.parametrize("name", list(MODELS))
def test_the_trace_computes_the_models_own_rhs(name):
    model = MODELS[name]
    eq = trace_equations(model)
    rng = np.random.default_rng(7)
    n, S = 6, len(model.states)
    p = {k: v * np.exp(0.2 * rng.standard_normal(n)) for k, v in model.defaults.items()}
    y = model.initial_state(p) + rng.uniform(0.0, 2.0, (n, S))
    rate, t = rng.uniform(0.0, 1.0, (n, S)), rng.uniform(0.0, 48.0, n)
    with np.errstate(over="ignore"):            # exp of large arguments in logistic terms: inf, then 0 or 1
        expected = model.rhs(t, y, p, rate)
        got = evaluate(eq, t, y, [p[k] for k in model.parameter_names], rate)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(MODELS))
def test_the_symbolic_jacobian_is_the_derivative_of_the_rhs(name):
    """Central differences of the model's own rhs (step 1e-6 relative) agree with the traced Jacobian to 1e-6."""
    model = MODELS[name]
    eq = trace(model).jacobian
    rng = np.random.default_rng(8)
    S = len(model.states)
    p = {k: np.array([v * np.exp(0.2 * rng.standard_normal())]) for k, v in model.defaults.items()}
    y = model.initial_state(p) + rng.uniform(0.5, 2.0, (1, S))
    rate, t = rng.uniform(0.0, 1.0, (1, S)), np.array([rng.uniform(1.0, 48.0)])
    with np.errstate(over="ignore"):
        entries = evaluate(eq, t, y, [p[k] for k in model.parameter_names], np.zeros((1, S)))[0]
        jac, dfdt = entries[: S * S].reshape(S, S), entries[S * S:]
        numeric = np.empty((S, S))
        for j in range(S):
            step = np.zeros((1, S))
            step[0, j] = 1e-6 * max(abs(y[0, j]), 1e-3)
            numeric[:, j] = (model.rhs(t, y + step, p, rate) - model.rhs(t, y - step, p, rate))[0] / (2 * step[0, j])
        dt = 1e-6 * t[0]
        numeric_t = (model.rhs(t + dt, y, p, rate) - model.rhs(t - dt, y, p, rate))[0] / (2 * dt)
    scale = np.abs(numeric).max(axis=1, keepdims=True) + 1e-12
    np.testing.assert_allclose(jac / scale, numeric / scale, atol=1e-6)
    np.testing.assert_allclose(dfdt, numeric_t, atol=1e-6 * (np.abs(numeric_t).max() + 1e-12))


def test_shared_operations_become_one_quantity_and_identities_fold():
    eq = trace_equations(pkpd.models.TwoCompartment())
    assert eq.quantities == (("Q0", "(Y0 / P1)"), ("Q1", "(P2 * (Q0 - (Y1 / P3)))"))
    assert eq.derivatives == ("((R0 - (P0 * Q0)) - Q1)", "(R1 + Q1)")


class _Branching(OneCompartment):
    def rhs(self, t, y, p, rate):
        return rate - (p["CL"] / p["V"])[:, None] * y if y[0, 0] > 1 else rate


class _Converting(OneCompartment):
    def rhs(self, t, y, p, rate):
        return rate - np.asarray(p["CL"] / p["V"])[:, None] * y


class _Sorting(OneCompartment):
    def rhs(self, t, y, p, rate):
        return rate - np.sort(y, axis=1)


@pytest.mark.parametrize("cls, what", [(_Branching, "a branch on a value"), (_Converting, "np.asarray"),
                                       (_Sorting, "numpy's sort")])
def test_what_tracing_cannot_follow_is_named(cls, what):
    with pytest.raises(NotTraceable, match=what.replace(".", r"\.")):
        trace_equations(cls())
    with pytest.raises(pkpd.SimulationError, match=f"cannot be compiled.*{what.replace('.', '.')}.*solver='dp5'"):
        cls().simulate(pkpd.Bolus(100), [1.0], method="ode", solver="compiled")


def test_a_subclass_overriding_rhs_is_traced_not_taken_from_its_parents_equations():
    class Doubled(OneCompartment):
        def rhs(self, t, y, p, rate):
            return 2 * super().rhs(t, y, p, rate)

    assert _compiled.declared(OneCompartment()) and not _compiled.declared(Doubled())
    eq = _compiled.equations_of(Doubled())
    assert eq.derivatives == ("(2.0 * (R0 - ((P0 / P1) * Y0)))",)


def test_the_trace_check_compares_terms_whose_parameter_defaults_to_zero():
    """A right-hand side that differs from its trace only in a term multiplied by a parameter whose default is 0
    (an inhibitor absent by default) is refused: the check draws such parameters away from 0."""
    from pkpd.engine._trace import Traced
    from pkpd.models import Parameter

    class Disguised(OneCompartment):
        parameters = OneCompartment.parameters + (Parameter("INH", 0.0, "1/h", lower=0.0, upper=np.inf),)

        def rhs(self, t, y, p, rate):           # traced: INH * 2 * CENTRAL; computed: INH * CENTRAL
            factor = 2.0 if isinstance(y, Traced) else 1.0
            return OneCompartment.rhs(self, t, y, p, rate) + factor * p["INH"][:, None] * y

    model = Disguised()
    with pytest.raises(pkpd.SimulationError, match="traced right-hand side differs from it for CENTRAL"):
        _compiled.equations_of(model)


def test_the_status_epilepticus_model_compiled_takes_the_numpy_engines_steps():
    """The whole chain (seizure, receptors, chloride, barrier, midazolam PK, brain, effect sites) from its trace.

    Its right-hand side sums in another order than numpy's reductions, so the two engines' accept/reject
    decisions can part at rounding level: both run at rtol 1e-10 and agree to 1e-7 of each output's range."""
    model = MODELS["se_midazolam"]
    params = cohort_parameters(("midazolam",), n=40, seed=11)
    dose = pkpd.Bolus(10.0, time=0.5, cmt="MDZ.DEPOT")
    times = np.linspace(0.0, 4.0, 17)
    a = model.simulate(dose, times, params, method="ode", solver="compiled", rtol=1e-10, atol=1e-13)
    b = model.simulate(dose, times, params, method="ode", solver="dp5", rtol=1e-10, atol=1e-13)
    for col in model.outputs:
        assert np.max(np.abs(a[col] - b[col])) <= 1e-7 * (np.max(np.abs(b[col])) + 1e-300), col
