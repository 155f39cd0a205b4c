"""Unit tests of multiple-dose / steady-state NCA, ``pkpd.nca(..., tau=)``: the choice of the dosing interval
(SS records, ADDL/II repeats, one record per dose, ``interval_start``), the rules at the interval's ends, the
columns, and the errors on bad input.

Closed form (Gibaldi & Perrier, *Pharmacokinetics*, 2nd ed., 1982, ch. 3): after IV boluses D every tau into
a one-compartment model, C_ss(t) = (D/V) e^(-k t)/(1 - e^(-k tau)); the log trapezoid integrates it exactly, and
AUC over a dosing interval at steady state = D/CL. Time h, amount mg, concentration mg/L.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.errors import DatasetError
from pkpd.estimation.nca import NCA_COLUMNS, NCA_TAU_COLUMNS, nca
from pkpd.io import read_nonmem

D, V, K, TAU = 100.0, 10.0, 0.2, 12.0


def iv_ss(t):
    return D / V * np.exp(-K * np.asarray(t, float)) / (1 - math.exp(-K * TAU))


def frame(dose_rows, obs_times, obs_conc, id=1, cmt_obs=None):
    """Dose rows (dicts with TIME, AMT and optional SS, II, ADDL, RATE, CMT) then observations."""
    rows = [{"ID": id, "DV": np.nan, **d} for d in dose_rows]
    rows += [{"ID": id, "TIME": float(t), "AMT": 0.0, "DV": float(c), **({"CMT": cmt_obs} if cmt_obs else {})}
             for t, c in zip(obs_times, obs_conc)]
    return pd.DataFrame(rows).fillna({"SS": 0, "II": 0, "ADDL": 0}).sort_values("TIME", kind="stable")


T_SS = np.array([0, 0.5, 1, 2, 4, 6, 8, 12, 16, 24])


def trough_first(t):
    """C_ss at the times t, the sample at the dose time (t = 0) taken before the dose: the trough C_ss(tau)."""
    return np.where(np.asarray(t) == 0, iv_ss(TAU), iv_ss(t))


def test_iv_bolus_at_steady_state_is_exact_with_log_down():
    """The sample at the dose time is the pre-dose trough; C0 is back-extrapolated; AUC_TAU = D/CL exactly."""
    df = frame([{"TIME": 0.0, "AMT": D, "SS": 1, "II": TAU}], T_SS, trough_first(T_SS))
    res = nca(df, route="iv", tau=TAU)
    assert list(res.columns) == list(NCA_COLUMNS)[:-1] + list(NCA_TAU_COLUMNS) + ["NOTE"]
    r = res.iloc[0]
    assert r.SS == 1 and r.TAU == TAU and r.INTERVAL_START == 0
    assert r.C0 == pytest.approx(iv_ss(0)[()], rel=1e-12)
    assert r.AUC_TAU == pytest.approx(D / (K * V), rel=1e-12)
    assert r.CL_SS == pytest.approx(K * V, rel=1e-12)
    assert r.LAMBDA_Z == pytest.approx(K, rel=1e-10)
    assert r.VZ_SS == pytest.approx(V, rel=1e-10)
    assert r.RACC_LZ == pytest.approx(1 / (1 - math.exp(-K * TAU)), rel=1e-10)
    assert r.CTAU == pytest.approx(iv_ss(TAU)[()], rel=1e-12) and r.CMIN_SS == r.CTAU
    # observed extremes: the peak is the first sample after the dose, C0 is not an observation
    assert r.CMAX_SS == pytest.approx(iv_ss(0.5)[()], rel=1e-12) and r.TMAX_SS == 0.5
    assert r.CAVG == pytest.approx(D / (K * V) / TAU, rel=1e-12)
    assert r.FLUCTUATION_PCT == pytest.approx(100 * (r.CMAX_SS - r.CMIN_SS) / r.CAVG, rel=1e-14)
    assert r.SWING == pytest.approx(math.exp(K * (TAU - 0.5)) - 1, rel=1e-10)
    assert math.isnan(r.CL) and math.isnan(r.MRT) and "pre-dose trough" in r.NOTE


def test_without_tau_nothing_changes_and_several_doses_are_refused():
    single = pd.DataFrame({"ID": 1, "TIME": T_SS[1:], "DV": iv_ss(T_SS[1:])})
    assert list(nca(single, route="iv", dose=D).columns) == list(NCA_COLUMNS)
    df = frame([{"TIME": 0.0, "AMT": D, "SS": 1, "II": TAU}], T_SS, trough_first(T_SS))
    with pytest.raises(DatasetError, match="repeated or steady-state dose; nca.. does single-dose analysis only "
                                           "without tau"):
        nca(df, route="iv")


def test_first_dose_interval_keeps_the_single_dose_metrics():
    t = np.array([0.5, 1, 2, 4, 6, 8, 12, 24])
    single = pd.DataFrame({"ID": 1, "TIME": np.r_[0, t], "AMT": np.r_[D, 0 * t], "DV": np.r_[np.nan, D / V * np.exp(-K * t)]})
    plain = nca(single, route="iv").iloc[0]
    r = nca(single, route="iv", tau=TAU).iloc[0]
    for col in list(NCA_COLUMNS)[:-1]:  # all but NOTE
        assert (r[col] == plain[col]) or (pd.isna(r[col]) and pd.isna(plain[col])), col
    assert r.SS == 0 and r.AUC_TAU == pytest.approx(D / V / K * (1 - math.exp(-K * TAU)), rel=1e-12)
    assert math.isnan(r.CL_SS) and math.isnan(r.VZ_SS) and "follows the subject's first dose" in r.NOTE
    assert r.RACC_LZ == pytest.approx(1 / (1 - math.exp(-K * TAU)), rel=1e-9)


def test_default_interval_is_the_last_dose_before_the_last_sample():
    """Doses as one record each (0, 12, 24), plus one after the last sample (ignored)."""
    doses = [{"TIME": 12.0 * i, "AMT": D} for i in range(3)] + [{"TIME": 60.0, "AMT": D}]
    times = np.array([24, 24.5, 25, 26, 28, 30, 32, 36, 40, 48])
    conc = sum(D / V * np.exp(-K * (times - td)) for td in (0, 12, 24))
    r = nca(frame(doses, times, conc), route="iv", tau=TAU).iloc[0]
    assert r.INTERVAL_START == 24 and r.SS == 0 and r.TMAX_SS == 0
    assert r.AUC_TAU == pytest.approx(sum(D / V / K * (math.exp(-K * (24 - td)) - math.exp(-K * (36 - td)))
                                          for td in (0, 12, 24)), rel=1e-12)
    assert math.isnan(r.AUC_TAU_FIRST)  # no sample after the first dose


def test_interval_start_chooses_an_earlier_dose_and_samples_stop_at_the_next_dose():
    doses = [{"TIME": 0.0, "AMT": D, "ADDL": 2, "II": TAU}]
    times = np.array([0.5, 1, 2, 4, 8, 12, 12.5, 13, 14, 16, 20, 24, 24.5, 25, 26, 28, 32, 36])
    # a sample at a dose time is taken before the dose
    conc = sum(np.where(times > td, D / V * np.exp(-K * np.clip(times - td, 0, None)), 0) for td in (0, 12, 24))
    df = frame(doses, times, conc)
    r1 = nca(df, route="iv", tau=TAU, interval_start=12).iloc[0]
    assert r1.INTERVAL_START == 12 and r1.TLAST == 12  # the samples up to the next dose at 24
    r = nca(df, route="iv", tau="II").iloc[0]
    assert r.INTERVAL_START == 24
    assert r.AUC_TAU_FIRST == pytest.approx(D / V / K * (1 - math.exp(-K * TAU)), rel=1e-12)
    assert r.RACC_AUC == pytest.approx(r.AUC_TAU / r.AUC_TAU_FIRST, rel=1e-15)
    assert r.RACC_AUC == pytest.approx(1 + math.exp(-K * TAU) + math.exp(-2 * K * TAU), rel=1e-12)


def test_extravascular_steady_state_without_a_sample_at_the_dose_time_starts_at_the_minimum():
    t = np.array([1, 2, 4, 8, 12.0])
    c = np.array([5.0, 6.0, 4.0, 3.0, 2.0])
    df = frame([{"TIME": 0.0, "AMT": D, "SS": 1, "II": TAU, "CMT": 1}], t, c, cmt_obs=2)
    r = nca(df, tau=TAU, auc_method="linear").iloc[0]
    expected = np.trapezoid(np.r_[2.0, c], np.r_[0.0, t]) if hasattr(np, "trapezoid") else np.trapz(np.r_[2.0, c], np.r_[0.0, t])
    assert r.AUC_TAU == pytest.approx(expected, rel=1e-14)
    assert r.CMIN_SS == 2.0 and r.CMAX_SS == 6.0 and r.TMAX_SS == 2.0 and r.CTAU == 2.0
    assert r.SWING == pytest.approx(2.0) and "minimum in the interval" in r.NOTE


def test_several_subjects_and_mappings():
    a = frame([{"TIME": 0.0, "AMT": D, "SS": 1, "II": TAU}], T_SS, trough_first(T_SS), id="a")
    b = frame([{"TIME": 0.0, "AMT": D, "SS": 1, "II": 24.0}], T_SS, trough_first(T_SS), id="b")
    res = pkpd.nca(pd.concat([a, b]), route="iv", tau={"a": 12, "b": 24})
    assert list(res.TAU) == [12.0, 24.0]
    assert list(nca(pd.concat([a, b]), route="iv", tau="II").TAU) == [12.0, 24.0]
    assert res.SS.dtype == "Int64"


def test_a_dataset_is_analysed_as_the_dataframe():
    df = frame([{"TIME": 0.0, "AMT": D, "SS": 1, "II": TAU}], T_SS, trough_first(T_SS))
    a = nca(read_nonmem(df), route="iv", tau=TAU)
    b = nca(df, route="iv", tau=TAU)
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------------------------------
# bad input: each names the subject and the value
# ---------------------------------------------------------------------------------------------
SS_DF = frame([{"TIME": 0.0, "AMT": D, "SS": 1, "II": TAU}], T_SS, trough_first(T_SS))


@pytest.mark.parametrize("data, kwargs, message", [
    (SS_DF, {"tau": 0}, "tau 0 for subject 1 is not a positive dosing interval"),
    (SS_DF, {"tau": -12}, "tau -12 for subject 1 is not a positive dosing interval"),
    (SS_DF, {"tau": {1: -1.5}}, "tau -1.5 for subject 1 is not a positive dosing interval"),
    (SS_DF, {"tau": "twelve"}, "tau = 'twelve' is not understood"),
    (SS_DF, {"tau": math.inf}, "tau = inf is not understood"),
    (SS_DF, {"tau": 60}, "tau 60 for subject 1 is longer than the data: the last observation after the dose at "
                         "TIME 0 is at TIME 24"),
    (SS_DF, {"tau": 12, "interval_start": 5}, "interval_start 5 for subject 1: the subject has no dose at that time "
                                              "(doses at TIME 0)"),
    (SS_DF, {"tau": 12, "interval_start": {1: 6}}, "interval_start 6 for subject 1: the subject has no dose"),
    (SS_DF, {"interval_start": 0}, "interval_start 0 is given without tau"),
    (SS_DF, {"tau": {9: 12}}, "tau names subject 9, which is not in the data"),
    (SS_DF, {"tau": {}}, "tau gives no dosing interval for subject 1"),
    (frame([{"TIME": 0.0, "AMT": D}, {"TIME": 12.0, "AMT": D}], [13, 14, 20, 30, 40], [5, 4, 3, 2, 1]),
     {"tau": 24, "interval_start": 0}, "tau 24 for subject 1: the next dose, at TIME 12, falls inside the interval "
                                       "[0, 24]"),
    (frame([{"TIME": 0.0, "AMT": D}], [1, 2, 4], [5, 4, 3]), {"tau": "II"},
     "row 1, column II: value 0 for subject 1: tau='II' needs II > 0"),
    (frame([{"TIME": 0.0, "AMT": D, "SS": 1}], [1, 2, 4], [5, 4, 3]), {"tau": 4},
     "row 1, column II: value 0 leaves a steady-state bolus"),  # read_nonmem's check
    (frame([{"TIME": 0.0, "AMT": 0.0, "RATE": 10.0, "SS": 1}], [1, 2, 4], [5, 4, 3]), {"tau": 4},
     "row 1, column II: value 0 for subject 1: a dose with SS 1 needs an interdose interval II > 0"),
    (frame([{"TIME": 0.0, "AMT": D}, {"TIME": 0.0, "AMT": D}], [1, 2, 4], [5, 4, 3]), {"tau": 4},
     "subject 1 has two doses at TIME 0"),
    (pd.DataFrame({"ID": 1, "TIME": [1.0, 2, 4], "DV": [5.0, 4, 3]}), {"tau": 4, "dose": D},
     "subject 1 has no dose record: multiple-dose NCA (tau) needs the dose records"),
])
def test_bad_input_messages(data, kwargs, message):
    with pytest.raises(DatasetError) as err:
        nca(data, route="iv", **kwargs)
    assert message in str(err.value)
    assert isinstance(err.value, ValueError)
