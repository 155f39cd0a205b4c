"""The SE calibration machinery: trial protocols, timing, response definitions and the calibrated defaults.

Sources (all NEJM): RAMPART (Silbergleit 2012) 73.4 % / 63.4 %, ESETT (Kapur 2019) 47 / 45 / 46 %, VA Cooperative
(Treiman 1998) 64.9 / 43.6 / 58.2 / 55.8 %. The calibration itself (RAMPART and ESETT fitted, the VA Cooperative
arms predicted) is checked in tests/validation/test_se_chain.py.
"""

import numpy as np
import pytest

from pkpd.se import calibration as cal
from pkpd.se import defaults as SE

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
                                                                         0.436, 0.582, 0.558, 0.591, 0.426, 0.211]
    pb = cal.VA_COOPERATIVE.arm("phenobarbital 15 mg/kg").doses[0]
    assert np.allclose(pb.durations_h(pb.amounts(wt)) * 60, wt * 15 / 100)      # 100 mg/min


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
    weak = cal.simulate_arm(cal.RAMPART, "lorazepam IV 4 mg", {"G_BZD": 1.0}, n=60)
    strong = cal.simulate_arm(cal.RAMPART, "lorazepam IV 4 mg", {"G_BZD": 1000.0}, n=60)
    assert 0 <= weak < strong <= 1


@pytest.mark.calibration_check
def test_calibrated_values_are_the_library_defaults():
    """Calibration check (transcription): the SE defaults table (pkpd.se.defaults) holds the values of the fit
    recorded in CALIBRATED, each tagged [C]."""
    assert cal.defaults() == cal.CALIBRATED["values"]
    for key in ("E0", "G_BZD", "G_2L", "K_SEIZURE", "N_2L"):
        assert SE.NETWORK[key].tag == "[C]"


def test_esett_enrols_only_benzodiazepine_failures_and_second_line_does_the_work():
    """With IV lorazepam as the last benzodiazepine almost no enrolled patient stops without a second-line
    effect (the floor that IM midazolam's slow absorption created, module docstring of pkpd.se.calibration)."""
    floor = cal.simulate_arm(cal.ESETT, "levetiracetam 60 mg/kg", {"G_2L": 0.1}, n=400, return_detail=True)
    assert floor["enrolled"] > 100 and floor["rate"] < 0.02


def test_summary_command_prints_counts_values_and_every_arm(capsys):
    """``python -m pkpd.se.calibration --summary``: fewer free parameters than calibration targets, printed."""
    assert cal.main(["--summary", "--n", "40"]) == 0
    out = capsys.readouterr().out
    assert f"free calibrated parameters: {len(cal.CALIBRATION_PARAMETERS)} " in out
    assert "calibration targets: 7; validation targets: 12" in out
    for name in cal.CALIBRATION_PARAMETERS:
        assert f"  {name} " in out
    for trial in (cal.RAMPART, cal.ESETT, cal.VA_COOPERATIVE):
        for arm in trial.arms:
            assert arm.name in out
    with pytest.raises(SystemExit):
        cal.main(["--summary", "--n", "0"])
