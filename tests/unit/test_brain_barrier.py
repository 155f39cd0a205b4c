"""The shared blood-brain barrier, BrainPgp reading it, the modulator effect and non-GABA inhibition (issue 14).

Independent checks: each expected value is computed by hand from the component's equations (steady-state
identities), not from a calibrated number.
"""

import math

import numpy as np
import pytest

import pkpd
from pkpd.models.effects import ModulatorEffect
from pkpd.errors import ModelError
from pkpd.models import OneCompartment
from pkpd.physiology import BloodBrainBarrier, BrainPgp, ImposedSeizure, Seizure


def _brain_model():
    return pkpd.compose(OneCompartment(drug="PRB"), BloodBrainBarrier(),
                        BrainPgp("PRB", clin=2.0, clout=1.5, clpgp=3.0, barrier="BBB"))


@pytest.mark.parametrize("changes", [{}, {"BBB.GENO": 2.0}, {"BBB.GENO": 2.0, "BBB.INHIBITOR_C": 0.68},
                                     {"BBB.INHIBITOR_C": 5.0, "BBB.IMAX": 0.9}])
def test_brain_exposure_at_steady_state_follows_the_kpuu_identity(changes):
    """Kp,uu = CLIN / (CLOUT + CLPGP x GENO x (1 - IMAX C / (IC50 + C))) at steady state, to 1e-6."""
    model = _brain_model()
    params = {"PRB.CL": 5.0, "PRB.V": 20.0, "PRB.FU": 0.4, **changes}
    infusion = pkpd.Infusion(5.0 * 2.0 * 2000.0, rate=10.0, cmt="PRB.CENTRAL")     # 2000 h at 10 mg/h
    r = model.simulate(infusion, [1000.0], params, method="ode", rtol=1e-10, atol=1e-12)
    geno, c, imax = changes.get("BBB.GENO", 1.0), changes.get("BBB.INHIBITOR_C", 0.0), changes.get("BBB.IMAX", 1.0)
    activity = geno * (1.0 - imax * c / (0.68 + c))
    expected = 2.0 / (1.5 + 3.0 * activity)
    cu_plasma = 0.4 * float(r["PRB.CP"][0])
    assert float(r["PRB_BRAIN.CU"][0]) / cu_plasma == pytest.approx(expected, rel=1e-6)
    assert float(r["PRB_BRAIN.KPUU"][0]) == pytest.approx(expected, rel=1e-12)


def test_doubling_pgp_lowers_exposure_and_tariquidar_restores_it():
    model = _brain_model()
    base = {"PRB.CL": 5.0, "PRB.V": 20.0, "PRB.FU": 0.4}
    dose = pkpd.Bolus(100.0, cmt="PRB.CENTRAL")
    times = np.linspace(0.0, 24.0, 97)

    def auc(**changes):
        r = model.simulate(dose, times, {**base, **changes}, method="ode", rtol=1e-9, atol=1e-12)
        return np.trapezoid(r["PRB_BRAIN.CU"], times)

    wt, doubled = auc(), auc(**{"BBB.GENO": 2.0})
    blocked = auc(**{"BBB.GENO": 2.0, "BBB.INHIBITOR_C": 0.68})       # half of the doubled activity = baseline
    assert doubled < 0.75 * wt
    assert blocked == pytest.approx(wt, rel=1e-6)


def test_seizure_raises_inflammation_leak_and_later_pgp():
    model = pkpd.compose(ImposedSeizure(), BloodBrainBarrier())
    r = model.simulate(ImposedSeizure.episode(60), [1.0, 35.0, 24.0 * 7], method="ode")
    infl = 1.0 - math.exp(-4.0)                             # KSIG 4 /h for 1 h, decay negligible within the hour
    assert float(r["BBB.INFLAMMATION"][0]) == pytest.approx(infl, rel=0.01)
    assert float(r["BBB.LEAK"][0]) == pytest.approx(1.0 + 0.5 * float(r["BBB.INFLAMMATION"][0]), rel=1e-12)
    assert 1.8 < float(r["BBB.EXPRESSION"][1]) < 2.3                  # about 2-fold 35 h later
    assert float(r["BBB.EXPRESSION"][2]) < 1.15                       # back toward baseline within a week


def test_barrier_mode_refuses_its_own_inhibitors():
    with pytest.raises(ModelError, match="belong to the BloodBrainBarrier"):
        BrainPgp("PRB", barrier="BBB", seizure_driven=True)


def test_modulator_effect_is_bounded_by_the_surface_fraction():
    """EFFECT = f x C^n / (C^n + (KA (1 + KSHIFT (1 - f)))^n): no concentration exceeds f."""
    eff = ModulatorEffect("BZD", "X.C", "R.SURFACE", ka=0.01, n=1.0, kshift=2.0)
    p = {"KA": 0.01, "N": 1.0, "KSHIFT": 2.0}
    c = np.array([0.0, 0.01, 0.03, 1e6])
    out = eff.quantities({}, p, {"X.C": c, "R.SURFACE": np.full(4, 0.5)})
    expected = 0.5 * c / (c + 0.01 * 2.0)
    np.testing.assert_allclose(out["EFFECT"], expected, rtol=1e-12)
    assert out["EFFECT"].max() <= 0.5


def test_non_gabaergic_inhibition_is_not_scaled_by_the_chloride_factor():
    """I = (G0 S + G_BZD e_BZD) F + G_LEV e_LEV."""
    sz = Seizure(("BZD.EFFECT",), (), (), ("LEV.EFFECT",), G_LEV=2.0, G_BZD=3.0)
    p = {x.name: x.default for x in sz.parameters}
    q = {"NMDA.SURFACE": 1.0, "GABAA.SURFACE": 0.8, "CHLORIDE.E_GABA": -45.0, "BZD.EFFECT": 0.5,
         "LEV.EFFECT": 0.25, "KET.NMDA_BLOCK": 0.0}
    exc, inh, f = sz._balance(np.array([1.0]), p, q)
    f_drive = (p["E_THR"] + 45.0) / (p["E_THR"] - p["E_GABA0"])
    f_expected = (p["SHUNT"] + f_drive) / (1.0 + p["SHUNT"])
    assert float(f) == pytest.approx(f_expected, rel=1e-12)
    assert float(inh) == pytest.approx((0.8 + 3.0 * 0.5) * f_expected + 2.0 * 0.25, rel=1e-12)
    with pytest.raises(ModelError, match="listed twice"):
        Seizure(("LEV.EFFECT",), (), (), ("LEV.EFFECT",))
