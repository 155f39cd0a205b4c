"""Issue 4, criterion 7: the status-epilepticus components compose with the issue-3 mechanisms and run
batched -- a patient on carbamazepine (CYP3A4 induction, liver and gut pools) for four weeks develops SE and gets
midazolam 10 mg IM, whose *unbound brain* concentration (behind a seizure-driven P-gp,
:class:`~pkpd.physiology.BrainPgp`) feeds the operational model on the surface α2/3/5 GABA-A receptors.

Clinical anchor: patients on enzyme-inducing antiepileptics eliminate midazolam about twice as fast --
terminal t1/2 1.5 ± 0.3 h (Bell 1991, Epilepsy Res [S]) against 2.9 ± 0.7 h in healthy adults
(PMC1874433 [S])."""

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd import drugs
from pkpd.models.effects import BZD_OPERATIONAL, OperationalEffect
from pkpd.physiology import BrainPgp, Chloride, GabaAReceptors, NmdaReceptors
from pkpd.physiology.seizure import Seizure

ONSET = 28 * 24.0                     # SE starts after four weeks of carbamazepine (h)
MDZ, CBZ = drugs.midazolam().with_route("im"), drugs.carbamazepine()


def _model():
    # KA on the unbound brain scale: the plasma-calibrated KA x FU (Kp,uu of midazolam ~ 1, no P-gp efflux)
    ka_unbound = BZD_OPERATIONAL["KA"] * MDZ.params["MDZ.FU"]
    return pkpd.compose(
        *MDZ.components(), *CBZ.components(), drugs.cyp3a4(inducers=[CBZ]),
        BrainPgp("MDZ", seizure_driven=True),
        OperationalEffect("BZD", "MDZ", "GABAA.SURFACE_A235", concentration="MDZ_BRAIN.CU", ka=ka_unbound),
        GabaAReceptors(), NmdaReceptors(), Chloride(), Seizure())


def _regimen(delay_min=15.0):
    # carbamazepine titrated as in the clinic: 200 mg bid for two weeks, then 300 mg bid
    return (CBZ.dose(200, "oral", ii=12, addl=27) + CBZ.dose(300, "oral", time=14 * 24.0, ii=12, addl=27)
            + pkpd.Bolus(1.0, time=ONSET, cmt="SEIZURE.ACTIVITY")               # seizure onset
            + MDZ.dose(10, "im", time=ONSET + delay_min / 60))


def _params():
    """Four subjects: two without carbamazepine (F1 = 0), two with; the second of each pair has a 30 %
    higher midazolam clearance."""
    base = {**MDZ.params, **CBZ.params, "SEIZURE.A0": 0.0}
    frame = pd.DataFrame([base] * 4)
    frame["CBZ.F1"] = [0.0, 0.0, CBZ.params["CBZ.F1"], CBZ.params["CBZ.F1"]]
    frame["MDZ.CL"] = frame["MDZ.CL"] * np.array([1.0, 1.3, 1.0, 1.3])
    frame.insert(0, "ID", [1, 2, 3, 4])
    return frame


@pytest.fixture(scope="module")
def run():
    model = _model()
    times = ONSET + np.concatenate([[-0.1], np.linspace(0, 12, 241)])
    params = _params()
    res = model.simulate(_regimen(), times, params, method="ode")
    return model, times, params, res


def _per_subject(res, name, n=4):
    return np.asarray(res[name]).reshape(n, -1)


def test_no_seizure_before_onset_and_induced_cyp3a4(run):
    _, _, _, res = run
    before = res.to_frame().groupby("ID").first()                      # 6 min before onset
    assert np.all(before["SEIZURE.ACTIVITY"] < 1e-6)                    # the seizure-free state
    assert np.allclose(before["GABAA.SURFACE_A235"], 1.0) and np.allclose(before["MDZ_BRAIN.PGP"], 1.0)
    liver = before["CYP3A4.LIVER"].to_numpy()
    assert np.allclose(liver[:2], 1.0) and np.all(liver[2:] > 1.5)


def test_induction_lowers_midazolam_exposure_as_the_well_stirred_liver_predicts(run, validation):
    """IM midazolam (no first pass): AUC(0-inf) = F Dose / (CL x CL_MULT), so the induced/non-induced AUC
    ratio equals the inverse ratio of MDZ.CL_MULT (CYP3A4 changes little over 12 h) -- checked to 3 %.
    The terminal half-life shortens too (epilepsy patients on inducers: 1.5 h, Bell 1991 [S], against
    2.9 h in healthy adults, PMC1874433 [S] -- partly a smaller V there, so only the direction is asserted)."""
    _, times, _, res = run
    cp, mult = _per_subject(res, "MDZ.CP"), _per_subject(res, "MDZ.CL_MULT")
    after = times >= ONSET
    late = (times >= ONSET + 6) & (times <= ONSET + 12)
    lam = np.array([-np.polyfit(times[late], np.log(c[late]), 1)[0] for c in cp])
    auc = np.trapezoid(cp[:, after], times[after], axis=1) + cp[:, -1] / lam
    onset = np.searchsorted(times, ONSET)
    for induced, control in ((2, 0), (3, 1)):
        validation.compare(f"MDZ AUC ratio induced/control (pair {induced}/{control})", auc[induced] / auc[control],
                           mult[control, onset] / mult[induced, onset], rtol=0.03,
                           source="well-stirred liver: inverse CL_MULT ratio")
        assert lam[control] / lam[induced] < 0.8                  # measured t1/2 ratio 0.65
    assert mult[2, onset] > 1.5


def test_brain_unbound_concentration_drives_the_operational_effect(run):
    _, _, _, res = run
    brain, effect = _per_subject(res, "MDZ_BRAIN.CU"), _per_subject(res, "BZD.EFFECT")
    assert np.all(brain.max(axis=1)[2:] < brain.max(axis=1)[:2])          # less drug reaches the brain
    assert np.all(effect.max(axis=1)[2:] < effect.max(axis=1)[:2])        # and the effect is smaller
    pgp = _per_subject(res, "MDZ_BRAIN.PGP")
    assert np.all(pgp[:, -1] > 1.0)                                       # the seizure up-regulates P-gp


def test_batched_run_equals_one_subject_at_a_time(run, validation):
    model, times, params, res = run
    i = 3  # the last subject of the stacked system (a single-subject stiff run costs about as much as the batch)
    alone = model.simulate(_regimen(), times, params.iloc[[i]], method="ode")
    for name in ("MDZ.CP", "MDZ_BRAIN.CU", "BZD.EFFECT", "GABAA.SURFACE_A235", "SEIZURE.ACTIVITY"):
        batched = _per_subject(res, name)[i]
        validation.compare(f"{name}, subject {i} alone", alone[name], batched, rtol=1e-4,
                           atol=1e-6 * np.abs(batched).max(), source="the same subject in the batched run")
