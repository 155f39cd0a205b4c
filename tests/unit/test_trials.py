"""Unit tests of virtual trials (pkpd.trials) and endpoints (pkpd.trials.endpoints)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import special

import pkpd
from pkpd.trials import endpoints
from pkpd.se import scenarios
from pkpd.errors import ModelError, ParameterError
from pkpd.models import OneCompartment
from pkpd.trials import Dose, TrialDesign, TrialResult, from_table, run_trial, se_population
from pkpd.trials._result import LEVELS, median_ci, merge_sketches, sketch, wilson
from pkpd.trials._sources import DRAW_BLOCK, PopulationSource, block_normals


# ---------------------------------------------------------------------------------------------------
# design validation (criterion 5): errors name the arm / endpoint, raised before any simulation
# ---------------------------------------------------------------------------------------------------
class _Exploding:
    """A parameter source that fails if anything is simulated."""

    model = OneCompartment()

    def __call__(self, covariates, indices, seed):
        raise AssertionError("simulation started before the design was validated")


def _design(**kw):
    args = dict(arms={"A": pkpd.Bolus(100)}, times=[0.0, 1.0, 2.0], endpoints=[endpoints.cmax("CP")])
    args.update(kw)
    return TrialDesign(**args)


@pytest.mark.parametrize("arm", [pkpd.Regimen([]), [], ()])
def test_arm_without_doses_is_named(arm):
    with pytest.raises(ParameterError, match="arm 'empty' has no doses"):
        _design(arms={"ok": pkpd.Bolus(1), "empty": arm})


def test_arm_of_wrong_type_is_named():
    with pytest.raises(ParameterError, match="arm 'x'"):
        _design(arms={"x": 42})


@pytest.mark.parametrize("times, msg", [([0.0, 2.0, 1.0], "strictly increasing"), ([0.0, 1.0, 1.0], "strictly"),
                                        ([-1.0, 0.0], ">= 0"), ([0.0, np.nan], "finite")])
def test_bad_times(times, msg):
    with pytest.raises(ParameterError, match=msg):
        _design(times=times)


def test_duplicate_endpoint_names():
    with pytest.raises(ParameterError, match="cmax_CP"):
        _design(endpoints=[endpoints.cmax("CP"), endpoints.cmax("CP")])


def test_no_times_at_all():
    with pytest.raises(ParameterError, match="no output times"):
        _design(times=None, endpoints=[endpoints.cmax("CP")])


def test_endpoint_reading_missing_output_is_named_before_simulation():
    design = _design(endpoints=[endpoints.minimum("GABAA.SURFACE_A235")])
    with pytest.raises(ModelError, match="min_GABAA.SURFACE_A235"):
        run_trial(_Exploding(), design, 5, seed=1, progress=False)


def test_unknown_compartment_is_named_before_simulation():
    design = _design(arms={"good": pkpd.Bolus(100), "oral": pkpd.Bolus(100, cmt="DEPOT")})
    with pytest.raises(ModelError, match="arm 'oral'.*DEPOT"):
        run_trial(_Exploding(), design, 5, seed=1, progress=False)
    design = _design(arms={"declared": [Dose(7, 100.0)]})
    with pytest.raises(ModelError, match="arm 'declared'"):
        run_trial(_Exploding(), design, 5, seed=1, progress=False)


def test_per_kg_dose_without_weight_is_named():
    design = _design(arms={"wt": [Dose("CENTRAL", 1.0, per_kg=True)]})
    with pytest.raises(ParameterError, match="arm 'wt'.*WT"):
        run_trial(_Exploding(), design, 5, seed=1, progress=False)


def test_callable_arm_failing_is_named():
    design = _design(arms={"cb": lambda cov: 1 / 0})
    with pytest.raises(ParameterError, match="arm 'cb'"):
        run_trial(_Exploding(), design, 5, seed=1, progress=False)


def test_bad_dose_values():
    with pytest.raises(ParameterError, match="Dose"):
        Dose("CENTRAL", -1.0)
    with pytest.raises(ParameterError, match="max_amount"):
        Dose("CENTRAL", 1.0, max_amount=-2)


def test_bad_population_and_options():
    design = _design()
    with pytest.raises(ParameterError, match="ID"):
        run_trial(_Exploding(), design, pd.DataFrame({"WT": [70.0]}), seed=1)
    with pytest.raises(ParameterError, match="chunk_size"):
        run_trial(_Exploding(), design, 3, seed=1, chunk_size=0)
    with pytest.raises(ParameterError, match="threads"):
        run_trial(_Exploding(), design, 3, seed=1, threads=0)
    with pytest.raises(ParameterError, match="re-entrant"):
        run_trial(_Exploding(), design, 3, seed=1, solver="lsoda", threads=2)
    with pytest.raises(ParameterError, match="solver"):
        run_trial(_Exploding(), design, 3, seed=1, solver="rk4")
    with pytest.raises(ParameterError, match="structural"):
        run_trial(lambda cov, idx, seed: None, design, 3, seed=1)


def test_dose_amounts_per_kg_with_cap():
    lev = Dose("LEV.CENTRAL", 60, per_kg=True, max_amount=4500, time=40 / 60, duration=10 / 60)
    assert lev.amounts(pd.DataFrame({"WT": [40.0, 70.0, 80.0]})).tolist() == [2400.0, 4200.0, 4500.0]
    assert isinstance(lev.as_dose(100.0), pkpd.Infusion)


# ---------------------------------------------------------------------------------------------------
# endpoint arithmetic on hand-made time courses
# ---------------------------------------------------------------------------------------------------
T = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
A = np.array([[1.0, 0.6, 0.05, 0.04, 0.03],     # crosses 0.1 between 1 and 2 h: 1 + 0.5/0.55
              [1.0, 0.05, 0.5, 0.02, 0.01],     # relapse; last crossing between 2 and 3 h: 2 + 0.4/0.48
              [1.0, 0.9, 0.8, 0.5, 0.2],        # never
              [0.01, 0.01, 0.01, 0.01, 0.01]])  # below throughout: first grid time


def test_time_to_termination_hand_values():
    got = endpoints.time_to_termination("X").evaluate(T, {"X": A})
    np.testing.assert_allclose(got[[0, 1, 3]], [1 + 0.5 / 0.55, 2 + 0.4 / 0.48, 0.0], rtol=1e-14)
    assert math.isnan(got[2])
    # consistent with pkpd.physiology.seizure.terminated: NaN exactly where not terminated at the end
    from pkpd.physiology.seizure import terminated

    assert np.array_equal(~np.isnan(got), terminated(A))


def test_terminated_by_and_trough():
    assert endpoints.terminated_by(2.0, "X").evaluate(T, {"X": A}).tolist() == [True, False, False, True]
    assert endpoints.trough("X", 3.0).evaluate(T, {"X": A}).tolist() == [0.04, 0.02, 0.5, 0.01]
    with pytest.raises(ModelError, match="grid"):
        endpoints.trough("X", 2.5).evaluate(T, {"X": A})


def test_time_above_linear_crossings():
    y = np.array([[0.0, 2.0, 2.0, 0.0, 0.0]])     # above 1 from 0.5 h to 2.5 h
    assert endpoints.time_above("C", 1.0).evaluate(T, {"C": y}).tolist() == [2.0]
    assert endpoints.time_above("C", 5.0).evaluate(T, {"C": y}).tolist() == [0.0]


def test_cmax_minimum():
    assert endpoints.cmax("X").evaluate(T, {"X": A}).tolist() == [1.0, 1.0, 1.0, 0.01]
    assert endpoints.minimum("X").evaluate(T, {"X": A}).tolist() == [0.03, 0.01, 0.2, 0.01]


def test_auc_linear_up_log_down():
    t = np.linspace(0, 10, 6)
    y = np.vstack([5 * np.exp(-0.3 * t), np.minimum(t, 4.0)])
    got = endpoints.auc("C", 0, 10).evaluate(t, {"C": y})
    assert got[0] == pytest.approx(5 / 0.3 * (1 - np.exp(-3.0)), rel=1e-12)     # exact for an exponential
    assert got[1] == pytest.approx(0.5 * 4 * 4 + 4 * 6)                          # linear pieces
    part = endpoints.auc("C", 2, 6).evaluate(t, {"C": y[:1]})[0]
    assert part == pytest.approx(5 / 0.3 * (np.exp(-0.6) - np.exp(-1.8)), rel=1e-12)


def test_endpoint_declarations():
    ep = endpoints.auc("CP", 0, 12, points=13)
    assert ep.outputs == ("CP",) and len(ep.times) == 13 and ep.times[-1] == 12.0 and ep.kind == "value"
    assert endpoints.terminated_by(4).times == (4.0,)
    assert endpoints.time_to_termination().kind == "time"
    with pytest.raises(ParameterError):
        endpoints.trough("CP", -1)
    with pytest.raises(ParameterError):
        endpoints.auc("CP", 5, 2)


# ---------------------------------------------------------------------------------------------------
# AUC of a simulated one-compartment bolus against the analytic value
# ---------------------------------------------------------------------------------------------------
def test_auc_one_compartment_bolus_matches_analytic():
    """AUC(0-24) = Dose/CL (1 - exp(-CL/V 24)) for each subject of a PopulationModel (IIV on CL)."""
    pm = pkpd.PopulationModel(OneCompartment(), {"CL": 5.0, "V": 50.0}, {"CL": 0.09}, pkpd.ProportionalError(0.1))
    design = TrialDesign({"100 mg": pkpd.Bolus(100.0), "200 mg": [Dose("CENTRAL", 200.0)]},
                         times=np.linspace(0, 24, 7), endpoints=[endpoints.auc("CP", 0, 24, points=49),
                                                                 endpoints.cmax("CP")])
    res = run_trial(pm, design, 30, seed=5, progress=False, rtol=1e-9, atol=1e-12)
    p = PopulationSource(pm)(pd.DataFrame({"ID": range(1, 31)}), np.arange(30), 5)
    cl, v = p["CL"].to_numpy(), p["V"].to_numpy()
    assert cl.std() > 0.1                                           # the subjects do differ
    for arm, dose in (("100 mg", 100.0), ("200 mg", 200.0)):
        sub = res.subjects.loc[res.subjects["arm"] == arm]
        expect = dose / cl * (1 - np.exp(-cl / v * 24))
        np.testing.assert_allclose(sub["auc_CP_0_24h"], expect, rtol=1e-6)
        np.testing.assert_allclose(sub["cmax_CP"], dose / v, rtol=1e-9)


# ---------------------------------------------------------------------------------------------------
# arms given as callables, results object, reproducible draws
# ---------------------------------------------------------------------------------------------------
def test_callable_arms_equal_regimen_arm():
    table = pd.DataFrame({"CL": [2.0, 4.0, 8.0], "V": [20.0, 30.0, 40.0]})
    src = from_table(OneCompartment(), table)
    reg = pkpd.Bolus(50.0) + pkpd.Infusion(100.0, time=6.0, duration=2.0)
    cov = pd.DataFrame({"ID": [11, 12, 13]})

    def as_events(c):
        ev = pd.concat([reg.to_events(id=i) for i in c["ID"]], ignore_index=True)
        return ev

    design = TrialDesign({"regimen": reg, "list": lambda c: [reg] * len(c), "events": as_events},
                         times=np.linspace(0, 12, 13), endpoints=[endpoints.auc("CP", 0, 12), endpoints.cmax("CP")])
    res = run_trial(src, design, cov, seed=0, progress=False)
    s = res.subjects
    assert s["ID"].tolist() == [11, 12, 13] * 3
    for arm in ("list", "events"):
        np.testing.assert_array_equal(s.loc[s.arm == arm, "auc_CP_0_12h"].to_numpy(),
                                      s.loc[s.arm == "regimen", "auc_CP_0_12h"].to_numpy())


def test_trial_result_api():
    design = TrialDesign({"5": scenarios.treat(5), "60": scenarios.treat(60)}, times=np.linspace(0, 4, 9),
                         endpoints=[endpoints.terminated_by(4.0), endpoints.time_to_termination(),
                                    endpoints.minimum("GABAA.SURFACE_A235")])
    res = run_trial(se_population(), design, 12, seed=3, progress=False)
    assert isinstance(res, TrialResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.seed = 4
    assert list(res.subjects.columns) == ["ID", "arm", "terminated_by_4h", "time_to_termination",
                                          "min_GABAA.SURFACE_A235"]
    assert res.subjects["terminated_by_4h"].dtype == bool and res.n_subjects == 12
    frame = res.to_frame()
    frame.iloc[0, 0] = -1
    assert res.subjects.iloc[0, 0] == 1                          # a copy
    s = res.summarize(ci=0.9)
    assert set(s["statistic"]) == {"fraction", "median"}
    assert ((s["lower"] <= s["estimate"]) & (s["estimate"] <= s["upper"])).all()
    tc = res.timecourses
    assert set(tc["output"]) == {"SEIZURE.ACTIVITY", "GABAA.SURFACE_A235"} and len(tc) == 2 * 2 * 9
    assert (tc["Q5"] <= tc["Q50"]).all() and (tc["Q50"] <= tc["Q95"]).all()
    assert "subjects" in res.report() and "<table" in res._repr_html_()
    # common random numbers: the same patients in both arms; late treatment never does better here
    a = res.subjects.loc[res.subjects.arm == "5", "terminated_by_4h"].to_numpy()
    b = res.subjects.loc[res.subjects.arm == "60", "terminated_by_4h"].to_numpy()
    assert not (b & ~a).any()


def test_ribbon_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    design = TrialDesign({"5": scenarios.treat(5), "30": scenarios.treat(30)}, times=np.linspace(0, 2, 5),
                         endpoints=[endpoints.minimum("GABAA.SURFACE_A235")])
    res = run_trial(se_population(), design, 6, seed=1, progress=False)
    fig, ax0 = plt.subplots()
    ax = pkpd.plot.ribbon(res, "GABAA.SURFACE_A235", ax=ax0, time_unit="min")
    assert ax is ax0 and ax.get_xlabel() == "time (min)" and ax.get_ylabel() == "GABAA.SURFACE_A235"
    assert len(ax.lines) == 2 and len(ax.collections) == 2
    with pytest.raises(ValueError, match="no time course"):
        pkpd.plot.ribbon(res, "MDZ.CP")
    plt.close("all")


def test_block_normals_depend_only_on_index():
    idx = np.array([5, DRAW_BLOCK + 3, 2 * DRAW_BLOCK - 1])
    all_ = block_normals([9, 1], np.arange(2 * DRAW_BLOCK), 2)
    np.testing.assert_array_equal(block_normals([9, 1], idx, 2), all_[idx])
    assert not np.array_equal(block_normals([10, 1], idx), block_normals([9, 1], idx))


def test_se_population_is_chunk_independent_and_has_the_scenarios_variability():
    src = se_population(("midazolam", "ketamine"))
    p = src(None, np.arange(3000), seed=11)
    np.testing.assert_array_equal(src(None, np.arange(1500, 1600), seed=11).to_numpy(), p.iloc[1500:1600].to_numpy())
    ref = scenarios.cohort_parameters(("midazolam", "ketamine"), n=3000, seed=11)
    for name in ("MDZ.CL", "KET.CL", "SEIZURE.E0"):
        assert name in p.columns
    for name in ("MDZ.CL", "KET.CL"):
        assert np.log(p[name]).std() == pytest.approx(scenarios.IIV["CL"], abs=0.02)
        assert np.log(p[name]).median() == pytest.approx(np.log(ref[name]).median(), abs=0.03)
    assert p["SEIZURE.E0"].median() == pytest.approx(ref["SEIZURE.E0"].median(), rel=0.1)
    fixed = [c for c in ref.columns if c != "ID" and ref[c].nunique() == 1]
    np.testing.assert_array_equal(p[fixed].iloc[0].to_numpy(), ref[fixed].iloc[0].to_numpy())


# ---------------------------------------------------------------------------------------------------
# summaries and quantile sketches
# ---------------------------------------------------------------------------------------------------
def test_wilson_interval_hand_values():
    lo, hi = wilson(8, 10)                      # Wilson 1927 / Newcombe 1998 method 3: 0.4902-0.9433
    assert (round(lo, 4), round(hi, 4)) == (0.4902, 0.9433)
    assert wilson(0, 20)[0] == 0.0 and wilson(20, 20)[1] == 1.0
    for ci in (0.5, 0.9, 0.95, 0.99):               # the normal quantile without scipy: ndtri's to 1e-15
        z = float(special.ndtri(0.5 + ci / 2))
        centre, half = (0.8 + z * z / 20) / (1 + z * z / 10), z / (1 + z * z / 10) * math.sqrt(0.016 + z * z / 400)
        assert wilson(8, 10, ci) == pytest.approx((centre - half, centre + half), rel=1e-15)


def test_median_ci_with_censoring():
    med, lo, hi = median_ci(np.r_[np.arange(1.0, 41.0), np.full(60, np.nan)])
    assert math.isinf(med) and math.isinf(hi) and lo < 41
    med, lo, hi = median_ci(np.arange(1.0, 101.0))
    assert med == 50.5 and lo < 50.5 < hi


def test_merged_sketches_match_the_pooled_quantiles():
    rng = np.random.default_rng(0)
    parts = [rng.lognormal(size=(n, 3)) for n in (1000, 1000, 700, 37)]
    s, w = sketch(parts[0]), len(parts[0])
    for p in parts[1:]:
        s, w = merge_sketches(s, w, sketch(p), len(p)), w + len(p)
    pooled = np.vstack(parts)
    for j in range(3):
        # the merged CDF at the merged quantiles is within 0.2 % of the pooled empirical CDF
        ecdf = np.searchsorted(np.sort(pooled[:, j]), s[50:-50, j]) / len(pooled)
        assert np.abs(ecdf - LEVELS[50:-50]).max() < 2e-3


def test_se_population_scales_pk_by_weight_like_the_calibration():
    """With a WT column the PK of every drug is scaled by (WT/70)^b (b from the library model: 1 for
    volumes, 0.6 for phenytoin VMAX), the same patients otherwise."""
    src = se_population(("lorazepam", "fosphenytoin"))
    idx = np.arange(4)
    plain = src(None, idx, seed=5)
    heavy = src(pd.DataFrame({"WT": np.full(4, 140.0)}), idx, seed=5)
    assert np.allclose(heavy["LZP.V1"] / plain["LZP.V1"], 2.0, rtol=1e-12)
    assert np.allclose(heavy["FOS.VMAX"] / plain["FOS.VMAX"], 2.0 ** 0.6, rtol=1e-9)
    assert np.array_equal(heavy["SEIZURE.E0"], plain["SEIZURE.E0"])


def test_an_error_in_a_chunk_on_threads_stops_the_trial_without_simulating_the_rest():
    """Two chunks at once on threads: the failing chunk's error reaches the caller, and the chunks that had not
    started are dropped (``Executor.map`` cancels them), not simulated first."""
    model = OneCompartment()
    started = []

    class Failing:
        def __init__(self):
            self.model = model

        def __call__(self, covariates, indices, seed):
            started.append(int(indices[0]))
            if indices[0] == 10:
                raise ValueError("bad block at subject 10")
            return pd.DataFrame({"CL": np.full(len(indices), 5.0), "V": np.full(len(indices), 40.0)})

    design = _design()
    with pytest.raises(ValueError, match="bad block at subject 10"):
        run_trial(Failing(), design, 400, seed=1, progress=False, block_size=10, chunk_size=10, threads=2)
    assert 10 in started and len(started) < 40
