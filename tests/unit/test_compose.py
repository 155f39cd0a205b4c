"""Composition: components wired by named quantities run through the engine like library models."""

import math

import numpy as np
import pytest

import pkpd
from pkpd import ModelError
from pkpd.models import Component, OneCompartment, OneCompartmentOral, TwoCompartmentOral, compose
from pkpd.models._base import Parameter
from pkpd.physiology import BrainPgp, EnzymeTurnover, Inactivation, Induction, PgpInhibition, WellStirredLiver

TIMES = np.linspace(0, 48, 97)


def test_a_composed_single_drug_equals_the_library_model():
    params = {"CL": 4.0, "V1": 25.0, "Q": 8.0, "V2": 60.0, "KA": 0.8, "F1": 0.9, "ALAG1": 0.4}
    dose = pkpd.Bolus(100, cmt="DEPOT", ii=12, addl=3)
    alone = TwoCompartmentOral().simulate(dose, TIMES, params, method="analytic")["CP"]
    model = compose(TwoCompartmentOral(drug="MDZ"))
    assert model.states == ("MDZ.DEPOT", "MDZ.CENTRAL", "MDZ.PERIPH")
    qualified = {f"MDZ.{k}": v for k, v in params.items()}
    composed = model.simulate(pkpd.Bolus(100, cmt="MDZ.DEPOT", ii=12, addl=3), TIMES, qualified, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(composed["MDZ.CP"], alone, rtol=1e-7, atol=1e-12)


def test_two_drugs_without_interaction_are_independent():
    model = compose(OneCompartment(drug="A"), OneCompartmentOral(drug="B"))
    dose = pkpd.Bolus(10, cmt="A.CENTRAL") + pkpd.Bolus(50, cmt="B.DEPOT", time=2)
    res = model.simulate(dose, TIMES, {"A.CL": 2.0, "A.V": 20.0, "B.CL": 5.0, "B.V": 40.0, "B.KA": 1.0, "B.FU": 0.2},
                         rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res["A.CP"], 0.5 * np.exp(-0.1 * TIMES), rtol=1e-6)
    b = OneCompartmentOral().simulate(pkpd.Bolus(50, cmt="DEPOT", time=2), TIMES, {"CL": 5, "V": 40, "KA": 1})["CP"]
    np.testing.assert_allclose(res["B.CP"], b, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(res["B.CU"], 0.2 * b, rtol=1e-6, atol=1e-12)


def _constant(drug, conc, cl, v):
    """Loading bolus C*V plus infusion C*CL: a one-compartment drug at exactly C from t = 0."""
    return pkpd.Bolus(conc * v, cmt=f"{drug}.CENTRAL") + pkpd.Infusion(conc * cl * 1e4, rate=conc * cl, cmt=f"{drug}.CENTRAL")


def test_induction_reaches_the_emax_steady_state_and_deinduces_with_kdeg():
    """Constant unbound inducer concentration C: E(t) = E_ss - (E_ss - 1) exp(-kdeg t) with
    E_ss = 1 + Emax C/(EC50 + C) (Asaumi 2018 [S]; rifampicin Emax 4.57, EC50u 0.0526 mg/L, kdeg 0.0158 /h)."""
    enzyme = EnzymeTurnover("CYP3A4", inducers={"RIF": Induction(emax=4.57, ec50=0.0526)})
    model = compose(OneCompartment(drug="RIF"), enzyme)
    params = {"RIF.CL": 5.0, "RIF.V": 50.0}
    times = np.array([0.0, 43.9, 24 * 30.0])
    res = model.simulate(_constant("RIF", 0.1, 5.0, 50.0), times, params, method="ode", rtol=1e-9, atol=1e-12)
    e_ss = 1 + 4.57 * 0.1 / (0.0526 + 0.1)
    expected = e_ss - (e_ss - 1) * np.exp(-0.0158 * times)
    np.testing.assert_allclose(res["CYP3A4.LIVER"], expected, rtol=1e-6)
    gut = e_ss - (e_ss - 1) * np.exp(-0.0288 * times)
    np.testing.assert_allclose(res["CYP3A4.GUT"], gut, rtol=1e-6)
    # de-induction: a reset of the inducer's compartment is not needed -- stop dosing by simulating a
    # single loading bolus: the enzyme returns to baseline with rate kdeg once the inducer is gone
    gone = model.simulate(pkpd.Bolus(5.0, cmt="RIF.CENTRAL"), [24 * 60.0], params, method="ode")
    assert gone["CYP3A4.LIVER"][0] == pytest.approx(1.0, abs=1e-3)


def test_steady_state_dosing_puts_the_whole_composed_system_at_steady_state():
    """SS=1 (NONMEM): every state -- drug and enzyme -- is at steady state at the dose record."""
    enzyme = EnzymeTurnover("CYP3A4", inducers={"RIF": Induction(emax=4.57, ec50=0.0526)})
    model = compose(OneCompartment(drug="RIF"), enzyme)
    res = model.simulate(pkpd.Infusion(0, rate=0.5, cmt="RIF.CENTRAL", ss=1), [0.0], {"RIF.CL": 5.0, "RIF.V": 50.0},
                         method="ode")
    assert res["RIF.CP"][0] == pytest.approx(0.1, rel=1e-9)
    assert res["CYP3A4.LIVER"][0] == pytest.approx(1 + 4.57 * 0.1 / 0.1526, rel=1e-9)


def test_mechanism_based_inactivation_steady_state():
    """Constant inactivator C: E_ss = kdeg / (kdeg + kinact C/(KI + C)) (Mayhew 2000 / Galetin 2006 form)."""
    enzyme = EnzymeTurnover("CYP3A4", inactivators={"CLA": Inactivation(kinact=0.4, ki=4.0, kinact_gut=4.0)})
    model = compose(OneCompartment(drug="CLA"), enzyme)
    res = model.simulate(pkpd.Infusion(0, rate=20.0, cmt="CLA.CENTRAL", ss=1), [0.0, 100.0],
                         {"CLA.CL": 10.0, "CLA.V": 100.0}, method="ode", rtol=1e-9, atol=1e-12)
    c = 2.0
    np.testing.assert_allclose(res["CYP3A4.LIVER"], 0.0158 / (0.0158 + 0.4 * c / (4 + c)), rtol=1e-4)
    np.testing.assert_allclose(res["CYP3A4.GUT"], 0.0288 / (0.0288 + 4.0 * c / (4 + c)), rtol=1e-4)


def test_well_stirred_liver_hand_calculation():
    """Doubling CYP3A4 activity for a drug with fm 0.9, CLH 30 L/h of QH 90, FUB 1, FG 0.5 (well-stirred
    model): CLint0 = 90*30/60 = 45; CLint = 45*(0.1 + 0.9*2) = 85.5; CLh = 90*85.5/175.5 = 43.846;
    CL_MULT = (43.846 + 10)/40; Fg = 1/(1 + 1*1.9) = 0.3448, Fh: 0.6667 -> 0.5128; FA_MULT = Fh Fg/(Fh0 Fg0)."""
    liver = WellStirredLiver("V", {"CYP3A4": 0.9}, clh=30.0, clr=10.0, qh=90.0, fub=1.0, fg=0.5)
    y = {}
    p = {par.name: par.default for par in liver.parameters}
    q = liver.quantities(y, p, {"CYP3A4.LIVER_ACT": 2.0, "CYP3A4.GUT_ACT": 2.0})
    clh = 90 * 85.5 / 175.5
    assert q["V.CL_MULT"] == pytest.approx((clh + 10) / 40, rel=1e-12)
    assert q["V.FA_MULT"] == pytest.approx((1 - clh / 90) * (1 / 2.9) / ((1 - 30 / 90) * 0.5), rel=1e-12)
    base = liver.quantities(y, p, {"CYP3A4.LIVER_ACT": 1.0, "CYP3A4.GUT_ACT": 1.0})
    assert base["V.CL_MULT"] == pytest.approx(1.0) and base["V.FA_MULT"] == pytest.approx(1.0)


def test_victim_exposure_falls_with_induction():
    """Midazolam-like victim + rifampicin-like inducer at steady state: IV AUC falls by CL_MULT, oral by
    more (first pass), consistent with the component quantities."""
    model = compose(
        OneCompartment(drug="RIF"),
        OneCompartmentOral(drug="MDZ"),
        EnzymeTurnover("CYP3A4", inducers={"RIF": Induction(emax=4.57, ec50=0.0526)}),
        WellStirredLiver("MDZ", {"CYP3A4": 0.93}, clh=25.0, clr=0.0, qh=86.8, fub=0.05 / 0.66 * 1.0, fg=0.56),
    )
    params = {"RIF.CL": 5.0, "RIF.V": 50.0, "MDZ.CL": 25.0, "MDZ.V": 70.0, "MDZ.KA": 3.0}
    res = model.simulate(pkpd.Infusion(0, rate=0.5, cmt="RIF.CENTRAL", ss=1), [0.0], params, method="ode")
    assert res["MDZ.CL_MULT"][0] > 1.5 and res["MDZ.FA_MULT"][0] < 0.5


def test_brain_kpuu_at_steady_state_equals_clearance_ratio():
    """Unbound brain/plasma ratio at steady state = CLin / (CLout + CLpgp P (1 - I)) to 1e-6 (Hammarlund-Udenaes [M];
    issue 3, criterion 6)."""
    brain = BrainPgp("PRB", clin=5.0, clout=5.0, clpgp=8.5, inhibitors={"TQD": PgpInhibition(imax=0.9, ic50=0.1)})
    model = compose(OneCompartment(drug="PRB"), OneCompartment(drug="TQD"), brain)
    dose = _constant("PRB", 0.5, 20.0, 100.0) + _constant("TQD", 0.2, 5.0, 50.0)
    params = {"PRB.CL": 20.0, "PRB.V": 100.0, "PRB.FU": 0.3, "TQD.CL": 5.0, "TQD.V": 50.0}
    res = model.simulate(dose, [200.0], params, method="ode", rtol=1e-10, atol=1e-13)
    inhibition = 0.9 * 0.2 / (0.1 + 0.2)
    expected = 5.0 / (5.0 + 8.5 * (1 - inhibition))
    ratio = res["PRB_BRAIN.CU"][0] / res["PRB.CU"][0]
    assert ratio == pytest.approx(expected, rel=1e-6)
    assert res["PRB_BRAIN.KPUU"][0] == pytest.approx(expected, rel=1e-12)


def test_bad_compositions_raise_model_errors_naming_the_item():
    with pytest.raises(ModelError, match="reads 'RIF.CU', which no component provides"):
        compose(EnzymeTurnover("CYP3A4", inducers={"RIF": Induction(1.0, 1.0)}))
    with pytest.raises(ModelError, match="duplicate state 'A.CENTRAL'"):
        compose(OneCompartment(drug="A"), OneCompartmentOral(drug="A"))
    with pytest.raises(ModelError, match="kdeg_liver must be > 0"):
        EnzymeTurnover("CYP3A4", kdeg_liver=-0.01)
    with pytest.raises(ModelError, match=r"fm of CYP3A4 must be within \[0, 1\], got 1.2"):
        WellStirredLiver("MDZ", {"CYP3A4": 1.2}, clh=20.0)
    with pytest.raises(ModelError, match="needs a drug prefix"):
        compose(OneCompartment())
    with pytest.raises(ModelError, match="drug prefix must be a name"):
        OneCompartment(drug="not a name")


def test_a_custom_component_reads_a_provided_quantity():
    """An effect-compartment component written by a user reads MDZ.CP (Sheiner 1979: dCe/dt = ke0 (Cp - Ce))."""

    class EffectSite(Component):
        prefix = "EFFECT"
        states = ("CE",)
        parameters = (Parameter("KE0", math.log(2) / 0.1, "1/h", 0.0, math.inf, "effect-site equilibration"),)
        reads = {"MDZ.CP": None}
        provides = ("CE",)
        outputs = ("CE",)

        def quantities(self, y, p, q):
            return {"CE": y["CE"]}

        def derivatives(self, t, y, p, q, rate):
            return {"CE": p["KE0"] * (q["MDZ.CP"] - y["CE"])}

    model = compose(OneCompartment(drug="MDZ"), EffectSite())
    res = model.simulate(_constant("MDZ", 1.0, 5.0, 50.0), [0.0, 0.1, 0.3],
                         {"MDZ.CL": 5.0, "MDZ.V": 50.0}, method="ode", rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res["EFFECT.CE"], 1.0 * (1 - np.exp(-np.log(2) / 0.1 * np.array([0, 0.1, 0.3]))),
                               rtol=1e-6, atol=1e-12)
