"""Closed-form solution of linear models against hand-derived formulas.

Every test names the formula it checks. References: Gibaldi & Perrier, *Pharmacokinetics* 2nd ed. (1982)
ch. 1-3 (one- and two-compartment bolus, infusion, first-order absorption, multiple dosing); Rowland &
Tozer, *Clinical Pharmacokinetics and Pharmacodynamics* 4th ed. (2011) ch. 11 (steady state,
accumulation); NONMEM Users Guide VI (PREDPP) for SS/EVID/ADDL semantics. Time h, amount mg, volume L.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pkpd.errors import ModelError
from pkpd.models import pk
from pkpd.engine._closed_form import closed_form_outputs, closed_form_states
from pkpd.engine._schedule import compile_schedule

COLS = ["ID", "TIME", "EVID", "AMT", "RATE", "CMT", "II", "ADDL", "SS"]


def dose(t, amt, cmt=1, rate=0.0, ii=0.0, addl=0, ss=0, evid=1, id=1):
    return [id, t, evid, amt, rate, cmt, ii, addl, ss]


def obs(t, cmt=1, id=1):
    return [id, t, 0, 0.0, 0.0, cmt, 0.0, 0, 0]


def reset(t, id=1):
    return [id, t, 3, 0.0, 0.0, 1, 0.0, 0, 0]


def run(model, records, params, extra_outputs=None):
    """Concentrations CP (and states) at the EVID 0 records, in record order, then at ``extra_outputs``
    ((subject, time) outputs that are not records: they come after everything at their time)."""
    ev = pd.DataFrame(records, columns=COLS)
    ids, p = model.resolve_params(params)
    subj = np.searchsorted(ids, ev["ID"].to_numpy())
    sched = compile_schedule(ev, model, subj, model.dosing_matrices(p, len(ids)),
                             output_mask=(ev["EVID"] == 0).to_numpy(), extra_outputs=extra_outputs)
    out = closed_form_outputs(model, sched, p)
    return out["CP"], closed_form_states(model, sched, p)


def bateman(t, dose, ka, k, v, f=1.0, lag=0.0):
    """One-compartment oral: C = F D ka / (V (ka - k)) (e^{-k s} - e^{-ka s}), s = t - lag > 0 (G&P eq. 1.46)."""
    s = np.asarray(t, dtype=float) - lag
    c = f * dose * ka / (v * (ka - k)) * (np.exp(-k * s) - np.exp(-ka * s))
    return np.where(s > 0, c, 0.0)


# ---------------------------------------------------------------------------------------------- single doses


def test_one_compartment_iv_bolus(validation):
    """C(t) = D/V e^{-k t}, k = CL/V (Gibaldi & Perrier eq. 1.12)."""
    times = [0.0, 0.5, 1.0, 7.0, 24.0, 100.0]
    cp, _ = run(pk.OneCompartment(), [dose(0, 100)] + [obs(t) for t in times], {"CL": 5, "V": 50})
    expected = 100 / 50 * np.exp(-0.1 * np.array(times))
    validation.compare('C (mg/L)', cp, expected, rtol=1e-12)


def test_one_compartment_infusion_during_and_after(validation):
    """During: C = R/CL (1 - e^{-k t}); after (t > T): C = R/CL (1 - e^{-k T}) e^{-k (t - T)} (G&P eq. 2.5, 2.9)."""
    R, T, CL, V = 20.0, 3.0, 5.0, 50.0
    k = CL / V
    times = np.array([0.0, 1.0, 2.5, 3.0, 4.0, 10.0, 30.0])
    cp, _ = run(pk.OneCompartment(), [dose(0, R * T, rate=R)] + [obs(t) for t in times], {"CL": CL, "V": V})
    expected = np.where(times <= T, R / CL * (1 - np.exp(-k * times)),
                        R / CL * (1 - np.exp(-k * T)) * np.exp(-k * (times - T)))
    validation.compare('C (mg/L)', cp, expected, rtol=1e-12, atol=1e-15)


def test_bateman_with_bioavailability_and_lag(validation):
    """C = F D ka/(V(ka-k)) (e^{-k(t-tlag)} - e^{-ka(t-tlag)}) for t > tlag, 0 before (G&P eq. 1.46, 1.51)."""
    par = {"CL": 5.0, "V": 50.0, "KA": 1.3, "F1": 0.6, "ALAG1": 0.75}
    times = np.array([0.0, 0.5, 0.75, 0.8, 1.0, 2.0, 6.0, 24.0])
    cp, _ = run(pk.OneCompartmentOral(), [dose(0, 100)] + [obs(t, cmt=2) for t in times], par)
    expected = bateman(times, 100, 1.3, 0.1, 50.0, f=0.6, lag=0.75)
    validation.compare('C (mg/L)', cp, expected, rtol=1e-12, atol=1e-15)
    assert cp[times <= 0.75].max() == 0.0
    # lag shifts exactly and F scales exactly
    cp0, _ = run(pk.OneCompartmentOral(), [dose(0, 100)] + [obs(t - 0.75, cmt=2) for t in times[3:]],
                 {**par, "F1": 1.0, "ALAG1": 0.0})
    validation.compare('cp[3:]', cp[3:], 0.6 * cp0, rtol=1e-12)


def test_ka_equal_to_k_limit(validation):
    """ka = k: C = D ka/V t e^{-k t} (limit of the Bateman function, G&P eq. 1.47)."""
    CL, V = 5.0, 50.0
    k = CL / V
    times = np.array([0.0, 0.1, 1.0, 5.0, 10.0, 20.0, 72.0])
    cp, _ = run(pk.OneCompartmentOral(), [dose(0, 100)] + [obs(t, cmt=2) for t in times], {"CL": CL, "V": V, "KA": k})
    expected = 100 * k / V * times * np.exp(-k * times)
    validation.compare('C (mg/L)', cp, expected, rtol=1e-10, atol=1e-300)
    assert np.all(np.isfinite(cp))


@pytest.mark.parametrize("rel", [1e-13, 1e-11, 1e-9, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3])
def test_ka_near_k_is_continuous(rel, validation):
    """ka = k(1 + eps): C -> D ka/V t e^{-kt} + O(eps); the exact value is D ka/V (e^{-kt} - e^{-ka t})/(ka - k),
    evaluated without cancellation as D ka/V e^{-kt} t (-expm1(-(ka-k) t)/((ka-k) t))."""
    CL, V = 5.0, 50.0
    k = CL / V
    ka = k * (1 + rel)
    times = np.array([0.5, 5.0, 20.0, 72.0])
    cp, _ = run(pk.OneCompartmentOral(), [dose(0, 100)] + [obs(t, cmt=2) for t in times], {"CL": CL, "V": V, "KA": ka})
    d = ka - k
    expected = 100 * ka / V * np.exp(-k * times) * (-np.expm1(-d * times) / d)
    validation.compare('C (mg/L)', cp, expected, rtol=1e-9)


def test_two_compartment_bolus_macro_constants(validation):
    """C = A e^{-alpha t} + B e^{-beta t}; alpha, beta roots of s^2 - (k10+k12+k21) s + k10 k21;
    A = D/V1 (alpha - k21)/(alpha - beta), B = D/V1 (k21 - beta)/(alpha - beta) (G&P eq. 2.34-2.40)."""
    CL, V1, Q, V2, D = 5.0, 20.0, 10.0, 50.0, 100.0
    k10, k12, k21 = CL / V1, Q / V1, Q / V2
    s = k10 + k12 + k21
    disc = math.sqrt(s * s - 4 * k10 * k21)
    alpha, beta = (s + disc) / 2, (s - disc) / 2
    A = D / V1 * (alpha - k21) / (alpha - beta)
    B = D / V1 * (k21 - beta) / (alpha - beta)
    times = np.array([0.0, 0.25, 1.0, 3.0, 12.0, 48.0, 200.0])
    cp, _ = run(pk.TwoCompartment(), [dose(0, D)] + [obs(t) for t in times], {"CL": CL, "V1": V1, "Q": Q, "V2": V2})
    validation.compare('C (mg/L)', cp, A * np.exp(-alpha * times) + B * np.exp(-beta * times), rtol=1e-11)


def test_two_dose_compartments_superpose(validation):
    """Oral dose into DEPOT plus IV bolus into CENTRAL: C = Bateman(t) + D_iv/V e^{-k (t - t_iv)} (superposition)."""
    par = {"CL": 5.0, "V": 50.0, "KA": 0.8}
    times = np.array([1.0, 2.0, 2.5, 8.0])
    recs = [dose(0, 100, cmt="DEPOT"), obs(1.0, cmt="CENTRAL"), dose(2, 40, cmt="CENTRAL")]
    recs += [obs(t, cmt="CENTRAL") for t in times[1:]]
    cp, _ = run(pk.OneCompartmentOral(), recs, par)
    expected = bateman(times, 100, 0.8, 0.1, 50.0) + np.where(times >= 2, 40 / 50 * np.exp(-0.1 * (times - 2)), 0)
    validation.compare('C (mg/L)', cp, expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------------- steady state


def test_ss_bolus_trough_and_peak_match_accumulation_formula_and_200_doses(validation):
    """SS=1 bolus: trough = D/V e^{-k tau}/(1 - e^{-k tau}), peak = D/V/(1 - e^{-k tau}) (Rowland & Tozer eq. 11-8),
    equal to the value after 200 explicit doses (ADDL=199) within 1e-10."""
    CL, V, D, tau = 5.0, 50.0, 100.0, 12.0
    k = CL / V
    par = {"CL": CL, "V": V}
    cp, _ = run(pk.OneCompartment(), [dose(0, D, ii=tau, ss=1), obs(0), obs(6), obs(tau)], par)
    acc = 1 / (1 - math.exp(-k * tau))
    validation.compare('C (mg/L)', cp,
                       [D / V * acc, D / V * math.exp(-6 * k) * acc, D / V * math.exp(-k * tau) * acc], rtol=1e-12)
    n = 200
    cp200, _ = run(pk.OneCompartment(), [dose(0, D, ii=tau, addl=n - 1), obs(n * tau)], par)
    validation.compare('cp200[0]', cp200[0], cp[2], rtol=1e-10)


def test_observation_before_ss_record_sees_no_steady_state(validation):
    """An observation record before an SS=1 dose at the same time sees the state before it (0 here);
    the one after sees the steady-state peak D/V/(1 - e^{-k tau})."""
    cp, _ = run(pk.OneCompartment(), [obs(0), dose(0, 100, ii=12, ss=1), obs(0)], {"CL": 5, "V": 50})
    assert cp[0] == 0.0
    validation.compare('cp[1]', cp[1], 2.0 / (1 - math.exp(-1.2)), rtol=1e-12)


def _explicit_repeated(model, unit_dose, par, tau, n, offsets, cmt=1):
    """Values at (n-1) tau + s for explicit doses at 0, tau, ..., (n-1) tau (the last one included)."""
    recs = [unit_dose(0, addl=n - 1)] + [obs((n - 1) * tau + s, cmt=cmt) for s in offsets]
    return run(model, recs, par)[0]


@pytest.mark.parametrize("duration", [2.0, 12.0, 30.0, 41.0])
def test_ss_infusion_matches_many_explicit_doses(duration, validation):
    """SS=1 infusion (duration shorter, equal to and longer than II): C(s) over an interval equals the
    superposition of 300 explicit infusions (tail e^{-k 300 tau} ~ 1e-157 is negligible)."""
    CL, V, tau, amt = 5.0, 50.0, 12.0, 240.0
    rate = amt / duration
    par = {"CL": CL, "V": V}
    offsets = [0.0, 0.5, 1.0, 2.0, 5.0, 11.0, 11.99]
    cp_ss, _ = run(pk.OneCompartment(), [dose(0, amt, rate=rate, ii=tau, ss=1)] + [obs(s) for s in offsets], par)
    cp_ex = _explicit_repeated(pk.OneCompartment(), lambda t, addl: dose(t, amt, rate=rate, ii=tau, addl=addl),
                               par, tau, 300, offsets)
    validation.compare('cp_ss', cp_ss, cp_ex, rtol=1e-10)
    # and the closed form of the average: AUC over an interval at steady state = F D / CL
    k = CL / V
    # one-compartment steady-state infusion value at the end of infusion (Rowland & Tozer eq. 11-12 for D < II)
    if duration < tau:
        c_end = rate / CL * (1 - math.exp(-k * duration)) / (1 - math.exp(-k * tau))
        cp_end, _ = run(pk.OneCompartment(), [dose(0, amt, rate=rate, ii=tau, ss=1), obs(duration)], par)
        validation.compare('cp_end[0]', cp_end[0], c_end, rtol=1e-12)


def test_ss_oral_two_compartment_matches_many_explicit_doses(validation):
    """SS=1 oral dose into a 2-compartment model with lag and F equals 400 explicit doses."""
    par = {"CL": 3.0, "V1": 20.0, "Q": 4.0, "V2": 80.0, "KA": 0.9, "F1": 0.7, "ALAG1": 0.4}
    offsets = [0.0, 0.3, 0.4, 0.5, 2.0, 7.9]
    m = pk.TwoCompartmentOral()
    cp_ss, _ = run(m, [dose(0, 100, ii=8, ss=1)] + [obs(s, cmt=2) for s in offsets], par)
    cp_ex = _explicit_repeated(m, lambda t, addl: dose(t, 100, ii=8, addl=addl), par, 8.0, 400, offsets, cmt=2)
    validation.compare('cp_ss', cp_ss, cp_ex, rtol=1e-10)


def test_ss_lag_longer_than_interval(validation):
    """SS=1 oral dose at T with ALAG > II: copies given at T - j II arrive at T + ALAG - j II; at t the
    arrived ones sum to sum_j Bateman(t - T - ALAG + j II) (copy arriving exactly at t: not yet arrived)."""
    CL, V, KA, lag, tau = 5.0, 50.0, 1.1, 15.0, 12.0
    par = {"CL": CL, "V": V, "KA": KA, "ALAG1": lag}
    times = np.array([0.0, 1.0, 3.0, 5.0, 14.0, 16.0, 20.0])
    cp, _ = run(pk.OneCompartmentOral(), [dose(0, 100, ii=tau, ss=1)] + [obs(t, cmt=2) for t in times], par)
    j = np.arange(0, 400)
    expected = np.array([bateman(t - lag + j * tau, 100, KA, 0.1, V).sum() for t in times])
    validation.compare('C (mg/L)', cp, expected, rtol=1e-12)


def test_ss_copy_arriving_at_the_observation_is_not_yet_arrived(validation):
    """SS=1 IV bolus with ALAG = II = 12: copies arrive at 12 - 12 j. At t = 0 the copy arriving exactly
    then is not yet seen (implied events follow the records at their time): C(0) = D/V e^{-12k}/(1 - e^{-12k});
    at t = 0.5 it is: C = D/V e^{-0.5k}/(1 - e^{-12k}); at 12 the own (lagged) dose is not yet seen either."""
    par = {"CL": 5.0, "V": 50.0, "ALAG1": 12.0}
    k = 0.1
    acc = 1 / (1 - math.exp(-12 * k))
    cp, _ = run(pk.OneCompartment(), [dose(0, 100, ii=12, ss=1), obs(0), obs(0.5), obs(12), obs(12.5)], par)
    validation.compare('C (mg/L)', cp, [2 * math.exp(-12 * k) * acc, 2 * math.exp(-0.5 * k) * acc,
                                        2 * math.exp(-12 * k) * acc, 2 * math.exp(-0.5 * k) * acc], rtol=1e-12)


def test_ss2_adds_onto_existing_state_and_ss1_resets(validation):
    """SS=2 at T: C(t) = C_prev(t) + C_ss(t - T); SS=1 at T: C(t) = C_ss(t - T), with
    C_ss(s) = D/V e^{-k s}/(1 - e^{-k tau}) (NONMEM SS=2 vs SS=1; Rowland & Tozer eq. 11-8)."""
    par = {"CL": 5.0, "V": 50.0}
    k = 0.1
    c_prev = 100 / 50 * math.exp(-k * 30)
    c_ss = 50 / 50 * math.exp(-k * 6) / (1 - math.exp(-k * 12))
    cp2, _ = run(pk.OneCompartment(), [dose(0, 100), dose(24, 50, ii=12, ss=2), obs(30)], par)
    cp1, _ = run(pk.OneCompartment(), [dose(0, 100), dose(24, 50, ii=12, ss=1), obs(30)], par)
    validation.compare('cp2[0]', cp2[0], c_prev + c_ss, rtol=1e-12)
    validation.compare('cp1[0]', cp1[0], c_ss, rtol=1e-12)


@pytest.mark.parametrize("model,par", [
    (pk.OneCompartment(), {"CL": 5.0, "V": 50.0}),
    (pk.TwoCompartment(), {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0}),
    (pk.ThreeCompartment(), {"CL": 5.0, "V1": 20.0, "Q": 10.0, "V2": 50.0, "Q3": 2.0, "V3": 100.0}),
])
def test_ss_constant_infusion_is_rate_over_clearance(model, par, validation):
    """SS=1 infusion with II=0: C_ss = R/CL from the record on (Rowland & Tozer eq. 10-3)."""
    cmt = "CENTRAL"
    cp, _ = run(model, [obs(0, cmt=cmt), dose(0, 0, rate=10.0, cmt=cmt, ss=1), obs(0, cmt=cmt), obs(5, cmt=cmt),
                        obs(1000, cmt=cmt)], par)
    assert cp[0] == 0.0
    validation.compare('cp[1:]', cp[1:], 10.0 / 5.0, rtol=1e-12)


def test_ss_without_elimination_raises():
    """A compartment without elimination has no steady state: sum_j e^{0 j tau} diverges."""
    with pytest.raises(ModelError, match="no steady state"):
        run(pk.OneCompartment(), [dose(0, 100, ii=12, ss=1), obs(1)], {"CL": 0.0, "V": 50.0})
    with pytest.raises(ModelError, match="no steady state"):
        run(pk.OneCompartment(), [dose(0, 0, rate=5, ss=1), obs(1)], {"CL": 0.0, "V": 50.0})


# ---------------------------------------------------------------------------------------------- no elimination


def test_infusion_without_elimination_grows_linearly(validation):
    """CL = 0 (eigenvalue 0): an infusion accumulates A(t) = R min(t, T); a bolus stays D."""
    cp, x = run(pk.OneCompartment(), [dose(0, 30, rate=10), obs(0.5), dose(1, 7)] + [obs(t) for t in [2.0, 3.0, 50.0]],
                {"CL": 0.0, "V": 50.0})
    validation.compare('x[:, 0]', x[:, 0], [5.0, 27.0, 37.0, 37.0], rtol=1e-13)


# ---------------------------------------------------------------------------------------------- EVID, ordering


def test_evid3_reset_zeroes_state(validation):
    """EVID 3 resets the system: C = 0 after it until the next dose (NONMEM EVID=3)."""
    par = {"CL": 5.0, "V": 50.0}
    cp, _ = run(pk.OneCompartment(), [dose(0, 100), obs(10), reset(10), obs(10), obs(15), dose(20, 50), obs(22)], par)
    validation.compare('C (mg/L)', cp, [2 * math.exp(-1.0), 0.0, 0.0, 1.0 * math.exp(-0.2)], rtol=1e-12)


def test_evid4_reset_and_dose(validation):
    """EVID 4 = reset then dose: C(t) = D4/V e^{-k(t - t4)} (earlier doses forgotten)."""
    cp, _ = run(pk.OneCompartment(), [dose(0, 100), dose(10, 50, evid=4), obs(10), obs(15)], {"CL": 5, "V": 50})
    validation.compare('C (mg/L)', cp, [1.0, math.exp(-0.5)], rtol=1e-12)


def test_reset_cancels_pending_addl_and_lagged_doses():
    """ADDL copies after a reset are cancelled; a lagged dose arriving after a reset is cancelled."""
    par = {"CL": 5.0, "V": 50.0, "KA": 1.0, "ALAG1": 3.0}
    m = pk.OneCompartmentOral()
    cp, _ = run(m, [dose(0, 100, ii=12, addl=5), reset(1), obs(2, cmt=2), obs(30, cmt=2)], par)
    np.testing.assert_array_equal(cp, [0.0, 0.0])
    cp, _ = run(m, [dose(0, 100, ii=12, addl=5), reset(20), obs(30, cmt=2)], par)
    assert cp[0] == 0.0


def test_observation_before_and_after_dose_record_at_same_time(validation):
    """Record order at equal times: an observation before the dose record is pre-dose, after it post-dose."""
    cp, _ = run(pk.OneCompartment(), [dose(0, 100), obs(5), dose(5, 100), obs(5)], {"CL": 5, "V": 50})
    pre = 2 * math.exp(-0.5)
    validation.compare('C (mg/L)', cp, [pre, pre + 2.0], rtol=1e-12)


def test_addl_dose_at_observation_time_is_seen_after_the_record(validation):
    """Implied (ADDL) doses happen after the records at the same time: an observation at 12 h sees one dose
    (D/V e^{-12k}); an output that is not a record (as in ``Model.simulate``) comes after them and sees two."""
    recs = [dose(0, 100, ii=12, addl=2), obs(12), obs(13)]
    cp, _ = run(pk.OneCompartment(), recs, {"CL": 5, "V": 50})
    validation.compare('C (mg/L)', cp, [2 * math.exp(-1.2), 2 * math.exp(-1.3) + 2 * math.exp(-0.1)], rtol=1e-12)
    cp_after, _ = run(pk.OneCompartment(), recs, {"CL": 5, "V": 50}, extra_outputs=([0], [12.0]))
    validation.compare('cp_after[-1]', cp_after[-1], 2 * math.exp(-1.2) + 2.0, rtol=1e-12)


# ---------------------------------------------------------------------------------------------- AUC


class _OralWithAUC(pk.OneCompartmentOral):
    """One-compartment oral model with an AUC state: dAUC/dt = A_c / V (eigenvalue 0)."""

    states = ("DEPOT", "CENTRAL", "AUC")

    def system_matrix(self, p):
        a = np.zeros((len(p["CL"]), 3, 3))
        a[:, :2, :2] = super().system_matrix(p)
        a[:, 2, 1] = 1.0 / p["V"]
        return a


def test_auc_zero_to_infinity_is_f_dose_over_cl(validation):
    """AUC(0-inf) = F D / CL (Rowland & Tozer eq. 2-14): exactly through an AUC state (eigenvalue 0), and
    within 0.1 % by the trapezoidal rule on a fine grid over 30 half-lives."""
    par = {"CL": 4.0, "V": 40.0, "KA": 1.5, "F1": 0.8, "ALAG1": 0.5}
    target = 0.8 * 100 / 4.0
    _, x_inf = run(_OralWithAUC(), [dose(0, 100), obs(1000.0, cmt=2)], par)
    validation.compare('x_inf[0, 2]', x_inf[0, 2], target, rtol=1e-12)
    times = np.linspace(0, 210, 21001)
    cp, x = run(_OralWithAUC(), [dose(0, 100)] + [obs(t, cmt=2) for t in times], par)
    validation.compare('x[:, 2]', x[:, 2], np.concatenate([[0], np.cumsum(np.diff(times) * (cp[1:] + cp[:-1]) / 2)]),
                       rtol=1e-3, atol=1e-6)
    assert abs(np.trapezoid(cp, times) / target - 1) < 1e-3


# ---------------------------------------------------------------------------------------------- initial state


class _OneCompartmentX0(pk.OneCompartment):
    """One-compartment model starting with 10 mg in CENTRAL (and after each reset)."""

    def initial_state(self, p):
        return np.full((len(p["CL"]), 1), 10.0)


def test_initial_state_decays_and_returns_at_reset(validation):
    """x(t) = x0 e^{-k (t - t_ref)} + doses; t_ref = time of the subject's first record or of the latest
    reset (EVID 3)."""
    x0, k = 10.0, 0.1
    cp, x = run(_OneCompartmentX0(), [obs(2), dose(3, 5), obs(4), reset(10), obs(10), obs(13)], {"CL": 5, "V": 50})
    validation.compare('x[:, 0]', x[:, 0],
                       [x0, x0 * math.exp(-k * 2) + 5 * math.exp(-k * 1), x0, x0 * math.exp(-k * 3)], rtol=1e-12)
