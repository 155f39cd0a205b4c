"""Calibration of the SE model to RAMPART, ESETT and the VA Cooperative trial (issue 7, criterion 2).

Sources (all NEJM): RAMPART (Silbergleit 2012) 73.4 % / 63.4 %, ESETT
(Kapur 2019) 47 / 45 / 46 %, VA Cooperative (Treiman 1998) 64.9 % / 43.6 %. The protocol tests are fast;
the criterion itself -- >= 2000 virtual adults per arm with the library's calibrated defaults, every arm
within +-8 percentage points -- takes ~10 s per table, as does the held-out check (calibrated on RAMPART and
ESETT only, :data:`pkpd.calibration.HELD_OUT`, predicting the VA Cooperative trial).
"""

import numpy as np
import pytest

from pkpd import calibration as cal

@pytest.mark.calibration_check
def test_calibration_check_protocol_doses_caps_and_observed_rates():
    """Calibration check (transcription): the Trial protocols' doses, mg/kg caps and infusion rate and every
    arm's observed rate were set from RAMPART, ESETT and the VA Cooperative trial; the expected numbers are
    those same published values, so agreement only shows they were copied (and capped) correctly."""
    wt = np.array([50.0, 75.0, 100.0])
    lev = cal.ESETT.arm("levetiracetam 60 mg/kg").doses[1]
    fos = cal.ESETT.arm("fosphenytoin 20 mg PE/kg").doses[1]
    vpa = cal.ESETT.arm("valproate 40 mg/kg").doses[1]
    assert lev.amounts(wt).tolist() == [3000.0, 4500.0, 4500.0]
    assert fos.amounts(wt).tolist() == [1000.0, 1500.0, 1500.0]
    assert vpa.amounts(wt).tolist() == [2000.0, 3000.0, 3000.0]
    pht = cal.VA_COOPERATIVE.arm("phenytoin 18 mg/kg").doses[0]
    assert np.allclose(pht.durations_h(pht.amounts(wt)) * 60, wt * 18 / 50)   # 50 mg/min
    assert [a.observed for t in cal.TRIALS.values() for a in t.arms] == [0.734, 0.634, 0.47, 0.45, 0.46, 0.649,
                                                                         0.436]


def test_timing_and_response_definitions():
    t = cal.RAMPART.timing(400, 1)
    assert (t["arrival"] >= 5).all() and (t["ed"] > t["arrival"]).all()
    e = cal.ESETT.timing(400, 1)
    gap = e["second"] - e["bzd"]
    assert gap.min() >= 5 and gap.max() <= 30
    assert np.allclose(e["observe"][1] - e["second"], 60)
    act = np.array([[0.5, 0.05], [0.05, 0.05], [0.9, 0.9]])
    enrolled, responded = cal.ESETT.responders(act)
    assert enrolled.tolist() == [True, False, True] and responded.tolist() == [True, True, False]
    enrolled, responded = cal.VA_COOPERATIVE.responders(np.array([[0.9, 0.05, 0.5], [0.9, 0.05, 0.05],
                                                                  [0.05, 0.05, 0.05]]))
    assert enrolled.tolist() == [True, True, False] and responded.tolist() == [False, True, True]
    enrolled, responded = cal.RAMPART.responders(np.array([[0.9, 0.05], [0.9, 0.5], [0.05, 0.05]]))
    assert enrolled.tolist() == [True, True, False] and responded.tolist() == [True, False, True]


def test_weight_scaling_of_pk():
    df = cal.virtual_cohort(("lorazepam",), 50, 3)
    ref = cal.virtual_cohort(("lorazepam",), 50, 3, extra_params={})
    assert np.allclose(df["LZP.CL"], ref["LZP.CL"])
    iiv_only = cal.scenarios.cohort_parameters(("lorazepam",), 50, 3)
    assert np.allclose(df["LZP.V1"] / iiv_only["LZP.V1"], df["WT"] / 70.0)


def test_small_arm_runs_and_responds_to_potency():
    weak = cal.simulate_arm(cal.RAMPART, "lorazepam IV 4 mg", {"KA_LZP": 0.2}, n=60)
    strong = cal.simulate_arm(cal.RAMPART, "lorazepam IV 4 mg", {"KA_LZP": 0.005}, n=60)
    assert 0 <= weak < strong <= 1


@pytest.mark.calibration_check
def test_calibrated_values_are_the_library_defaults():
    """Calibration check (transcription): the library defaults of the calibrated quantities (SEIZURE.E0,
    G_BZD, G_VPA, scenarios.IIV, lorazepam KA, second-line EC50s, phenytoin KE0) were set from the fit
    recorded in CALIBRATED; this checks that they agree."""
    assert cal.defaults() == {**cal.defaults(), **cal.CALIBRATED["values"]}
    assert set(cal.HELD_OUT) <= set(cal.CALIBRATION_PARAMETERS)


def test_esett_enrols_only_benzodiazepine_failures_and_second_line_does_the_work():
    """With IV lorazepam as the last benzodiazepine no enrolled patient stops without a second-line
    effect (the floor that IM midazolam's slow absorption created, module docstring of pkpd.calibration)."""
    floor = cal.simulate_arm(cal.ESETT, "levetiracetam 60 mg/kg", {"EC50_LEV": 1e3}, n=400, return_detail=True)
    assert floor["enrolled"] > 100 and floor["rate"] < 0.02


ARMS = [(t.name, a.name) for t in cal.TRIALS.values() for a in t.arms]


@pytest.fixture(scope="module")
def default_table():
    return cal.summary({}, n=2000, seed=2024)


@pytest.fixture(scope="module")
def held_out_table():
    return cal.summary(cal.HELD_OUT, n=2000, seed=2024)


def _row(table, trial, arm):
    return table[(table["trial"] == trial) & (table["arm"] == arm)].iloc[0]


@pytest.mark.calibration_check
@pytest.mark.parametrize("trial,arm", ARMS)
def test_calibrated_defaults_reproduce_every_arm_within_8pp(default_table, trial, arm):
    """Calibration check: E0, OMEGA_E0, G_BZD, KA_LZP, EC50_LEV, EC50_PHT, G_VPA and KE0_PHT were fitted to
    these seven arms (RAMPART, ESETT, VA Cooperative; pkpd.calibration.CALIBRATED), so agreement within 8
    percentage points shows the calibration holds, not that the model predicts."""
    row = _row(default_table, trial, arm)
    assert abs(row["error_pp"]) <= 8.0, row.to_dict()


@pytest.mark.calibration_check
@pytest.mark.parametrize("trial,arm", ARMS[:5])
def test_held_out_calibration_fits_rampart_and_esett(held_out_table, trial, arm):
    """Calibration check: the HELD_OUT values (E0, OMEGA_E0, G_BZD, KA_LZP, EC50_LEV, EC50_PHT, G_VPA) were
    fitted to these RAMPART and ESETT arms; only their VA Cooperative predictions (next test) are
    independent."""
    row = _row(held_out_table, trial, arm)
    assert abs(row["error_pp"]) <= 8.0, row.to_dict()


@pytest.mark.parametrize("arm", [
    "lorazepam 0.1 mg/kg",
    pytest.param("phenytoin 18 mg/kg", marks=pytest.mark.xfail(
        strict=True, reason="held-out prediction error about +20 percentage points (63.5 % vs 43.6 % at n 1000): "
                            "RAMPART and ESETT alone do not pin phenytoin's effect-site equilibration, which "
                            "the 20-min VA response window depends on")),
])
def test_held_out_prediction_of_the_va_cooperative_trial(held_out_table, arm):
    row = _row(held_out_table, "VA Cooperative", arm)
    assert abs(row["error_pp"]) <= 8.0, row.to_dict()
