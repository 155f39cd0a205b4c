"""Time-varying parameters carried between records as NONMEM does (issue 6).

NONMEM evaluates $PK at every event record, and PREDPP advances the system from the previous event
time to a record's time with the parameters computed on that record, so a covariate value on record
``r`` is in force over the interval that *ends* at that record, ``(t_{r-1}, t_r]`` (next observation
carried backward, NOCB; NONMEM Users Guide VI, PREDPP). ``carry="locf"`` is the alternative in which
record ``r``'s value applies from ``t_r`` on. Expected values below are hand-derived (piecewise exponentials) or from a
reference ``scipy.integrate.solve_ivp`` (rtol 1e-11) that switches the parameters at the stated time.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

import pkpd
from pkpd.models import OneCompartment, TwoCompartment, compose

SOLVERS = ["dp5", "bdf", "radau", "lsoda"]
TOL = {"dp5": 1e-8, "bdf": 1e-6, "radau": 1e-6, "lsoda": 1e-6}


def _events(times, amt, rate=None, cmt=1):
    n = len(times)
    return pd.DataFrame({"ID": 1, "TIME": np.asarray(times, float), "EVID": [1] + [0] * (n - 1),
                         "AMT": [float(amt)] + [0.0] * (n - 1),
                         "RATE": [0.0 if rate is None else float(rate)] + [0.0] * (n - 1),
                         "CMT": cmt, "II": 0.0, "ADDL": 0, "SS": 0})


# One-compartment IV bolus, 100 mg at 0, V = 10 L; CL = 2 L/h on the records up to 4 h, 5 L/h from the
# record at 6 h on. NOCB: CL = 5 applies over (4, 6] and later, so the switch is at 4 h; LOCF: at 6 h.
BOLUS_TIMES = np.array([0.0, 2.0, 4.0, 6.0, 8.0, 12.0, 24.0])
BOLUS_CL = np.array([2.0, 2.0, 2.0, 5.0, 5.0, 5.0, 5.0])


def _piecewise_bolus(switch):
    """Hand value: C(t) = 10 exp(-0.2 t) up to the switch, then C(switch) exp(-0.5 (t - switch))."""
    t = BOLUS_TIMES
    return np.where(t <= switch, 10.0 * np.exp(-0.2 * t), 10.0 * np.exp(-0.2 * switch) * np.exp(-0.5 * (t - switch)))


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("carry, switch", [("nocb", 4.0), ("locf", 6.0)])
def test_one_compartment_bolus_clearance_change_matches_hand_values(carry, switch, solver, validation):
    res = pkpd.simulate(OneCompartment(), _events(BOLUS_TIMES, 100.0), {"V": 10.0}, method="ode",
                        record_params={"CL": BOLUS_CL}, carry=carry, solver=solver, rtol=1e-10, atol=1e-12)
    validation.compare('res["CP"]', res["CP"], _piecewise_bolus(switch), rtol=TOL[solver], atol=0)
    assert res.method == "ode"


@pytest.mark.parametrize("carry", ["nocb", "locf"])
def test_volume_change_output_uses_the_records_own_value(carry, validation):
    """Both carries evaluate CP = A / V with the record's own V. V = 10 L up to the record at 4 h, 20 L
    from the record at 6 h; CL = 2 L/h throughout. Amount: 100 exp(-k t) piecewise, k = CL/V."""
    V = np.array([10.0, 10.0, 10.0, 20.0, 20.0, 20.0, 20.0])
    res = pkpd.simulate(OneCompartment(), _events(BOLUS_TIMES, 100.0), {"CL": 2.0}, record_params={"V": V},
                        carry=carry, rtol=1e-11, atol=1e-12)
    switch = 4.0 if carry == "nocb" else 6.0
    t = BOLUS_TIMES
    amount = np.where(t <= switch, 100 * np.exp(-0.2 * t), 100 * np.exp(-0.2 * switch) * np.exp(-0.1 * (t - switch)))
    validation.compare('res["CP"]', res["CP"], amount / V, rtol=1e-8)


# Two-compartment, 100 mg infused over 0-10 h (10 mg/h); CL 4 -> 1.5 L/h and Q 8 -> 3 L/h change on the
# record at 6 h (V1 = 15 L, V2 = 40 L); the infusion spans the change.
INF_TIMES = np.array([0.0, 1.0, 3.0, 5.0, 6.0, 7.5, 10.0, 11.0, 16.0, 24.0])
BEFORE = {"CL": 4.0, "V1": 15.0, "Q": 8.0, "V2": 40.0}
AFTER = {"CL": 1.5, "V1": 15.0, "Q": 3.0, "V2": 40.0}


def _reference_two_compartment(switch):
    """solve_ivp (Radau, rtol 1e-11) restarted at the parameter switch and at the infusion end."""
    def rhs(t, y, p, rate):
        flow = p["Q"] * (y[0] / p["V1"] - y[1] / p["V2"])
        return [rate - p["CL"] * y[0] / p["V1"] - flow, flow]

    cuts = sorted({0.0, switch, 10.0, INF_TIMES[-1]})
    y = np.zeros(2)
    out = np.empty(len(INF_TIMES))
    out[0] = 0.0
    for a, b in zip(cuts[:-1], cuts[1:]):
        p = BEFORE if b <= switch else AFTER
        rate = 10.0 if b <= 10.0 else 0.0
        inside = (INF_TIMES > a) & (INF_TIMES <= b)
        grid = np.union1d(INF_TIMES[inside], [b])
        sol = solve_ivp(rhs, (a, b), y, method="Radau", rtol=1e-11, atol=1e-14, args=(p, rate), t_eval=grid)
        out[inside] = sol.y[0, np.searchsorted(grid, INF_TIMES[inside])] / p["V1"]
        y = sol.y[:, -1]
    return out


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("carry, switch", [("nocb", 5.0), ("locf", 6.0)])
def test_two_compartment_infusion_spanning_the_change_matches_reference(carry, switch, solver, validation):
    after = INF_TIMES >= 6.0
    rp = {k: np.where(after, AFTER[k], BEFORE[k]) for k in ("CL", "Q")}
    res = pkpd.simulate(TwoCompartment(), _events(INF_TIMES, 100.0, rate=10.0), {"V1": 15.0, "V2": 40.0},
                        record_params=rp, carry=carry, solver=solver, rtol=1e-10, atol=1e-12)
    ref = _reference_two_compartment(switch)
    validation.compare('res["CP"][1:]', res["CP"][1:], ref[1:], rtol=TOL[solver], atol=0)
    assert res["CP"][0] == 0.0


def test_addl_doses_across_a_clearance_change_match_hand_values(validation):
    """100 mg every 4 h (ADDL 5: doses at 0..20 h), V = 10 L, CL 2 -> 5 L/h from the record at 10 h.

    NOCB with records at 0, 9, 10, 30 h: CL = 5 from 9 h. Hand value: step the amount from dose to dose,
    A(t+) = A(t) exp(-k dt) + 100, with k = 0.2 before 9 h and 0.5 after."""
    ev = _events([0.0, 9.0, 10.0, 30.0], 100.0)
    ev.loc[0, ["II", "ADDL"]] = [4.0, 5]
    res = pkpd.simulate(OneCompartment(), ev, {"V": 10.0}, record_params={"CL": [2.0, 2.0, 5.0, 5.0]},
                        rtol=1e-11, atol=1e-12)

    def amount(t):
        a, now = 0.0, 0.0
        for dose in np.arange(0.0, 21.0, 4.0):
            if dose > t:
                break
            a = _decay(a, now, dose) + 100.0
            now = dose
        return _decay(a, now, t)

    def _decay(a, t0, t1):  # k = 0.2 up to 9 h, 0.5 after
        lo, hi = min(t1, 9.0), max(t0, 9.0)
        return a * np.exp(-0.2 * max(lo - t0, 0.0) - 0.5 * max(t1 - hi, 0.0))

    expected = np.array([amount(t) for t in ev["TIME"]]) / 10.0
    validation.compare('res["CP"]', res["CP"], expected, rtol=1e-8)


@pytest.mark.parametrize("carry", ["nocb", "locf"])
def test_steady_state_uses_the_parameters_of_its_record(carry, validation):
    """SS=1 bolus of 100 mg every 12 h at 0 h (V = 10 L) with CL = 1 L/h on its record, CL = 3 L/h on the
    later records (records at 0, 6, 12 h). Steady state under k = 0.1: A(0+) = 100 / (1 - exp(-1.2)).
    NOCB: k = 0.3 from 0 h on; LOCF: k = 0.1 until the record at 6 h, then 0.3."""
    ev = _events([0.0, 6.0, 12.0], 100.0)
    ev.loc[0, ["II", "SS"]] = [12.0, 1]
    res = pkpd.simulate(OneCompartment(), ev, {"V": 10.0}, record_params={"CL": [1.0, 3.0, 3.0]}, carry=carry,
                        rtol=1e-11, atol=1e-12)
    a0 = 100.0 / (1.0 - np.exp(-1.2))
    if carry == "nocb":
        a = a0 * np.exp(-0.3 * np.array([0.0, 6.0, 12.0]))
    else:
        a = a0 * np.exp(-0.1 * np.minimum([0.0, 6.0, 12.0], 6.0) - 0.3 * np.maximum(np.array([0.0, 6.0, 12.0]) - 6, 0))
    validation.compare('res["CP"]', res["CP"], a / 10.0, rtol=1e-8)


def test_bioavailability_and_lag_are_read_at_the_dose_record(validation):
    """Oral doses (KA = 1/h, CL = 5, V = 50) of 100 mg at 0 h and 12 h with F1 = 1.0 then 0.5 and
    ALAG1 = 0 then 1 h on the dose records; an observation record between them carries other values that
    must not matter. Hand value: sum of Bateman functions F D KA/(V (KA - k)) (e^{-k s} - e^{-KA s})."""
    ev = pd.DataFrame({"ID": 1, "TIME": [0.0, 6.0, 12.0, 14.0, 20.0], "EVID": [1, 0, 1, 0, 0],
                       "AMT": [100.0, 0, 100.0, 0, 0], "RATE": 0.0, "CMT": 1, "II": 0.0, "ADDL": 0, "SS": 0})
    rp = {"F1": [1.0, 0.2, 0.5, 0.9, 0.9], "ALAG1": [0.0, 3.0, 1.0, 0.0, 0.0]}
    res = pkpd.simulate(pkpd.models.OneCompartmentOral(), ev, {"CL": 5.0, "V": 50.0, "KA": 1.0}, record_params=rp,
                        rtol=1e-11, atol=1e-12)
    k = 0.1

    def bateman(s, f):
        s = np.maximum(s, 0.0)
        return f * 100.0 * 1.0 / (50.0 * (1.0 - k)) * (np.exp(-k * s) - np.exp(-s))

    t = ev["TIME"].to_numpy()
    validation.compare('res["CP"]', res["CP"], bateman(t, 1.0) + bateman(t - 13.0, 0.5), rtol=1e-8, atol=1e-14)


def test_reset_returns_to_the_initial_state_under_the_parameters_in_force(validation):
    """Indirect response (Dayneka type III, no drug): R0 = KIN / KOUT. KIN = 2 on the first records, 4 from
    the record at 10 h (KOUT = 0.5 /h), NOCB. R stays at 4 up to the last old record (5 h), then relaxes:
    R = 8 + (4 - 8) exp(-0.5 (t - 5)). An EVID 3 reset at 20 h restarts at KIN/KOUT = 8."""
    ir = pkpd.models.effects.IndirectResponse("R", "D", kind=3, kin=2.0, kout=0.5, emax=1.0, ec50=1.0)
    model = compose(OneCompartment(drug="D"), ir)
    ev = pd.DataFrame({"ID": 1, "TIME": [0.0, 5.0, 10.0, 15.0, 20.0, 20.0, 22.0], "EVID": [1, 0, 0, 0, 0, 3, 0],
                       "AMT": 0.0, "RATE": 0.0, "CMT": 1, "II": 0.0, "ADDL": 0, "SS": 0})
    kin = np.array([2.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0])
    res = pkpd.simulate(model, ev, {"D.CL": 1.0, "D.V": 10.0}, record_params={"R.KIN": kin}, rtol=1e-11,
                        atol=1e-12)
    t = ev["TIME"].to_numpy()
    expected = np.where(t <= 5.0, 4.0, 8.0 - 4.0 * np.exp(-0.5 * (t - 5.0)))
    expected[5:] = 8.0  # after the reset at 20 h: the new baseline
    validation.compare('res["R.RESPONSE"]', res["R.RESPONSE"], expected, rtol=1e-8)


@pytest.mark.parametrize("solver", ["dp5", "bdf"])
def test_mass_balance_with_time_varying_clearance(solver, validation):
    """Composed one-compartment drug with an ELIMINATED compartment: whatever CL does over time,
    CENTRAL + ELIMINATED equals the amount dosed (100 mg at 0 h + 50 mg over 8-12 h) to 1e-9."""
    model = compose(OneCompartment(drug="D"), mass_balance=True)
    ev = pd.DataFrame({"ID": 1, "TIME": [0.0, 3.0, 6.0, 8.0, 9.0, 12.0, 18.0, 30.0],
                       "EVID": [1, 0, 0, 1, 0, 0, 0, 0], "AMT": [100.0, 0, 0, 50.0, 0, 0, 0, 0],
                       "RATE": [0.0, 0, 0, 12.5, 0, 0, 0, 0], "CMT": 1, "II": 0.0, "ADDL": 0, "SS": 0})
    cl = [2.0, 7.0, 0.5, 3.0, 3.0, 10.0, 1.0, 4.0]
    res = pkpd.simulate(model, ev, {"D.V": 20.0}, record_params={"D.CL": cl}, states=True, solver=solver,
                        rtol=1e-11, atol=1e-12)
    dosed = np.array([100.0, 100, 100, 100, 112.5, 150, 150, 150])
    validation.compare('res["D.CENTRAL"] + res["D.ELIMINATED"]', res["D.CENTRAL"] + res["D.ELIMINATED"], dosed,
                       rtol=1e-9)
    # ... and the clearance did change the path: the central amount follows the piecewise exponential
    k = np.array(cl) / 20.0
    assert res["D.CENTRAL"][1] == pytest.approx(100 * np.exp(-3 * k[1]), rel=1e-8)  # NOCB: CL of record 2 over (0, 3]
