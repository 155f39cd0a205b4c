"""optimize_dose against hand-derived doses and independent re-simulation (issue: Bayesian dose
individualisation; done when the recommended dose reaches the target within 5 % in simulation).

Linear one-compartment IV bolus, k = CL/V: C(t) = D/V exp(-k t). Every expected dose below is solved
from that formula by hand. The nonlinear tests use phenytoin's textbook values (web page
oocities.org/tmhrx/kinetic/phenytoin.html [S]): VMAX 7 mg/kg/day, KM 4 mg/L, V 0.65 L/kg, for 70 kg.
"""

import math

import pytest
from scipy.integrate import solve_ivp

import pkpd
from pkpd.estimation.dose_optimization import Target, optimize_dose
from pkpd.models import OneCompartment, OneCompartmentMM, OneCompartmentOral

CL, V = 5.0, 50.0
K = CL / V                                      # 0.1 /h
LIN = {"CL": CL, "V": V}
WT = 70.0
PHT = {"VMAX": 7.0 * WT / 24, "KM": 4.0, "V": 0.65 * WT}   # 20.417 mg/h, 4 mg/L, 45.5 L


# -- (1) troughs, linear: closed forms ---------------------------------------------------------------
def test_trough_after_one_bolus_is_target_v_exp_k_tau(validation):
    """Trough at tau = 12 h after one bolus: C = D/V e^{-k tau}  =>  D = C V e^{k tau} = 2*50*e^1.2."""
    rec = optimize_dose(OneCompartment(), pkpd.Bolus(100, ii=12), LIN, Target.trough(2.0))
    assert rec.target.at == 12.0
    validation.compare('rec.dose', rec.dose, 2.0 * V * math.exp(K * 12), rtol=1e-6)       # 332.012 mg
    validation.compare('rec.achieved', rec.achieved, 2.0, rtol=1e-9)


def test_steady_state_trough(validation):
    """SS trough of D every tau: C = D/V e^{-k tau} / (1 - e^{-k tau})  =>  D = C V (e^{k tau} - 1)."""
    rec = optimize_dose(OneCompartment(), pkpd.Bolus(100, ii=12, ss=1), LIN, Target.trough(2.0))
    validation.compare('rec.dose', rec.dose, 2.0 * V * (math.exp(K * 12) - 1), rtol=1e-6)  # 232.012 mg


def test_trough_after_repeated_doses_excludes_the_dose_given_at_the_sampling_time(validation):
    """5 doses every 12 h (ADDL 4, last at 48 h). Default trough at 60 h: C = D/V sum_{j=1..5} e^{-12 k j}.
    Trough at 48 h, before the dose given then: C = D/V sum_{j=1..4} e^{-12 k j}."""
    q = math.exp(-K * 12)
    rec = optimize_dose(OneCompartment(), pkpd.Bolus(100, ii=12, addl=4), LIN, Target.trough(2.0))
    assert rec.target.at == 60.0
    validation.compare('rec.dose', rec.dose, 2.0 * V / sum(q**j for j in range(1, 6)), rtol=1e-6)
    rec48 = optimize_dose(OneCompartment(), pkpd.Bolus(100, ii=12, addl=4), LIN, Target.trough(2.0, at=48))
    validation.compare('rec48.dose', rec48.dose, 2.0 * V / sum(q**j for j in range(1, 5)), rtol=1e-6)


# -- (2) AUC, peak and time above, linear: closed forms ----------------------------------------------
def test_auc_target_is_auc_times_clearance(validation):
    """AUC(0-inf) = D/CL  =>  D = AUC CL; over 0-400 h the truncation is e^{-40} (negligible).
    Over 0-10 h: AUC = D/CL (1 - e^{-k 10})."""
    rec = optimize_dose(OneCompartment(), pkpd.Bolus(100), LIN, Target.auc(80.0, 0, 400))
    validation.compare('rec.dose', rec.dose, 80.0 * CL, rtol=1e-6)                        # 400 mg
    rec10 = optimize_dose(OneCompartment(), pkpd.Bolus(100), LIN, Target.auc(40.0, 0, 10))
    validation.compare('rec10.dose', rec10.dose, 40.0 * CL / (1 - math.exp(-K * 10)), rtol=1e-6)


def test_auc_of_an_oral_dose_and_of_a_daily_window_at_steady_state(validation):
    """Oral, F 0.8: AUC(0-inf) = F D / CL  =>  D = AUC CL / F (window 0-500 h: truncation e^{-50}).
    IV every 24 h at SS: AUC over one interval = D/CL  =>  D = AUC CL."""
    p = {"CL": CL, "V": V, "KA": 1.2, "F1": 0.8}
    rec = optimize_dose(OneCompartmentOral(), pkpd.Bolus(100, cmt="DEPOT"), p, Target.auc(60.0, 0, 500))
    validation.compare('rec.dose', rec.dose, 60.0 * CL / 0.8, rtol=1e-6)                  # 375 mg
    rec_ss = optimize_dose(OneCompartment(), pkpd.Bolus(100, ii=24, ss=1), LIN, Target.auc(50.0, 0, 24))
    validation.compare('rec_ss.dose', rec_ss.dose, 50.0 * CL, rtol=1e-6)


def test_peak_of_an_oral_dose(validation):
    """Oral one-compartment: tmax = ln(ka/k)/(ka - k); Cmax = F D ka / (V (ka - k)) (e^{-k tmax} - e^{-ka tmax})."""
    ka = 1.2
    p = {"CL": CL, "V": V, "KA": ka}
    tmax = math.log(ka / K) / (ka - K)
    per_mg = ka / (V * (ka - K)) * (math.exp(-K * tmax) - math.exp(-ka * tmax))
    rec = optimize_dose(OneCompartmentOral(), pkpd.Bolus(100, cmt="DEPOT"), p, Target.peak(8.0, within=(0, 24)))
    validation.compare('rec.dose', rec.dose, 8.0 / per_mg, rtol=1e-6)


def test_time_above_after_a_bolus(validation):
    """C(t) = D/V e^{-k t} > C* while t < ln(D/(V C*))/k: h hours above C*  =>  D = V C* e^{k h}.
    A second case starts the window at 2 h (doses at 0): time above in [2, 48) is h  =>  D = V C* e^{k (2 + h)}."""
    rec = optimize_dose(OneCompartment(), pkpd.Bolus(100), LIN, Target.time_above(1.0, 8.0, 0, 48))
    validation.compare('rec.dose', rec.dose, V * 1.0 * math.exp(K * 8), rtol=1e-6)           # 111.277 mg
    rec2 = optimize_dose(OneCompartment(), pkpd.Bolus(100), LIN, Target.time_above(1.0, 8.0, 2, 48))
    validation.compare('rec2.dose', rec2.dose, V * math.exp(K * 10), rtol=1e-6)


# -- (3) phenytoin, Michaelis-Menten: reloading after a low level -------------------------------------
def _mm_reference(doses, t_end, rate_doses=()):
    """Independent solution: scipy Radau of dC/dt = -VMAX C / (KM + C) / ... written in amounts, restarted at
    each bolus (doses: (time, mg)); rate_doses: (start, duration, mg) zero-order inputs."""
    vmax, km, v = PHT["VMAX"], PHT["KM"], PHT["V"]

    def rhs(t, a):
        r = sum(mg / dur for t0, dur, mg in rate_doses if t0 <= t < t0 + dur)
        return [r - vmax * (a[0] / v) / (km + a[0] / v)]

    stops = sorted({0.0, t_end, *[t for t, _ in doses], *[x for t0, d, _ in rate_doses for x in (t0, t0 + d)]})
    a = 0.0
    for t0, t1 in zip(stops[:-1], stops[1:]):
        a += sum(mg for t, mg in doses if t == t0)
        a = solve_ivp(rhs, (t0, t1), [a], method="Radau", rtol=1e-12, atol=1e-12).y[0, -1]
    return a / v


MAINTENANCE = pkpd.Bolus(150, ii=24, addl=6)      # 150 mg/day for 7 days: low level at 168 h


def test_reloading_bolus_is_volume_times_concentration_gap(validation):
    """Hand check: a bolus raises C at once by D/V, whatever the elimination, so the bolus that brings a level
    C0 to 15 mg/L is D = V (15 - C0). C0 at 168 h from the independent Radau solution."""
    c0 = _mm_reference([(24.0 * j, 150.0) for j in range(7)], 168.0)
    assert 0.5 < c0 < 5.0                                   # a low level (therapeutic range 10-20 mg/L)
    rec = optimize_dose(OneCompartmentMM(), lambda d: pkpd.Bolus(d, time=168), PHT, Target.concentration(15, at=168),
                        history=MAINTENANCE)
    validation.compare('rec.dose', rec.dose, PHT["V"] * (15 - c0), rtol=1e-6)
    peak = optimize_dose(OneCompartmentMM(), lambda d: pkpd.Bolus(d, time=168), PHT, Target.peak(15, within=(168, 192)),
                         history=MAINTENANCE)
    validation.compare('peak.dose', peak.dose, rec.dose, rtol=1e-6)   # the peak of a bolus is right after it


@pytest.mark.parametrize("target, when", [(Target.concentration(15, at=170), 170.0),   # 2 h after the load
                                          (Target.peak(15, within=(168, 192)), 168.5),  # end of the infusion
                                          (Target.trough(15, at=192), 192.0)])           # 24 h after the load
def test_reloading_infusion_reaches_target_in_independent_simulation(target, when, validation):
    """Load as a 30-min infusion at 168 h (after 7 days of 150 mg/day). The recommended dose, re-simulated with
    the independent Radau solution, gives 15 mg/L within 1e-4 (the issue asks for 5 %)."""
    rec = optimize_dose(OneCompartmentMM(), lambda d: pkpd.Infusion(d, duration=0.5, time=168), PHT, target,
                        history=MAINTENANCE, dose_bounds=(0, 5000), rounding=50)
    doses = [(24.0 * j, 150.0) for j in range(7)]
    got = _mm_reference(doses, when, rate_doses=[(168.0, 0.5, rec.dose)])
    validation.compare('got', got, 15.0, rtol=1e-4)
    assert got == pytest.approx(15.0, rel=0.05)             # the criterion
    validation.compare('rec.achieved', rec.achieved, 15.0, rtol=1e-6)
    # the rounded dose is a multiple of 50 mg within 25 mg of the exact one, and its level is simulated too
    assert rec.rounded_dose % 50 == 0 and abs(rec.rounded_dose - rec.dose) <= 25
    again = rec.simulate([when], rounded=True, rtol=1e-10, atol=1e-12)["CP"][0]
    validation.compare('rec.rounded_achieved', rec.rounded_achieved, again, rtol=1e-5)


def test_constant_infusion_rate_for_a_steady_state_level(validation):
    """MM at steady state under a constant infusion R: R = VMAX Css / (KM + Css) (hand: Css 15 mg/L ->
    R = 20.417*15/19 = 16.118 mg/h), so AUC over any 24 h is 24*15 = 360 mg·h/L. With a constant-infusion
    template the dose is its rate (mg/h)."""
    rate = PHT["VMAX"] * 15 / (PHT["KM"] + 15)
    rec = optimize_dose(OneCompartmentMM(), pkpd.Infusion(0, rate=10, ss=1), PHT, Target.auc(360, 0, 24),
                        dose_bounds=(0, PHT["VMAX"] * 0.999))
    validation.compare('rec.dose', rec.dose, rate, rtol=1e-5)
    validation.compare('rec.regimen[0].rate', rec.regimen[0].rate, rate, rtol=1e-5)
    # a linearised guess (dose proportional to level from a 10 mg/h run) is far off: the solve did not assume it
    c10 = OneCompartmentMM().simulate(pkpd.Infusion(0, rate=10, ss=1), [0], PHT, rtol=1e-10)["CP"][0]
    assert abs(10 * 15 / c10 - rate) / rate > 0.2


# -- (4) Bayesian flow: MAP estimate of a patient, then the dose -----------------------------------------
def test_dose_from_a_map_estimate_row_reaches_the_trough(validation):
    """Indometacin patient 2 (25 mg IV bolus, levels over 8 h), population prior CL 8 L/h, V 12 L, 10 % IIV on CL.
    Whatever the MAP CL is, the dose for a 0.5 mg/L trough 6 h after a bolus at 12 h must be the hand value
    C V e^{(CL/V) 6} for the row's CL and V (one-compartment bolus closed form); ID/ETA/SE columns are ignored."""
    pm = pkpd.PopulationModel(OneCompartment(), {"CL": 8.0, "V": 12.0}, {"CL": 0.1}, pkpd.ProportionalError(0.1))
    est = pkpd.map_estimate(pm, pkpd.load_dataset("indometacin").subject(2))
    row = est.iloc[0]
    rec = optimize_dose(OneCompartment(), pkpd.Bolus(25, time=12, ii=6), row, Target.trough(0.5))
    cl, v = float(row["CL"]), float(row["V"])
    assert rec.target.at == 18.0
    validation.compare('rec.dose', rec.dose, 0.5 * v * math.exp(cl / v * 6), rtol=1e-6)
    validation.compare('rec.simulate([18.0])["CP"][0]', rec.simulate([18.0])["CP"][0], 0.5, rtol=1e-6)
