"""NCA of the public theophylline and indometacin datasets against an independent hand computation and
against published reference results.

References
----------
- Hand computation: written below with plain loops and ``math`` (no pkpd.estimation.nca code), following the
  textbook formulas (Gabrielsson & Weiner, *Pharmacokinetic and Pharmacodynamic Data Analysis*, 4th
  ed. 2006, ch. 2.8: linear and log trapezoids, AUMC, λz by log-linear regression, AUC/AUMC to
  infinity, MRT, CL, Vz, Vss) and the best-fit λz rule of PKNCA ``pk.calc.half.life``.
- Phoenix WinNonlin 6.3/7.0 results on R's ``Theoph`` and ``Indometh`` ("Final_Parameters_Pivoted_*.csv"),
  published with the validation of the NonCompart R package: S. Han, *Validation of Noncompartmental
  Analysis Performed by NonCompart R package* (2018), https://github.com/asancpt/NonCompart-tests
  (commit bb77168cd890fd543f11103e2c54699589f403e4). Settings there: Theoph extravascular with a dose
  of 320 mg for every subject, "Linear" and "Linear up/Log down"; Indometh IV bolus 25 mg and IV
  infusion 25 mg over 0.25 h. Values are copied as printed in those files.
- PKNCA's own test of the λz point selection on ``Theoph`` (``get_halflife_points``, tests/testthat/
  test-half.life.R in https://github.com/billdenney/pknca, commit 1e1285fb, version 0.12.0.9000):
  which of the 132 samples PKNCA uses for each subject's half-life.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pkpd.io import load_dataset
from pkpd.estimation.nca import NCA_COLUMNS, nca


# ---------------------------------------------------------------------------------------------
# independent hand computation
# ---------------------------------------------------------------------------------------------
def subjects_from(dataset):
    """{id: (dose amount, [(time, conc), ...])} read record by record from the event table."""
    out = {}
    for rec in dataset.events.itertuples(index=False):
        amount, samples = out.setdefault(rec.ID, [None, []])
        if rec.EVID == 1:
            out[rec.ID][0] = rec.AMT
        elif rec.EVID == 0 and rec.MDV == 0:
            samples.append((rec.TIME, rec.DV))
    return out


def trapezoid(t1, c1, t2, c2, log_down):
    """(AUC, AUMC) over one segment."""
    if log_down and c1 > c2 > 0:
        k = (math.log(c1) - math.log(c2)) / (t2 - t1)
        return (c1 - c2) / k, (c1 * t1 - c2 * t2) / k + (c1 - c2) / (k * k)
    return (t2 - t1) * (c1 + c2) / 2, (t2 - t1) * (c1 * t1 + c2 * t2) / 2


def loglinear(points):
    """Least squares of ln C on t with raw sums: (lambda_z, intercept, r2, adj_r2)."""
    n = len(points)
    sx = sum(t for t, _ in points)
    sy = sum(math.log(c) for _, c in points)
    sxx = sum(t * t for t, _ in points)
    syy = sum(math.log(c) ** 2 for _, c in points)
    sxy = sum(t * math.log(c) for t, c in points)
    slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    intercept = (sy - slope * sx) / n
    r2 = (n * sxy - sx * sy) ** 2 / ((n * sxx - sx * sx) * (n * syy - sy * sy))
    return -slope, intercept, r2, 1 - (1 - r2) * (n - 1) / (n - 2)


def hand_nca(dose, samples, route, log_down=True, exclude_tmax=True, duration=0.0):
    """Every metric of one subject (single dose at time 0, no BLQ)."""
    times = [t for t, _ in samples]
    concs = [c for _, c in samples]
    cmax = max(concs)
    imax = concs.index(cmax)
    ilast = max(i for i, c in enumerate(concs) if c > 0)
    tlast, clast = times[ilast], concs[ilast]
    r = {"DOSE": dose, "DURATION": duration, "CMAX": cmax, "TMAX": times[imax], "TLAST": tlast, "CLAST": clast}

    if route == "iv":
        (t1, c1), (t2, c2) = samples[0], samples[1]
        assert t1 > 0 and c1 > c2 > 0  # true of every indometacin subject
        c0 = c1 * (c1 / c2) ** (t1 / (t2 - t1))
        profile = [(0.0, c0)] + samples
        r["C0"] = c0
    else:
        profile = samples if times[0] == 0 else [(0.0, 0.0)] + samples
        r["C0"] = math.nan
    auc = aumc = 0.0
    for (t1, c1), (t2, c2) in zip(profile, profile[1:]):
        if t2 > tlast:
            break
        a, m = trapezoid(t1, c1, t2, c2, log_down)
        auc += a
        aumc += m
    r["AUCLAST"], r["AUMCLAST"] = auc, aumc

    start = imax + 1 if exclude_tmax else imax
    candidates = [(t, c) for t, c in samples[start:ilast + 1] if c > 0]
    fits = []
    for n in range(3, len(candidates) + 1):
        fits.append((n, *loglinear(candidates[-n:])))
    best = max(f[4] for f in fits)
    chosen = [f for f in fits if f[1] > 0 and f[4] >= best - 1e-4]
    n, lz, a, r2, adj = max(chosen)
    r.update(LAMBDA_Z=lz, LAMBDA_Z_N=n, LAMBDA_Z_TSTART=candidates[-n][0], LAMBDA_Z_TEND=candidates[-1][0],
             R2=r2, ADJ_R2=adj, HALF_LIFE=math.log(2) / lz, CLAST_PRED=math.exp(a - lz * tlast))
    r["AUCINF_OBS"] = auc + clast / lz
    r["AUCINF_PRED"] = auc + r["CLAST_PRED"] / lz
    r["AUC_PCT_EXTRAP_OBS"] = (clast / lz) / r["AUCINF_OBS"] * 100
    r["AUMCINF_OBS"] = aumc + clast * tlast / lz + clast / lz**2
    r["MRT"] = r["AUMCINF_OBS"] / r["AUCINF_OBS"] - duration / 2
    r["CL"] = dose / r["AUCINF_OBS"]
    r["VZ"] = r["CL"] / lz
    r["VSS"] = r["MRT"] * r["CL"] if route in ("iv", "infusion") else math.nan
    return r


def assert_close(got, expected, rel, what):
    if isinstance(expected, float) and math.isnan(expected):
        assert got is pd.NA or math.isnan(got), what
    else:
        assert got == pytest.approx(expected, rel=rel, abs=0), what


METRICS = [c for c in NCA_COLUMNS if c not in ("ID", "ROUTE", "NOTE")]


@pytest.mark.parametrize("auc_method", ["linear-up/log-down", "linear"])
@pytest.mark.parametrize("name, route", [("theophylline", "extravascular"), ("indometacin", "iv")])
def test_every_metric_of_every_subject_matches_the_hand_computation(name, route, auc_method, validation):
    """Route inferred from the compartments (theophylline dose in CMT 1, samples in CMT 2: oral;
    indometacin dose and samples in CMT 1: IV bolus); doses from AMT (theophylline mg = mg/kg x kg)."""
    ds = load_dataset(name)
    res = nca(ds, auc_method=auc_method)
    subjects = subjects_from(ds)
    assert res.ID.tolist() == list(subjects)
    hand = {}
    for _, row in res.iterrows():
        dose, samples = subjects[row.ID]
        expected = hand_nca(dose, samples, route, log_down=auc_method != "linear")
        assert row.ROUTE == route and row.NOTE == ""
        assert set(expected) == set(METRICS)
        for col in METRICS:
            assert_close(row[col], expected[col], 1e-9, f"{name} subject {row.ID} {col}")
            hand.setdefault(col, []).append((row[col], expected[col]))
    for col, pairs in hand.items():
        got, ref = (np.array([math.nan if v is pd.NA else v for v in x], dtype=float) for x in zip(*pairs))
        keep = ~np.isnan(ref)
        if keep.any():
            validation.compare(f"{col}, all subjects", got[keep], ref[keep], rtol=1e-9, source=HAND)


def test_hand_computation_numbers_for_theophylline_subject_1(validation):
    """The headline numbers, so that a reader sees them: subject 1 (319.992 mg), lin-up/log-down."""
    r = nca(load_dataset("theophylline")).iloc[0]
    validation.compare('Theoph subject 1 AUClast (mg·h/L)', r.AUCLAST, 147.2347485, rtol=1e-9, source=HAND)
    validation.compare('Theoph subject 1 λz (1/h)', r.LAMBDA_Z, 0.048456997, rtol=1e-7, source=HAND)
    validation.compare('Theoph subject 1 t½ (h)', r.HALF_LIFE, 14.30437757, rtol=1e-9, source=HAND)
    assert (r.LAMBDA_Z_N, r.LAMBDA_Z_TSTART, r.LAMBDA_Z_TEND) == (3, 9.05, 24.37)
    validation.compare('Theoph subject 1 AUCinf,obs (mg·h/L)', r.AUCINF_OBS, 214.9236316, rtol=1e-9, source=HAND)
    validation.compare('Theoph subject 1 CL (L/h)', r.CL, 319.992 / 214.9236316, rtol=1e-9, source=HAND)


# ---------------------------------------------------------------------------------------------
# Phoenix WinNonlin (NonCompart-tests, Final_Parameters_Pivoted_*.csv)
# ---------------------------------------------------------------------------------------------
HAND = "hand computation (Gabrielsson & Weiner ch. 2.8; PKNCA λz rule)"
WNL = "Phoenix WinNonlin, NonCompart-tests (Han 2018)"
WNL_THEOPH_LOG_COLUMNS = {  # WinNonlin name -> pkpd column
    "No_points_lambda_z": "LAMBDA_Z_N", "Lambda_z": "LAMBDA_Z", "Rsq": "R2", "Rsq_adjusted": "ADJ_R2",
    "HL_Lambda_z": "HALF_LIFE", "Tmax": "TMAX", "Cmax": "CMAX", "Tlast": "TLAST", "Clast": "CLAST",
    "AUClast": "AUCLAST", "AUCINF_obs": "AUCINF_OBS", "AUCINF_pred": "AUCINF_PRED",
    "AUC_%Extrap_obs": "AUC_PCT_EXTRAP_OBS", "AUMClast": "AUMCLAST", "AUMCINF_obs": "AUMCINF_OBS",
    "MRTINF_obs": "MRT", "Cl_F_obs": "CL", "Vz_F_obs": "VZ",
}
WNL_THEOPH_LOG = {  # Final_Parameters_Pivoted_Theoph_Log.csv (dose 320 mg)
    1: (3, 0.048456997, 0.99999973, 0.999999459, 14.30437757, 1.12, 10.5, 24.37, 3.28, 147.2347485, 214.9236316, 214.9266543, 31.49438828, 1499.129085, 4545.592801, 21.14980455, 1.488900954, 30.72623247),
    2: (4, 0.104086444, 0.997195388, 0.995793082, 6.659341563, 1.92, 8.33, 24.3, 0.9, 88.73127549, 97.37793463, 97.26879313, 8.879485045, 716.2787279, 1009.46445, 10.36645985, 3.286165405, 31.57150238),
    3: (3, 0.102444314, 0.999324962, 0.998649924, 6.766087377, 1.02, 8.2, 24.17, 1.05, 95.87819779, 106.1276685, 106.1774195, 9.657680115, 810.872683, 1158.651582, 10.91752601, 3.015236313, 29.43292987),
    4: (3, 0.099287021, 0.998924137, 0.997848274, 6.981246661, 1.07, 8.6, 24.65, 1.15, 102.6336232, 114.2162046, 114.2808818, 10.14092656, 911.7828093, 1313.951, 11.50406813, 2.801704023, 28.21823042),
    5: (4, 0.086618884, 0.998647185, 0.997970777, 8.002264041, 1, 11.4, 24.35, 1.57, 118.1793538, 136.3047316, 136.1395842, 13.29768793, 1038.879984, 1689.48728, 12.3949276, 2.34768079, 27.10356775),
    6: (7, 0.08779574, 0.998241337, 0.997889605, 7.894997868, 1.15, 6.44, 23.85, 0.92, 71.69701499, 82.17588332, 82.41816357, 12.75175624, 618.6659191, 987.9420173, 12.02228656, 3.894086526, 44.35393475),
    7: (4, 0.088336496, 0.998670168, 0.998005251, 7.846668261, 3.48, 7.09, 24.22, 1.15, 87.96922744, 100.9876292, 101.1089745, 12.89108567, 795.6267785, 1258.305327, 12.45999472, 3.168704944, 35.87084707),
    8: (6, 0.08145054, 0.991012391, 0.988765489, 8.510037883, 2.02, 7.56, 24.12, 1.25, 86.80656348, 102.1533003, 101.8896649, 15.02324132, 756.3619816, 1314.943138, 12.87225312, 3.132546859, 38.45949777),
    9: (3, 0.082458634, 0.999443665, 0.99888733, 8.405998807, 0.63, 9.03, 24.43, 1.12, 83.93743601, 97.52000394, 97.47735367, 13.92798132, 723.3794155, 1219.921328, 12.50944708, 3.281378046, 39.79423233),
    10: (3, 0.074959824, 0.999508684, 0.999017368, 9.246915823, 3.55, 10.21, 23.7, 2.42, 135.5760701, 167.8600307, 167.7758826, 19.23266694, 1306.740615, 2502.554, 14.90857585, 1.906350181, 25.43162571),
    11: (3, 0.09545856, 0.999998256, 0.999996512, 7.261236515, 0.98, 8, 24.08, 0.86, 77.89347233, 86.90261726, 86.90059132, 10.36694315, 626.6357849, 937.9535438, 10.79315645, 3.682282653, 38.57467217),
    12: (3, 0.110259489, 0.999396802, 0.998793603, 6.286508164, 3.52, 9.75, 24.15, 1.17, 115.2202082, 125.8315397, 125.8817762, 8.432966474, 982.6343023, 1335.137581, 10.61051612, 2.543082606, 23.06452369),
}
WNL_THEOPH_LINEAR_COLUMNS = {"AUClast": "AUCLAST", "AUCINF_obs": "AUCINF_OBS", "AUMClast": "AUMCLAST",
                             "AUMCINF_obs": "AUMCINF_OBS", "MRTINF_obs": "MRT"}
WNL_THEOPH_LINEAR = {  # Final_Parameters_Pivoted_Theoph_Linear.csv
    1: (148.92305, 216.611933, 1459.071104, 4505.534819, 20.80003053),
    2: (91.5268, 100.1734591, 706.586566, 999.772288, 9.980410945),
    3: (99.2865, 109.5359707, 803.18587, 1150.964769, 10.50764202),
    4: (106.7963, 118.3788814, 901.0842105, 1303.252401, 11.009163),
    5: (121.2944, 139.4197778, 1017.114317, 1667.721612, 11.96187254),
    6: (73.77555, 84.25441833, 609.1523875, 978.4284857, 11.61278548),
    7: (90.7534, 103.7718018, 782.41986, 1245.098408, 11.99842719),
    8: (88.55995, 103.9066868, 739.534598, 1298.115755, 12.49309159),
    9: (86.32615, 99.90871793, 705.2296255, 1201.771538, 12.02869542),
    10: (138.3681, 170.6520606, 1278.180042, 2473.993427, 14.49729595),
    11: (80.0936, 89.10274492, 617.2422125, 928.5599714, 10.42122745),
    12: (119.9775, 130.5888316, 977.8807235, 1330.384002, 10.18757873),
}
WNL_INDOMETH_LOG_COLUMNS = {
    "No_points_lambda_z": "LAMBDA_Z_N", "Lambda_z": "LAMBDA_Z", "Lambda_z_lower": "LAMBDA_Z_TSTART", "C0": "C0",
    "AUClast": "AUCLAST", "AUCINF_obs": "AUCINF_OBS", "AUCINF_pred": "AUCINF_PRED", "AUMClast": "AUMCLAST",
    "AUMCINF_obs": "AUMCINF_OBS", "MRTINF_obs": "MRT", "Cl_obs": "CL", "Vz_obs": "VZ", "Vss_obs": "VSS",
}
WNL_INDOMETH_LOG = {  # Final_Parameters_Pivoted_Indometh_Log.csv (IV bolus 25 mg)
    1: (3, 0.158320482400297, 5, 2.3936170212766, 2.00989843640473, 2.32571354283916, 2.32728318442783, 3.30479606543361, 7.82610054595283, 3.36503202212899, 10.7493891829347, 67.8963897782725, 36.1720388189023),
    2: (9, 0.302280019819912, 0.75, 2.52815950920245, 3.20288778130665, 3.46754305044307, 3.45019459716812, 6.41316873834365, 9.40594103495584, 2.71256647664518, 7.20971582365952, 23.8511160213461, 19.5568334493971),
    3: (10, 0.421892648718165, 0.5, 4.96536912751678, 3.47439707309252, 3.66401877008834, 3.56914292068551, 5.05529933530351, 7.02172776091476, 1.91640059768184, 6.8231091511022, 16.1726192002464, 13.0758104552207),
    4: (11, 0.45544545661871, 0.25, 2.46223021582734, 2.74838323133947, 2.90207891318838, 2.81855653067856, 4.40497183036616, 5.97199960828601, 2.05783501652781, 8.61451419752526, 18.9144804769393, 17.7272489660434),
    5: (8, 0.252747784168332, 1, 4.04086538461538, 2.39837364783428, 2.63576445304917, 2.59450391439605, 3.74729942566552, 6.58566577406089, 2.49857902379794, 9.48491431815119, 37.5271907896694, 23.6988079578533),
    6: (9, 0.353520521401733, 0.75, 3.705625, 3.29082661570518, 3.54540872495062, 3.44991912795948, 5.59042055581008, 8.34721132252754, 2.3543720823454, 7.05137318133842, 19.9461495286872, 16.6015561603423),
}
WNL_INDOMETH_INFUSION_COLUMNS = {
    "No_points_lambda_z": "LAMBDA_Z_N", "Lambda_z": "LAMBDA_Z", "AUClast": "AUCLAST", "AUCINF_obs": "AUCINF_OBS",
    "AUMClast": "AUMCLAST", "AUMCINF_obs": "AUMCINF_OBS", "MRTINF_obs": "MRT", "Cl_obs": "CL", "Vz_obs": "VZ",
    "Vss_obs": "VSS",
}
WNL_INDOMETH_INFUSION = {  # Final_Parameters_Pivoted_Indometh_Log_Infusion.csv (25 mg over 0.25 h)
    1: (3, 0.158320482400297, 1.71936528998192, 2.03518039641635, 3.29655432302871, 7.81785880354793, 3.71635913323164, 12.283923353439, 77.588971225974, 45.6514707464704),
    2: (9, 0.302280019819912, 2.88914359955292, 3.15379886868934, 6.408261966167, 9.40103426277919, 2.85586043346388, 7.92694811587321, 26.2238573379604, 22.6382574822433),
    3: (10, 0.421892648718165, 2.88171133863639, 3.07133303563221, 5.03533825031325, 7.0017666759245, 2.15471587408242, 8.13978806920688, 19.2935053358668, 17.5389305643867),
    4: (10, 0.429076150334429, 2.44424586240157, 2.60738706693004, 4.39904527326696, 6.08438994685194, 2.20852003007967, 9.58814297926054, 22.3460170689687, 21.1756058209647),
    5: (8, 0.252747784168332, 1.92119843061813, 2.15858923583303, 3.72997413989286, 6.56834048828823, 2.91788577893952, 11.5816384076205, 45.8229077882125, 33.7938980064157),
    6: (9, 0.353520521401733, 2.84131382780238, 3.09589593704782, 5.5775671716269, 8.33435793834436, 2.56706656419202, 8.07520682489072, 22.8422576230426, 20.7295934391122),
}


def assert_matches(res, table, columns, rel, subjects=None, validation=None, label=""):
    """Every subject's WinNonlin value to ``rel``; each metric recorded (all subjects) when ``validation``."""
    res = res.set_index("ID")
    sids = [sid for sid in table if subjects is None or sid in subjects]
    for k, (wnl_name, col) in enumerate(columns.items()):
        got = [res.loc[sid, col] for sid in sids]
        ref = [table[sid][k] for sid in sids]
        if validation is not None:
            validation.compare(f"{label} {wnl_name}, subjects {sids[0]}-{sids[-1]}".strip(), got, ref, rtol=rel,
                               source=WNL)
        for sid, g, r in zip(sids, got, ref):
            assert g == pytest.approx(r, rel=rel, abs=0), f"subject {sid} {wnl_name}"


def test_theophylline_matches_winnonlin(validation):
    """Values printed with 9-10 significant digits (λz with 8): compared to 1e-7 relative."""
    th = load_dataset("theophylline")
    assert_matches(nca(th, dose=320), WNL_THEOPH_LOG, WNL_THEOPH_LOG_COLUMNS, 1e-7, validation=validation,
                   label="lin-up/log-down")
    assert_matches(nca(th, dose=320, auc_method="linear"), WNL_THEOPH_LINEAR, WNL_THEOPH_LINEAR_COLUMNS, 1e-7,
                   validation=validation, label="linear")


def test_indometacin_iv_bolus_matches_winnonlin(validation):
    """WinNonlin lets the Cmax point into an IV bolus's λz candidates (``exclude_tmax=False``); with
    PKNCA's default (``exclude_tmax=True``) only subject 4 changes: its best fit used all 11 samples
    from Cmax at 0.25 h, without it the 10 samples from 0.5 h."""
    ind = load_dataset("indometacin")
    assert_matches(nca(ind, exclude_tmax=False), WNL_INDOMETH_LOG, WNL_INDOMETH_LOG_COLUMNS, 1e-12,
                   validation=validation, label="IV bolus, exclude_tmax=False:")
    default = nca(ind)
    assert_matches(default, WNL_INDOMETH_LOG, WNL_INDOMETH_LOG_COLUMNS, 1e-12, subjects={1, 2, 3, 5, 6})
    assert default.LAMBDA_Z_N[3] == 10 and default.LAMBDA_Z_TSTART[3] == 0.5


def test_indometacin_as_a_quarter_hour_infusion_matches_winnonlin(validation):
    """The same samples analysed as a 25 mg infusion over 0.25 h (RATE 100 mg/h): C(0) = 0 and
    MRT = AUMC/AUC - 0.125 h; here WinNonlin's subject 4 excludes Cmax too."""
    events = load_dataset("indometacin").events
    events.loc[events.EVID == 1, "RATE"] = 100.0
    res = nca(events[["ID", "TIME", "EVID", "AMT", "RATE", "CMT", "MDV", "DV"]])
    assert res.ROUTE.unique().tolist() == ["infusion"] and res.DURATION.unique().tolist() == [0.25]
    assert_matches(res, WNL_INDOMETH_INFUSION, WNL_INDOMETH_INFUSION_COLUMNS, 1e-12, validation=validation,
                   label="infusion 0.25 h:")


# ---------------------------------------------------------------------------------------------
# PKNCA: which samples the half-life uses
# ---------------------------------------------------------------------------------------------
F, T = False, True
PKNCA_THEOPH_HL_POINTS = [  # expect_equal(hl_points, c(...)) in PKNCA tests/testthat/test-half.life.R
    F, F, F, F, F, F, F, F, T, T, T, F, F, F, F, F, F, F, T, T, T, T, F, F, F, F, F, F, F, F, T, T, T, F,
    F, F, F, F, F, F, F, T, T, T, F, F, F, F, F, F, F, T, T, T, T, F, F, F, F, T, T, T, T, T, T, T, F, F,
    F, F, F, F, F, T, T, T, T, F, F, F, F, F, T, T, T, T, T, T, F, F, F, F, F, F, F, F, T, T, T, F, F, F,
    F, F, F, F, F, T, T, T, F, F, F, F, F, F, F, F, T, T, T, F, F, F, F, F, F, F, F, T, T, T,
]


def test_theophylline_lambda_z_points_match_pknca():
    """R's Theoph rows are subject 1..12 with 11 samples each, in the order of theophylline.csv."""
    assert len(PKNCA_THEOPH_HL_POINTS) == 132
    ds = load_dataset("theophylline")
    res = nca(ds).set_index("ID")
    obs = ds.observations
    assert len(obs) == 132
    used = [bool(res.loc[r.ID, "LAMBDA_Z_TSTART"] <= r.TIME <= res.loc[r.ID, "LAMBDA_Z_TEND"])
            for r in obs.itertuples(index=False)]
    assert used == PKNCA_THEOPH_HL_POINTS
    assert res.LAMBDA_Z_N.tolist() == [3, 4, 3, 3, 4, 7, 4, 6, 3, 3, 3, 3]
