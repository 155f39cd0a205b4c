"""Unit tests of pkpd.estimation.nca.nca on constructed profiles whose answers are known in closed form.

Closed forms (Gibaldi & Perrier, *Pharmacokinetics* 2nd ed., 1982, ch. 1 and 11): for C = C0·e^(-kt),
AUC(0,∞) = C0/k, AUMC(0,∞) = C0/k², MRT = 1/k; over a segment of length h the linear trapezoid
overestimates the exact area by the factor x·coth(x), x = kh/2, and the log trapezoid is exact.
Bateman (one compartment, first-order absorption): C = A(e^(-kt) - e^(-ka t)), A = F·D·ka/(V(ka - k)),
AUC(0,∞) = F·D/CL with CL = kV. Time h, amount mg, concentration mg/L.
"""

from __future__ import annotations

import math

import warnings

import numpy as np
import pandas as pd
import pytest

from pkpd.errors import DatasetError
from pkpd.io import load_dataset, read_nonmem
from pkpd.estimation.nca import NCA_COLUMNS, nca


def profile(times, concs, id=1, **extra):
    return pd.DataFrame({"ID": id, "TIME": np.asarray(times, float), "DV": np.asarray(concs, float), **extra})


# ---------------------------------------------------------------------------------------------
# mono-exponential IV bolus: C = 10 e^(-0.2 t)
# ---------------------------------------------------------------------------------------------
K, C0_TRUE, DOSE_IV = 0.2, 10.0, 100.0
T_IV = np.array([0.5, 1, 2, 4, 6, 8, 12, 24])


def mono(t):
    return C0_TRUE * np.exp(-K * np.asarray(t, float))


def test_iv_bolus_log_down_is_exact_for_an_exponential():
    res = nca(profile(T_IV, mono(T_IV)), route="iv", dose=DOSE_IV)
    assert list(res.columns) == list(NCA_COLUMNS)
    r = res.iloc[0]
    assert r.ROUTE == "iv" and r.NOTE == ""
    # C0 back-extrapolated through the first two samples: exact for an exponential
    assert r.C0 == pytest.approx(C0_TRUE, rel=1e-12)
    # every terminal point lies on the line: all fits have adjusted R² = 1, the most points (all 7
    # after Cmax, which is the first sample) win
    assert r.LAMBDA_Z == pytest.approx(K, abs=1e-10)
    assert r.LAMBDA_Z_N == 7 and r.LAMBDA_Z_TSTART == 1.0 and r.LAMBDA_Z_TEND == 24.0
    assert r.R2 == pytest.approx(1.0, abs=1e-12) and r.ADJ_R2 == pytest.approx(1.0, abs=1e-12)
    assert r.HALF_LIFE == pytest.approx(math.log(2) / K, rel=1e-10)
    assert r.CMAX == pytest.approx(mono(0.5)[()], rel=1e-15) and r.TMAX == 0.5
    assert r.TLAST == 24.0 and r.CLAST == pytest.approx(mono(24)[()], rel=1e-15)
    # log-down segments integrate the exponential exactly: AUC(0, 24) = 50(1 - e^-4.8)
    assert r.AUCLAST == pytest.approx(C0_TRUE / K * (1 - math.exp(-K * 24)), rel=1e-12)
    assert r.AUCINF_OBS == pytest.approx(C0_TRUE / K, rel=1e-12)  # 50
    assert r.AUCINF_PRED == pytest.approx(C0_TRUE / K, rel=1e-12)
    assert r.CLAST_PRED == pytest.approx(r.CLAST, rel=1e-10)
    assert r.AUC_PCT_EXTRAP_OBS == pytest.approx(100 * math.exp(-K * 24), rel=1e-9)
    # AUMC(0, 24) = C0/k² (1 - e^-kT (1 + kT)); AUMC(0, ∞) = C0/k² = 250; MRT = 1/k = 5
    assert r.AUMCLAST == pytest.approx(C0_TRUE / K**2 * (1 - math.exp(-K * 24) * (1 + K * 24)), rel=1e-12)
    assert r.AUMCINF_OBS == pytest.approx(C0_TRUE / K**2, rel=1e-12)
    assert r.MRT == pytest.approx(1 / K, rel=1e-12)
    # CL = D/AUC = 2 L/h, VZ = CL/λz = 10 L, VSS = MRT·CL = 10 L (one compartment: all equal V)
    assert r.CL == pytest.approx(2.0, rel=1e-12)
    assert r.VZ == pytest.approx(10.0, rel=1e-10)
    assert r.VSS == pytest.approx(10.0, rel=1e-12)


def test_iv_bolus_linear_trapezoid_overestimates_by_x_coth_x():
    """Linear trapezoid over [t1, t2] of C1 e^(-k(t - t1)): (C1 + C2) h/2 = exact · x coth x, x = kh/2."""
    res = nca(profile(T_IV, mono(T_IV)), route="iv", dose=DOSE_IV, auc_method="linear").iloc[0]
    grid = np.r_[0.0, T_IV]
    expected = 0.0
    for t1, t2 in zip(grid[:-1], grid[1:]):
        exact = C0_TRUE / K * (math.exp(-K * t1) - math.exp(-K * t2))
        x = K * (t2 - t1) / 2
        expected += exact * x / math.tanh(x)
    assert res.AUCLAST == pytest.approx(expected, rel=1e-12)
    exact_last = C0_TRUE / K * (1 - math.exp(-K * 24))
    # the overestimate is real (the 12 -> 24 h segment alone: x = 1.2, x coth x = 1.4326)
    assert res.AUCLAST - exact_last > 0.5
    # λz does not depend on the AUC rule; the extrapolated part Clast/λz is exact
    assert res.AUCINF_OBS == pytest.approx(expected + mono(24)[()] / K, rel=1e-12)
    assert res.AUCINF_OBS > C0_TRUE / K + 0.5


def test_small_profile_linear_up_log_down_by_hand():
    """(0, 0), (1, 4), (2, 2): up 0 -> 4 linear: AUC 2, AUMC (0·0 + 1·4)/2 = 2; down 4 -> 2 over 1 h:
    log: k = ln 2, AUC (4 - 2)/k, AUMC (1·4 - 2·2)/k + (4 - 2)/k²; linear: AUC 3, AUMC (4 + 4)/2 = 4."""
    df = profile([0, 1, 2], [0, 4, 2])
    log = nca(df, dose=1).iloc[0]
    lin = nca(df, dose=1, auc_method="linear").iloc[0]
    k = math.log(2)
    assert log.AUCLAST == pytest.approx(2 + 2 / k, rel=1e-14)
    assert log.AUMCLAST == pytest.approx(2 + 2 / k**2, rel=1e-14)
    assert lin.AUCLAST == pytest.approx(5.0, rel=1e-15)
    assert lin.AUMCLAST == pytest.approx(6.0, rel=1e-15)


# ---------------------------------------------------------------------------------------------
# automatic λz selection
# ---------------------------------------------------------------------------------------------
T_SEL = np.array([0.5, 1, 2, 3, 4, 6, 8, 12])
# ln C = ln 20 - 0.3 t + deviation: the last three points (6, 8, 12 h) exactly on the line, the 4 h
# point 0.004 above it, the 3 h point 0.05 above, the 2 h and 1 h points (distribution) far above.
DEV_SEL = np.array([0, 0.9, 0.5, 0.05, 0.004, 0, 0, 0])
C_SEL = 20 * np.exp(-0.3 * T_SEL + DEV_SEL)
C_SEL[0] = 25.0  # rising to Cmax at 1 h


def _adj_r2(t, c):
    y = np.log(c)
    slope, intercept = np.polyfit(t, y, 1)
    r2 = 1 - ((y - intercept - slope * t) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    n = len(t)
    return -slope, 1 - (1 - r2) * (n - 1) / (n - 2)


def test_auto_selection_takes_the_most_points_within_the_tolerance():
    """Candidates after Cmax (1 h): 2, 3, 4, 6, 8, 12 h. Adjusted R² of the last n points:
    n = 3: 1 (exact line), n = 4: 1 - 3.0e-6 (within 1e-4), n = 5: 1 - 3.5e-4 (outside), n = 6 lower.
    The rule picks n = 4 (4, 6, 8, 12 h). Its slope by hand: the 4 h residual 0.004 at t - t̄ = -3.5,
    Sxx = 35, so λz = 0.3 + 0.004·3.5/35 = 0.3004."""
    adj = {n: _adj_r2(T_SEL[-n:], C_SEL[-n:])[1] for n in range(3, 7)}
    assert adj[3] == pytest.approx(1.0, abs=1e-14)
    assert 1 - 1e-4 + 5e-5 < adj[4] < 1 - 1e-6  # well inside the tolerance, yet below the best
    assert adj[5] < 1 - 1e-4 - 1e-4  # well outside
    assert adj[6] < adj[5]

    r = nca(profile(T_SEL, C_SEL), route="iv", dose=10).iloc[0]
    assert r.TMAX == 1.0
    assert r.LAMBDA_Z_N == 4 and r.LAMBDA_Z_TSTART == 4.0 and r.LAMBDA_Z_TEND == 12.0
    assert r.LAMBDA_Z == pytest.approx(0.3004, rel=1e-12)
    assert r.ADJ_R2 == pytest.approx(adj[4], rel=1e-12)

    # a tighter tolerance keeps only the exact three points; a looser one admits the 3 h point:
    # 5 points, λz = 0.3 + (0.05·3.6 + 0.004·2.6)/51.2 = 0.30371875
    tight = nca(profile(T_SEL, C_SEL), route="iv", dose=10, adj_r2_tolerance=1e-6).iloc[0]
    assert tight.LAMBDA_Z_N == 3 and tight.LAMBDA_Z == pytest.approx(0.3, rel=1e-12)
    loose = nca(profile(T_SEL, C_SEL), route="iv", dose=10, adj_r2_tolerance=1e-3).iloc[0]
    assert loose.LAMBDA_Z_N == 5 and loose.LAMBDA_Z == pytest.approx(0.30371875, rel=1e-12)
    # a zero tolerance means "the best adjusted R² only"
    assert nca(profile(T_SEL, C_SEL), route="iv", dose=10, adj_r2_tolerance=0).LAMBDA_Z_N[0] == 3


def test_exclude_tmax_false_lets_cmax_into_the_candidates():
    """Mono-exponential: with Cmax allowed every sample is on the line, so all 8 are used."""
    r = nca(profile(T_IV, mono(T_IV)), route="iv", dose=DOSE_IV, exclude_tmax=False).iloc[0]
    assert r.LAMBDA_Z_N == 8 and r.LAMBDA_Z_TSTART == 0.5


def test_min_points():
    r = nca(profile(T_SEL, C_SEL), route="iv", dose=10, min_points=4).iloc[0]
    assert r.LAMBDA_Z_N == 4  # n = 3 is no longer a candidate; n = 4 is now the best
    r = nca(profile(T_SEL, C_SEL), route="iv", dose=10, min_points=7).iloc[0]
    assert math.isnan(r.LAMBDA_Z) and "fewer than min_points=7" in r.NOTE


def test_user_chosen_lambda_z_points():
    two = pd.concat([profile(T_SEL, C_SEL, id=1), profile(T_SEL, C_SEL, id=2)])
    # last n points
    res = nca(two, route="iv", dose=10, lambda_z=3)
    assert list(res.LAMBDA_Z_N) == [3, 3] and res.LAMBDA_Z.tolist() == pytest.approx([0.3, 0.3], rel=1e-12)
    # an interval for subject 1 (3..12 h: 5 points), subject 2 automatic (4 points)
    res = nca(two, route="iv", dose=10, lambda_z={1: (3, 12)})
    assert list(res.LAMBDA_Z_N) == [5, 4]
    assert res.LAMBDA_Z.tolist() == pytest.approx([0.30371875, 0.3004], rel=1e-12)
    assert res.LAMBDA_Z_TSTART.tolist() == [3.0, 4.0]
    # an interval may include Cmax; {id: n} also works
    res = nca(two, route="iv", dose=10, lambda_z={1: (1, 12), 2: 6})
    assert list(res.LAMBDA_Z_N) == [7, 6]
    slope7 = _adj_r2(T_SEL[1:], C_SEL[1:])[0]
    assert res.LAMBDA_Z[0] == pytest.approx(slope7, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Bateman oral profile
# ---------------------------------------------------------------------------------------------
def test_bateman_oral_auc_within_the_trapezoid_error_bound():
    """F = 1, D = 100 mg, V = 10 L, ka = 1.5 /h, k = 0.1 /h: CL = 1 L/h, AUC(0,∞) = F·D/CL = 100,
    VZ/F = V = 10. No sample at t = 0, so C(0) = 0 is assumed.

    Error bounds, per segment [t1, t2] of length h:
    - linear (rising, or by choice): |error| <= h³/12 · max|C''| and
      |C''| = A|k² e^(-kt) - ka² e^(-ka t)| <= A(k² e^(-k t1) + ka² e^(-ka t1));
    - logarithmic: the log trapezoid integrates exp(L g) where L g interpolates g = ln C linearly;
      |g - L g| <= δ = h²/8 · max|g''| and g'' = -b² u/(1 - u)², u = e^(-bt), b = ka - k, largest in
      magnitude at t1; so |C - exp(L g)| <= (e^δ - 1) C and |error| <= (e^δ - 1) ∫C.
    λz: ln C = ln A - kt + d(t), d(t) = ln(1 - e^(-bt)), so the least-squares slope over the chosen
    points errs by |Σ (t_i - t̄) d_i| / Sxx. The tail Clast/λz errs from the exact tail
    A(e^(-k tl)/k - e^(-ka tl)/ka) by at most Clast·|1/λz - 1/k| + A e^(-ka tl)/ka.
    """
    F, D, V, ka, k = 1.0, 100.0, 10.0, 1.5, 0.1
    A = F * D * ka / (V * (ka - k))
    b = ka - k
    t = np.array([0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 36, 48, 72])
    c = A * (np.exp(-k * t) - np.exp(-ka * t))

    def exact(t1, t2):
        return A * ((math.exp(-k * t1) - math.exp(-k * t2)) / k - (math.exp(-ka * t1) - math.exp(-ka * t2)) / ka)

    for method in ("linear-up/log-down", "linear"):
        r = nca(profile(t, c), dose=D, auc_method=method, route="extravascular").iloc[0]
        assert r.ROUTE == "extravascular" and r.NOTE == ""
        grid, conc = np.r_[0.0, t], np.r_[0.0, c]
        bound = 0.0
        for i in range(len(grid) - 1):
            t1, t2, c1, c2 = grid[i], grid[i + 1], conc[i], conc[i + 1]
            h = t2 - t1
            if method == "linear-up/log-down" and 0 < c2 < c1:
                delta = h * h / 8 * b * b * math.exp(-b * t1) / (1 - math.exp(-b * t1)) ** 2
                bound += math.expm1(delta) * exact(t1, t2)
            else:
                bound += h**3 / 12 * A * (k * k * math.exp(-k * t1) + ka * ka * math.exp(-ka * t1))
        tl = t[-1]
        assert r.TLAST == tl
        err = r.AUCLAST - exact(0, tl)
        assert abs(err) <= bound
        # the bound is informative: < 0.5 % of AUC for log-down, < 5 % for linear
        assert bound < (0.5 if method == "linear-up/log-down" else 5.0)

        used = t[(t >= r.LAMBDA_Z_TSTART) & (t <= r.LAMBDA_Z_TEND)]
        assert len(used) == r.LAMBDA_Z_N
        d = np.log1p(-np.exp(-b * used))
        dev = used - used.mean()
        lam_bound = abs((dev * d).sum()) / (dev**2).sum()
        assert abs(r.LAMBDA_Z - k) <= lam_bound * (1 + 1e-9) + 1e-15
        assert lam_bound < 1e-3 * k

        tail_bound = r.CLAST * abs(1 / r.LAMBDA_Z - 1 / k) + A * math.exp(-ka * tl) / ka
        assert abs(r.AUCINF_OBS - F * D / (k * V)) <= bound + tail_bound
        assert r.CL == pytest.approx(D / r.AUCINF_OBS, rel=1e-14)
        assert r.CL == pytest.approx(k * V / F, rel=(bound + tail_bound) / 100 * 1.01)
        assert r.VZ == pytest.approx(D / (r.LAMBDA_Z * r.AUCINF_OBS), rel=1e-14)
        assert math.isnan(r.VSS) and math.isnan(r.C0)
    # log-down is much closer than linear here
    log_err = nca(profile(t, c), dose=D).AUCLAST[0] - exact(0, t[-1])
    lin_err = nca(profile(t, c), dose=D, auc_method="linear").AUCLAST[0] - exact(0, t[-1])
    assert abs(log_err) < abs(lin_err) / 5


# ---------------------------------------------------------------------------------------------
# infusion
# ---------------------------------------------------------------------------------------------
def test_infusion_mrt_subtracts_half_the_duration():
    """One compartment, D = 100 mg over T = 2 h (RATE 50 mg/h), k = 0.2 /h, V = 10 L.
    C(T) = R/(kV)(1 - e^(-kT)); after T, C = C(T) e^(-k(t - T)).
    No sample at 0 (C(0) = 0 assumed) and none during the infusion, so NCA integrates [0, T]
    linearly -- AUC C(T)·T/2, AUMC T·C(T)·T/2 -- and the log-linear rest exactly:
    AUC C(T)/k, AUMC C(T)(T/k + 1/k²). MRT = AUMC/AUC - T/2 (Gibaldi & Perrier eq. 11.20);
    VSS = MRT·CL."""
    D, T, k, V = 100.0, 2.0, 0.2, 10.0
    R = D / T
    cT = R / (k * V) * (1 - math.exp(-k * T))
    t_obs = np.array([2, 3, 4, 6, 8, 12, 24.0])
    c_obs = cT * np.exp(-k * (t_obs - T))
    df = pd.concat([
        pd.DataFrame({"ID": [1], "TIME": [0.0], "AMT": [D], "RATE": [R], "CMT": [1], "DV": [np.nan]}),
        pd.DataFrame({"ID": 1, "TIME": t_obs, "AMT": 0.0, "RATE": 0.0, "CMT": 1, "DV": c_obs}),
    ])
    r = nca(df).iloc[0]
    assert r.ROUTE == "infusion" and r.DURATION == T and r.DOSE == D
    assert r.TMAX == T and r.LAMBDA_Z_N == 6 and r.LAMBDA_Z == pytest.approx(k, rel=1e-12)
    auc = cT * T / 2 + cT / k
    aumc = cT * T * T / 2 + cT * (T / k + 1 / k**2)
    assert r.AUCINF_OBS == pytest.approx(auc, rel=1e-12)
    assert r.AUMCINF_OBS == pytest.approx(aumc, rel=1e-12)
    assert r.MRT == pytest.approx(aumc / auc - T / 2, rel=1e-12)
    assert r.CL == pytest.approx(D / auc, rel=1e-12)
    assert r.VSS == pytest.approx((aumc / auc - T / 2) * D / auc, rel=1e-12)
    # the correction matters: the true MRT is 1/k = 5 h; uncorrected AUMC/AUC is 6.17 h
    assert abs(r.MRT - 1 / k) < 0.2 < abs(aumc / auc - 1 / k)
    assert math.isnan(r.C0)


# ---------------------------------------------------------------------------------------------
# C0 and route
# ---------------------------------------------------------------------------------------------
def test_iv_c0_observed_at_dose_time_or_first_value_when_not_decreasing():
    r = nca(profile([0, 1, 2, 4], [12.0, 8, 5, 2]), route="iv", dose=1).iloc[0]
    assert r.C0 == 12.0 and r.CMAX == 12.0 and r.TMAX == 0.0 and r.NOTE == ""
    assert r.AUCLAST == pytest.approx((12 - 8) / math.log(1.5) + 3 / math.log(1.6) + 6 / math.log(2.5), rel=1e-14)
    # a zero at the dose time is a pre-dose sample: back-extrapolate through 1 and 2 h: 8²/5 = 12.8
    r = nca(profile([0, 1, 2, 4], [0.0, 8, 5, 2]), route="iv", dose=1).iloc[0]
    assert r.C0 == pytest.approx(12.8, rel=1e-14)
    # rising first two samples: C0 = first concentration, with a note
    r = nca(profile([1, 2, 4, 6, 8], [5.0, 6, 4, 2, 1]), route="iv", dose=1).iloc[0]
    assert r.C0 == 5.0 and "C0 set to the first positive concentration" in r.NOTE


def test_route_inference():
    def dataset(dose_cmt, obs_cmt, rate):
        return pd.DataFrame({"ID": 1, "TIME": [0, 1, 2, 4, 8.0], "AMT": [10.0, 0, 0, 0, 0],
                             "RATE": [rate, 0, 0, 0, 0], "CMT": [dose_cmt] + [obs_cmt] * 4,
                             "DV": [np.nan, 4, 3, 2, 1]})

    assert nca(dataset(1, 1, 0)).ROUTE[0] == "iv"
    r = nca(dataset(1, 1, 20)).iloc[0]
    assert r.ROUTE == "infusion" and r.DURATION == 0.5
    assert nca(dataset(1, 2, 0)).ROUTE[0] == "extravascular"
    assert nca(dataset(1, 2, 20)).ROUTE[0] == "extravascular"  # zero-order input into a depot
    # issue 18: a bolus without compartments cannot be told IV from oral: the assumption is a NOTE and a warning
    with pytest.warns(UserWarning, match=r"route assumed extravascular for 1 subject\(s\) \(1\).*route='iv'"):
        guessed = nca(dataset(0, 0, 0)).iloc[0]
    assert guessed.ROUTE == "extravascular" and guessed.NOTE.startswith("route assumed extravascular")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert nca(dataset(0, 0, 0), route="iv").NOTE[0] == ""                  # a route given: nothing assumed
        assert nca(dataset(1, 2, 0)).NOTE[0] == ""                              # inferred from CMT: nothing assumed
    assert nca(dataset(0, 0, 20)).ROUTE[0] == "infusion"
    assert nca(dataset(1, 1, 0), route="extravascular").ROUTE[0] == "extravascular"
    assert nca(load_dataset("theophylline")).ROUTE.unique().tolist() == ["extravascular"]
    assert nca(load_dataset("indometacin")).ROUTE.unique().tolist() == ["iv"]


def test_dose_from_records_argument_or_mapping():
    th = load_dataset("theophylline")
    base = nca(th)
    assert base.DOSE[0] == 319.992
    scaled = nca(th, dose=320)
    assert (scaled.DOSE == 320).all()
    assert scaled.CL.tolist() == pytest.approx((base.CL * 320 / base.DOSE).tolist(), rel=1e-14)
    assert scaled.AUCLAST.tolist() == base.AUCLAST.tolist()
    mapped = nca(th, dose={1: 100.0})
    assert mapped.DOSE[0] == 100.0 and mapped.DOSE[1] == base.DOSE[1]


def test_dose_time_offsets_times_and_pre_dose_samples_are_ignored():
    df = pd.DataFrame({"ID": 1, "TIME": [23.0, 24, 25, 26, 28, 32], "AMT": [0, 50.0, 0, 0, 0, 0],
                       "DV": [0.3, np.nan, 8, 6, 3, 1]})
    r = nca(df).iloc[0]
    assert r.TMAX == 1.0 and r.TLAST == 8.0 and r.DOSE == 50.0
    assert "1 sample(s) before the dose ignored" in r.NOTE
    assert r.AUCLAST == pytest.approx(4 + 2 / math.log(8 / 6) + 3 * 2 / math.log(2) + 2 * 4 / math.log(3), rel=1e-14)


# ---------------------------------------------------------------------------------------------
# BLQ
# ---------------------------------------------------------------------------------------------
T_BLQ = [0, 0.5, 1, 2, 4, 6, 8, 12]
C_BLQ = [0.02, 0.03, 2, 5, 4, 0.04, 2, 0.01]  # LLOQ 0.05: BLQ at 0, 0.5 (before), 6 (middle), 12 (last)


@pytest.mark.parametrize("rule, auclast, tlast", [
    # (0,0) (0.5,0) (1,2) (2,5) (4,4) (8,2): 0 + 0.5 + 3.5 + 9 + 12
    ("zero-before-tmax-drop-after", 25.0, 8.0),
    # (0,0) (0.5,0) (1,2) (2,5) (4,4) (6,0) (8,2) [(12,0) after TLAST]: 0.5 + 3.5 + 9 + 4 + 2
    ("zero", 19.0, 8.0),
    # (0,0 assumed) (1,2) (2,5) (4,4) (8,2): 1 + 3.5 + 9 + 12
    ("drop", 25.5, 8.0),
])
def test_blq_rules(rule, auclast, tlast):
    by_arg = nca(profile(T_BLQ, C_BLQ), dose=1, blq=rule, lloq=0.05, auc_method="linear").iloc[0]
    by_col = nca(profile(T_BLQ, C_BLQ, LLOQ=0.05), dose=1, blq=rule, auc_method="linear").iloc[0]
    flags = [1 if c < 0.05 else 0 for c in C_BLQ]
    values = [np.nan if f else c for c, f in zip(C_BLQ, flags)]  # BLQ rows may have no DV at all
    by_flag = nca(profile(T_BLQ, values, BLQ=flags), dose=1, blq=rule, auc_method="linear").iloc[0]
    for r in (by_arg, by_col, by_flag):
        assert r.AUCLAST == pytest.approx(auclast, rel=1e-14)
        assert r.TLAST == tlast and r.CLAST == 2.0 and r.CMAX == 5.0 and r.TMAX == 2.0


def test_a_concentration_equal_to_the_lloq_is_quantified():
    """LLOQ 0.04: the 6 h value 0.04 is kept; only 0, 0.5 (-> 0) and 12 h (dropped) are BLQ."""
    r = nca(profile(T_BLQ, C_BLQ), dose=1, lloq=0.04, auc_method="linear").iloc[0]
    # (0,0) (0.5,0) (1,2) (2,5) (4,4) (6,0.04) (8,2): 0.5 + 3.5 + 9 + 4.04 + 2.04
    assert r.AUCLAST == pytest.approx(19.08, rel=1e-14) and r.TLAST == 8.0


def test_without_lloq_small_values_are_ordinary_concentrations():
    r = nca(profile(T_BLQ, C_BLQ), dose=1, auc_method="linear").iloc[0]
    assert r.TLAST == 12.0 and r.CLAST == 0.01


# ---------------------------------------------------------------------------------------------
# λz impossible: NaN and a NOTE, never an exception
# ---------------------------------------------------------------------------------------------
NEEDS_LZ = ["LAMBDA_Z", "LAMBDA_Z_TSTART", "LAMBDA_Z_TEND", "R2", "ADJ_R2", "HALF_LIFE", "CLAST_PRED",
            "AUCINF_OBS", "AUCINF_PRED", "AUC_PCT_EXTRAP_OBS", "AUMCINF_OBS", "MRT", "CL", "VZ", "VSS"]


def test_too_few_terminal_points_gives_nan_and_note():
    r = nca(profile([0.5, 1, 2, 4], [2.0, 6, 4, 2]), dose=10, auc_method="linear").iloc[0]
    assert all(math.isnan(r[c]) for c in NEEDS_LZ)
    assert r.LAMBDA_Z_N is pd.NA
    assert "2 positive concentration(s) after Tmax, fewer than min_points=3" in r.NOTE
    assert r.AUCLAST == pytest.approx(0.5 + 2 + 5 + 6)  # still reported
    assert r.CMAX == 6.0


def test_rising_terminal_phase_gives_nan_and_note():
    r = nca(profile([1, 2, 3, 4, 5, 6], [1.0, 10, 2, 3, 4, 5]), dose=10).iloc[0]
    assert math.isnan(r.LAMBDA_Z) and math.isnan(r.CL)
    assert "negative slope" in r.NOTE


def test_best_fit_with_positive_slope_rules_out_worse_negative_fits():
    """PKNCA's rule: the best adjusted R² is taken over all fits; here the last three points rise
    (adjusted R² 0.9997) and the longer fits with negative slopes are far worse, so none qualifies."""
    t, c = [1, 2, 3, 4, 5, 6, 7], [1.0, 10, 8, 2, 2.2, 2.42, 2.66]
    assert _adj_r2(np.array(t[-3:]), np.array(c[-3:]))[0] < 0
    r = nca(profile(t, c), dose=10).iloc[0]
    assert math.isnan(r.LAMBDA_Z) and "negative slope" in r.NOTE
    # a manual choice still works
    assert nca(profile(t, c), dose=10, lambda_z={1: (3, 4)}).LAMBDA_Z[0] == pytest.approx(math.log(4), rel=1e-14)


def test_manual_interval_with_rising_points_or_too_few_points():
    df = profile([1, 2, 3, 4, 5, 6], [1.0, 10, 8, 4, 5, 6])
    r = nca(df, dose=10, lambda_z={1: (4, 6)}).iloc[0]
    assert math.isnan(r.LAMBDA_Z) and "non-negative slope" in r.NOTE
    r = nca(df, dose=10, lambda_z={1: (5.5, 6)}).iloc[0]
    assert math.isnan(r.LAMBDA_Z) and "1 positive concentration(s) in the chosen interval" in r.NOTE
    r = nca(df, dose=10, lambda_z=6).iloc[0]
    assert math.isnan(r.LAMBDA_Z) and "6 terminal points requested but only 4" in r.NOTE


def test_all_zero_and_no_observation_subjects():
    df = pd.concat([profile([1, 2, 4], [0.0, 0, 0], id=1), profile([1, 2, 4, 6], [4.0, 3, 2, 1], id=2)])
    res = nca(df, dose=5)
    r = res.iloc[0]
    assert r.CMAX == 0.0 and math.isnan(r.AUCLAST) and math.isnan(r.TLAST)
    assert "no positive concentration" in r.NOTE
    # the other subject is unaffected: λz from its 3 points after Cmax
    assert res.LAMBDA_Z[1] == pytest.approx(_adj_r2(np.array([2, 4, 6.0]), np.array([3, 2, 1.0]))[0], rel=1e-12)
    # everything BLQ and dropped
    r = nca(profile([1, 2], [0.01, 0.01]), dose=1, blq="drop", lloq=0.1).iloc[0]
    assert "no usable observation" in r.NOTE and math.isnan(r.CMAX)


# ---------------------------------------------------------------------------------------------
# inputs: never modified; bad input raises DatasetError naming what is wrong
# ---------------------------------------------------------------------------------------------
def test_inputs_are_not_modified():
    df = profile(T_BLQ, C_BLQ, LLOQ=0.05)
    before = df.copy()
    nca(df, dose=1, blq="zero")
    pd.testing.assert_frame_equal(df, before)
    ds = load_dataset("indometacin")
    events = ds.events
    nca(ds)
    pd.testing.assert_frame_equal(ds.events, events)


def test_dataset_from_read_nonmem_with_multiple_subjects_keeps_order():
    ds = read_nonmem(pd.DataFrame({"ID": [7, 7, 7, 7, 3, 3, 3, 3], "TIME": [0, 1, 2, 4] * 2,
                                   "AMT": [10, 0, 0, 0, 20, 0, 0, 0],
                                   "DV": [None, 4, 2, 1, None, 8, 4, 2]}))
    res = nca(ds)
    assert res.ID.tolist() == [7, 3] and res.DOSE.tolist() == [10.0, 20.0]


@pytest.mark.parametrize("data, kwargs, message", [
    (profile([0, 1, 2], [0, -1.0, 2]), {"dose": 1},
     "row 2, column DV: value -1 for subject 1 at TIME 1 is a negative concentration"),
    (profile([0, 1, 2], [0, 1.0, 2]), {}, "subject 1 has no dose"),
    (profile([0, 2, 1], [0, 1.0, 2]), {"dose": 1}, "row 3, column TIME: value 1 for subject 1 does not increase"),
    (profile([0, 1, 1], [0, 1.0, 2]), {"dose": 1}, "column TIME: value 1 for subject 1 does not increase"),
    (profile([0, 1, 2], [0, 1.0, 2]), {"dose": 1, "auc_method": "log"},
     "auc_method 'log' is unknown; expected one of 'linear', 'linear-up/log-down'"),
    (profile([0, 1, 2], [0, 1.0, 2]), {"dose": 1, "route": "oral"}, "route 'oral' is unknown"),
    (profile([0, 1, 2], [0, 1.0, 2]), {"dose": 1, "blq": "m3"}, "blq 'm3' is unknown"),
    (profile([0, 1, 2], [0, 1.0, 2]), {"dose": 1, "lambda_z": "best"}, "lambda_z = 'best' is not understood"),
    (profile([0, 1, 2], [0, 1.0, 2]), {"dose": 1, "lambda_z": 1}, "lambda_z = 1: at least 2 points"),
    (profile([0, 1, 2], [0, 1.0, 2]), {"dose": 1, "lambda_z": {9: (1, 2)}}, "lambda_z names subject 9"),
    (profile([0, 1, 2], [0, 1.0, 2]), {"dose": 1, "lambda_z": {1: (5, 2)}}, "tstart is after tend"),
    (profile([0, 1, 2], [0, 1.0, 2]), {"dose": 1, "min_points": 1}, "min_points 1 is not an integer of at least 2"),
    (profile([0, 1, 2], [0, 1.0, 2]), {"dose": -5}, "dose argument: value -5 for subject 1 is not a positive dose"),
    (profile([0, 1, 2], [0, 1.0, 2]), {"dose": {2: 5}}, "dose names subject 2"),
    (profile([0, 1, 2], [0, 1.0, 2]), {"dose": 1, "lloq": -1}, "lloq -1 is not a positive number"),
    (profile([0, 1, 2], [0, 1.0, 2]), {"dose": 1, "route": "infusion"}, "an infusion needs a RATE > 0"),
    (profile([0, 1, 2], [0, 1.0, 2], CMT=[2, 2, 2]), {"dose": 1}, None),  # one compartment: fine
    (profile([0, 1, 2], [0, 1.0, 2], CMT=[1, 2, 3]), {"dose": 1},
     "observations in several compartments (column CMT: 1, 2, 3)"),
    (pd.DataFrame({"ID": 1, "TIME": [0, 1, 2], "DV": ["0", "x", "2"]}), {"dose": 1},
     "row 2, column DV: value 'x' is not a number"),
    (pd.DataFrame({"ID": [1], "TIME": [0.0]}), {"dose": 1}, "the DataFrame has no column DV"),
    ([1, 2, 3], {"dose": 1}, "nca() takes a pkpd Dataset or a pandas DataFrame, not list"),
    (pd.DataFrame({"ID": 1, "TIME": [0, 0, 1, 2.0], "AMT": [5, 5, 0, 0], "DV": [np.nan, np.nan, 2, 1]}), {},
     "subject 1 has 2 dose records (TIME 0, 0); nca() does single-dose analysis only"),
    (pd.DataFrame({"ID": 1, "TIME": [0, 1, 2.0], "AMT": [5, 0, 0], "RATE": [10, 0, 0], "DV": [np.nan, 2, 1]}),
     {"route": "iv"}, "row 1, column RATE: value 10 for subject 1 contradicts route='iv'"),
])
def test_bad_input_messages(data, kwargs, message):
    if message is None:
        nca(data, **kwargs)
        return
    with pytest.raises(DatasetError) as err:
        nca(data, **kwargs)
    assert message in str(err.value)
    assert isinstance(err.value, ValueError)


def test_bad_input_in_a_dataset_names_the_file_line():
    ds = read_nonmem(pd.DataFrame({"ID": [1, 1, 1, 1], "TIME": [0, 1, 2, 12], "AMT": [10, 0, 0, 10],
                                   "DV": [None, 4, 2, None]}))
    with pytest.raises(DatasetError, match="subject 1 has 2 dose records"):
        nca(ds)
    ds = read_nonmem(pd.DataFrame({"ID": [1, 1, 1], "TIME": [0, 1, 2], "AMT": [10, 0, 0], "ADDL": [2, 0, 0],
                                   "II": [12, 0, 0], "DV": [None, 4, 2]}))
    with pytest.raises(DatasetError, match="row 1, column ADDL: subject 1 has a repeated or steady-state dose"):
        nca(ds)


# ---------------------------------------------------------------------------------------------
# numbers at the edge of double precision (issue 15)
# ---------------------------------------------------------------------------------------------
def test_nearly_equal_concentrations_do_not_divide_by_a_vanishing_k():
    """1.5000000000000002 then 1.5: k = ln(C1/C2) is ~1e-16 (0 if C1/C2 is rounded first); the log segment is
    computed without dividing by it (its AUMC was -2e15 and its AUC 1.0 instead of 1.5)."""
    df = pd.DataFrame({"ID": 1, "TIME": [0.0, 1, 2, 3, 4], "AMT": [100.0, 0, 0, 0, 0],
                       "DV": [np.nan, 1.5000000000000002, 1.5, 1.0, 0.5]})
    log = nca(df).iloc[0]
    lin = nca(df, auc_method="linear").iloc[0]
    assert log.AUMCLAST > 0 and log.AUCLAST == pytest.approx(lin.AUCLAST, rel=0.05)
    from pkpd.estimation._nca_compute import _log_segment

    auc, aumc = _log_segment(1.0, 1.0, 1.5000000000000002, 1.5)  # ~ the linear trapezoid: 1.5 and 2.25
    assert auc == pytest.approx(1.5, rel=1e-15) and aumc == pytest.approx(2.25, rel=1e-15)
    tiny = pd.DataFrame({"ID": 1, "TIME": [0.0, 1e-200, 2e-200, 3e-200, 4e-200], "AMT": [100.0, 0, 0, 0, 0],
                         "DV": [np.nan, 5, 4, 3, 2]})
    assert math.isnan(nca(tiny).iloc[0].LAMBDA_Z)  # no ZeroDivisionError or OverflowError


def test_huge_times_and_overflowing_areas_are_errors_naming_the_record():
    huge = pd.DataFrame({"ID": 1, "TIME": [0.0, 1e200, 2e200, 3e200], "AMT": [100.0, 0, 0, 0], "DV": [np.nan, 5, 4, 3]})
    with pytest.raises(DatasetError, match=r"row 2, column TIME: value 1e\+200 for subject 1 is too large for NCA"):
        nca(huge)
    big = pd.DataFrame({"ID": 1, "TIME": [0.0, 1, 2, 4], "AMT": [100.0, 0, 0, 0], "DV": [np.nan, 1e308, 1.5e308, 1e308]})
    with pytest.raises(DatasetError, match=r"row 3, column DV: value 1\.5e\+308 for subject 1 makes AUCLAST overflow"):
        nca(big)


def test_a_dataframe_is_read_as_read_nonmem_reads_it():
    df = pd.DataFrame({"id": 1, "time": [0.0, 1, 2, 4], "amt": [100.0, 0, 0, 0], "dv": [np.nan, 4.0, 2.0, 1.0]})
    assert nca(df).iloc[0].CMAX == 4.0
    with pytest.raises(DatasetError, match=r"row 3, column DV: value 'NA' is a missing-value token"):
        nca(df.astype({"dv": object}).assign(dv=[None, 4.0, "NA", 1.0]))
    with pytest.raises(DatasetError, match=r"row 4, column ID: value 1 appears again"):
        nca(df.assign(id=[1, 1, 2, 1]))
