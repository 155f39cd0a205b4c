"""Multiple-dose / steady-state NCA (``pkpd.nca(..., tau=)``) against an independent computation and textbook
identities, on a one-compartment model with first-order absorption.

Sources
-------
- Profile in closed form: superposition of the Bateman function over the doses (Gibaldi & Perrier,
  *Pharmacokinetics*, 2nd ed., 1982, ch. 3 "Multiple dosing"). After infinitely many doses every tau (the last at
  time 0, no dose after it) C_ss(t) = F D ka/(V (ka - k)) [e^(-k t)/(1 - e^(-k tau)) - e^(-ka t)/(1 - e^(-ka tau))]
  for every t >= 0 (the sum over the doses given at 0, -tau, -2 tau, ...); after a finite number of doses the
  sum of the Bateman terms of the doses already given.
- Independent computation: the trapezoid sums, the interpolation of C at tau, the λz regression (``numpy.polyfit``
  on the same points) and the interval metrics are written below with plain Python and numpy, without any pkpd
  code; they must agree with ``nca`` to 1e-9 (relative).
- Textbook identities checked (Gibaldi & Perrier 1982, ch. 3): (1) at steady state the AUC over a dosing interval
  equals AUC(0, ∞) after a single dose, F·D/CL, so that CAVG·tau·CL/F = D; (2) the accumulation ratio of a
  one-compartment model, R = 1/(1 - e^(-k tau)), which is the ratio of the concentrations at steady state and
  after the first dose at the same time after the dose once absorption is over (here at t = tau) and which
  ``RACC_LZ`` computes from λz. These hold for the exact areas, so they are checked with a tolerance set by the
  trapezoid error (or by e^(-ka tau)).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pkpd.estimation.nca import NCA_COLUMNS, NCA_TAU_COLUMNS, nca

F, D, KA, V, CL, TAU = 0.8, 200.0, 1.5, 30.0, 3.0, 12.0
K = CL / V  # 0.1 /h
A = F * D * KA / (V * (KA - K))


def c_ss(t):
    t = np.asarray(t, float)
    return A * (np.exp(-K * t) / (1 - math.exp(-K * TAU)) - np.exp(-KA * t) / (1 - math.exp(-KA * TAU)))


def c_after(t, dose_times):
    """Concentration at t after the doses given at dose_times (superposition of Bateman functions)."""
    t = np.asarray(t, float)
    out = np.zeros_like(t)
    for td in dose_times:
        dt = t - td
        on = dt >= 0
        out[on] += A * (np.exp(-K * dt[on]) - np.exp(-KA * dt[on]))
    return out


def ss_dataset(times, id=1):
    """A steady-state dose record (SS=1, II=TAU) at time 0, depot CMT 1, samples in CMT 2."""
    times = np.asarray(times, float)
    n = len(times)
    return pd.DataFrame({"ID": id, "TIME": np.r_[0.0, times], "AMT": np.r_[D, np.zeros(n)],
                         "SS": np.r_[1, np.zeros(n)], "II": np.r_[TAU, np.zeros(n)],
                         "CMT": np.r_[1, np.full(n, 2)], "DV": np.r_[np.nan, c_ss(times)]})


# ---------------------------------------------------------------------------------------------
# independent computation
# ---------------------------------------------------------------------------------------------
def trapezoid(t, c, method):
    total = 0.0
    for t1, t2, c1, c2 in zip(t[:-1], t[1:], c[:-1], c[1:]):
        if method == "linear-up/log-down" and 0 < c2 < c1:
            total += (c1 - c2) * (t2 - t1) / math.log(c1 / c2)
        else:
            total += (c1 + c2) * (t2 - t1) / 2
    return total


def hand(t, c, tau, method, lz_points=None):
    """Interval metrics of samples (t, c) (time since the dose, a sample at t = 0)."""
    t, c = list(map(float, t)), list(map(float, c))
    lz = None
    if lz_points is not None:
        sel = [(ti, ci) for ti, ci in zip(t, c) if lz_points[0] <= ti <= lz_points[1]]
        slope, _ = np.polyfit([s[0] for s in sel], [math.log(s[1]) for s in sel], 1)
        lz = -float(slope)
    ins = [(ti, ci) for ti, ci in zip(t, c) if ti <= tau]
    if ins[-1][0] == tau:
        ctau, extra = ins[-1][1], 0.0
        pts = ins
    else:
        later = [(ti, ci) for ti, ci in zip(t, c) if ti > tau]
        t1, c1 = ins[-1]
        if later:  # interpolate with the AUC method's rule
            t2, c2 = later[0]
            if method == "linear-up/log-down" and 0 < c2 < c1:
                ctau = c1 * (c2 / c1) ** ((tau - t1) / (t2 - t1))
            else:
                ctau = c1 + (c2 - c1) * (tau - t1) / (t2 - t1)
            pts, extra = ins + [(tau, ctau)], 0.0
        else:  # extrapolate with λz from the last sample; the area of the exponential
            ctau = c1 * math.exp(-lz * (tau - t1))
            pts, extra = ins, (c1 - ctau) / lz
    auc = trapezoid([p[0] for p in pts], [p[1] for p in pts], method) + extra
    cs = [ci for _, ci in ins]
    cmax, cmin = max(cs), min(cs)
    out = {"AUC_TAU": auc, "CTAU": ctau, "CMAX_SS": cmax, "TMAX_SS": ins[cs.index(cmax)][0], "CMIN_SS": cmin,
           "CAVG": auc / tau, "FLUCTUATION_PCT": 100 * (cmax - cmin) / (auc / tau), "SWING": (cmax - cmin) / cmin,
           "CL_SS": D / auc}
    if lz is not None:
        out.update(LAMBDA_Z=lz, RACC_LZ=1 / (1 - math.exp(-lz * tau)), VZ_SS=D / (lz * auc))
    return out


def check(row, expected):
    for key, value in expected.items():
        assert row[key] == pytest.approx(value, rel=1e-9, abs=0), key


# ---------------------------------------------------------------------------------------------
# steady state: nca against the independent computation (1e-9)
# ---------------------------------------------------------------------------------------------
GRID = np.r_[np.arange(0, 12.01, 0.25), 14, 16, 20, 24, 30, 36, 48]


@pytest.mark.parametrize("method", ["linear-up/log-down", "linear"])
def test_steady_state_interval_matches_the_independent_computation(method):
    res = nca(ss_dataset(GRID), tau=TAU, auc_method=method, lambda_z={1: (24, 48)})
    assert list(res.columns) == list(NCA_COLUMNS)[:-1] + list(NCA_TAU_COLUMNS) + ["NOTE"]
    r = res.iloc[0]
    assert r.ROUTE == "extravascular" and r.SS == 1 and r.INTERVAL_START == 0 and r.TAU == TAU
    check(r, hand(GRID, c_ss(GRID), TAU, method, lz_points=(24, 48)))
    # the washout points lie on e^(-k t) (the absorption term is below 1e-15 of it): λz = k
    assert r.LAMBDA_Z == pytest.approx(K, rel=1e-9)
    assert math.isnan(r.CL) and math.isnan(r.AUC_TAU_FIRST) and math.isnan(r.RACC_AUC)
    # the exact identity CAVG·tau·CL_SS = D
    assert r.CAVG * TAU * r.CL_SS == pytest.approx(D, rel=1e-14)


@pytest.mark.parametrize("method", ["linear-up/log-down", "linear"])
def test_ctau_interpolated_between_samples(method):
    times = np.r_[np.arange(0, 11.6, 0.5), 12.5, 16, 24, 36, 48]  # no sample at tau = 12
    r = nca(ss_dataset(times), tau=TAU, auc_method=method, lambda_z={1: (24, 48)}).iloc[0]
    check(r, hand(times, c_ss(times), TAU, method, lz_points=(24, 48)))
    assert "CTAU interpolated" in r.NOTE


def test_ctau_extrapolated_with_lambda_z_beyond_the_last_sample():
    times = np.arange(0, 10.6, 0.5)  # last sample at 10.5 h, tau = 12
    r = nca(ss_dataset(times), tau=TAU, lambda_z={1: (6, 10.5)}).iloc[0]
    check(r, hand(times, c_ss(times), TAU, "linear-up/log-down", lz_points=(6, 10.5)))
    assert "CTAU extrapolated" in r.NOTE


def test_unsampled_dose_time_starts_from_the_minimum_of_the_interval():
    """Without a sample at t0 the concentration at the dose time is the interval's minimum (WinNonlin's rule at
    steady state); here the minimum is the sample at tau, equal to C(0) at steady state."""
    times = GRID[1:]
    r = nca(ss_dataset(times), tau=TAU, lambda_z={1: (24, 48)}).iloc[0]
    cmin = float(c_ss(TAU))
    t = np.r_[0.0, times]
    c = np.r_[cmin, c_ss(times)]
    inside = times <= TAU
    assert r.AUC_TAU == pytest.approx(trapezoid(t[t <= TAU], c[t <= TAU], "linear-up/log-down"), rel=1e-9)
    assert r.CMIN_SS == pytest.approx(c_ss(times[inside]).min(), rel=1e-12)
    assert "set to the minimum in the interval" in r.NOTE


# ---------------------------------------------------------------------------------------------
# textbook identities (Gibaldi & Perrier 1982, ch. 3)
# ---------------------------------------------------------------------------------------------
def test_auc_tau_at_steady_state_tends_to_the_single_dose_auc_inf():
    """AUC_TAU,ss = AUC(0, ∞) of one dose = F·D/CL; the trapezoid error falls as the sampling gets denser, and
    CAVG·tau·CL/F = D within it."""
    errors = []
    for n in (12, 48, 192, 768):
        times = np.linspace(0, TAU, n + 1)
        r = nca(ss_dataset(np.r_[times, 24, 36, 48]), tau=TAU, lambda_z={1: (24, 48)}).iloc[0]
        errors.append(abs(r.AUC_TAU / (F * D / CL) - 1))
    assert all(e2 < e1 / 3 for e1, e2 in zip(errors[:-1], errors[1:])), errors  # ~h²: /16 per step
    assert errors[-1] < 1e-5
    assert r.CAVG * TAU * CL / F == pytest.approx(D, rel=1e-5)
    # and a single-dose analysis of the single-dose profile gives the same number
    t1 = np.r_[np.linspace(0, 48, 3073), 60, 72, 96]
    single = pd.DataFrame({"ID": 1, "TIME": np.r_[0.0, t1], "AMT": np.r_[D, np.zeros(len(t1))],
                           "CMT": np.r_[1, np.full(len(t1), 2)], "DV": np.r_[np.nan, c_after(t1, [0.0])]})
    auc_inf = nca(single).iloc[0].AUCINF_OBS
    assert auc_inf == pytest.approx(F * D / CL, rel=1e-5)
    assert r.AUC_TAU == pytest.approx(auc_inf, rel=1e-5)


def test_accumulation_ratios_after_repeated_doses():
    """Twenty doses every tau (ADDL 19): the first interval and the last are sampled. RACC_AUC (observed
    AUC_TAU/AUC_TAU_FIRST) matches the independent trapezoid ratio; RACC_LZ = 1/(1 - e^(-λz tau)) equals Gibaldi's
    R = 1/(1 - e^(-k tau)), which is also CTAU at steady state over C(tau) after the first dose."""
    n = 20
    last = (n - 1) * TAU
    grid = np.r_[np.arange(0, 12.01, 0.25), 14, 16, 20, 24, 30, 36, 48]
    t_first = grid[grid <= TAU]
    times = np.r_[t_first, last + grid]
    dose_times = [i * TAU for i in range(n)]
    conc = c_after(times, dose_times)
    df = pd.DataFrame({"ID": 1, "TIME": np.r_[0.0, times], "AMT": np.r_[D, np.zeros(len(times))],
                       "ADDL": np.r_[n - 1, np.zeros(len(times))], "II": np.r_[TAU, np.zeros(len(times))],
                       "CMT": np.r_[1, np.full(len(times), 2)], "DV": np.r_[np.nan, conc]})
    r = nca(df, tau="II", lambda_z={1: (24, 48)}).iloc[0]  # times since the dose
    assert r.INTERVAL_START == last and r.SS == 0
    ss = hand(grid, c_after(last + grid, dose_times), TAU, "linear-up/log-down", lz_points=(24, 48))
    check(r, ss)
    first = trapezoid(t_first, c_after(t_first, [0.0]), "linear-up/log-down")
    assert r.AUC_TAU_FIRST == pytest.approx(first, rel=1e-9)
    assert r.RACC_AUC == pytest.approx(ss["AUC_TAU"] / first, rel=1e-9)
    gibaldi = 1 / (1 - math.exp(-K * TAU))
    assert r.RACC_LZ == pytest.approx(gibaldi, rel=1e-9)
    c_first_tau = float(c_after([TAU], [0.0])[0])
    assert r.CTAU / c_first_tau == pytest.approx(gibaldi, rel=1e-6)  # up to e^(-ka tau) = 1.5e-8
    # the observed AUC ratio is not R for an oral dose but AUC(0, ∞)/AUC(0, tau) of the first dose (within the
    # trapezoid error of 0.25 h steps through the absorption phase)
    exact_ratio = (F * D / CL) / (A * ((1 - math.exp(-K * TAU)) / K - (1 - math.exp(-KA * TAU)) / KA))
    assert r.RACC_AUC == pytest.approx(exact_ratio, rel=1e-3)
    assert abs(exact_ratio / gibaldi - 1) > 0.02
