"""Unit tests of pkpd.estimation.dose_optimization: targets, inputs, errors, rounding, parameter rows, draws."""

import math

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd import drugs
from pkpd.estimation.dose_optimization import DoseRecommendation, Target, optimize_dose
from pkpd.errors import ParameterError
from pkpd.models import OneCompartment, OneCompartmentMM

P = {"CL": 5.0, "V": 50.0}       # k = 0.1 /h
ONE = OneCompartment()


def _trough_dose(c, tau, v=50.0, k=0.1):
    return c * v * math.exp(k * tau)


# -- targets ---------------------------------------------------------------------------------------
def test_target_constructors_fill_their_fields():
    assert Target.trough(10) == Target("trough", 10.0)
    assert Target.trough(10, at=24).at == 24.0
    pk = Target.peak(20, within=(0, 6))
    assert (pk.kind, pk.start, pk.end) == ("peak", 0.0, 6.0)
    ta = Target.time_above(2.0, 6, 0, 24)
    assert (ta.kind, ta.value, ta.threshold, ta.unit) == ("time_above", 6.0, 2.0, "h")
    assert Target.auc(300, 0, 24).unit == "mg·h/L"
    assert Target.concentration(15, at=2).describe() == "concentration 15 mg/L at 2 h"
    assert Target.time_above(2.0, 6, 0, 24).describe() == "time above 2 mg/L of 6 h over 0-24 h"


@pytest.mark.parametrize("make, message", [
    (lambda: Target("cmin", 5), "kind='cmin' is unknown"),
    (lambda: Target.trough(-5), "value=-5 is not positive"),
    (lambda: Target.peak(0), "value=0 is not positive"),
    (lambda: Target.trough(float("nan")), "value=nan is not a finite number"),
    (lambda: Target.trough("10"), "value='10' is not a finite number"),
    (lambda: Target.auc(100, 24, 0), "start=24.0, end=0.0; expected start < end"),
    (lambda: Target.time_above(-1, 5, 0, 24), "concentration=-1 is not positive"),
    (lambda: Target.time_above(1, 30, 0, 24), "hours=30 is longer than the window 0-24 h"),
    (lambda: Target("concentration", 5), "at is required"),
    (lambda: Target("auc", 5, start=0), "end is required"),
])
def test_bad_targets_raise_naming_the_value(make, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make()


# -- bad inputs --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bounds, message", [
    ((100, 10), r"dose_bounds=\(100, 10\); expected finite 0 <= lo < hi"),
    ((-5, 10), r"dose_bounds=\(-5, 10\)"),
    ((0, float("inf")), "expected finite"),
    (("a", 10), "expected two numbers"),
    (5, "expected two numbers"),
])
def test_bad_dose_bounds(bounds, message):
    with pytest.raises(ParameterError, match=message):
        optimize_dose(ONE, pkpd.Bolus(100), P, Target.concentration(1, at=1), dose_bounds=bounds)


def test_unreachable_target_reports_the_achievable_range():
    # 1000 mg into 50 L gives at most 20 mg/L at t = 0
    with pytest.raises(ParameterError, match=r"out of reach with doses in \[0, 1000\] mg: achievable concentration "
                                             r"0 to 20 mg/L; widen dose_bounds"):
        optimize_dose(ONE, pkpd.Bolus(100), P, Target.concentration(25, at=0), dose_bounds=(0, 1000))
    # the history alone already overshoots: the lower end of the range is above the target
    with pytest.raises(ParameterError, match="achievable concentration 10 to 30 mg/L"):
        optimize_dose(ONE, lambda d: pkpd.Bolus(d, time=0), P, Target.concentration(5, at=0), dose_bounds=(0, 1000),
                      history=pkpd.Bolus(500))


def test_other_bad_inputs():
    with pytest.raises(ParameterError, match="target must be a Target"):
        optimize_dose(ONE, pkpd.Bolus(100), P, ("trough", 5))
    with pytest.raises(ParameterError, match="scale='last'; expected 'all' or 'first'"):
        optimize_dose(ONE, pkpd.Bolus(100), P, Target.concentration(1, at=1), scale="last")
    with pytest.raises(ParameterError, match="output='CU' is not an output of OneCompartment; its outputs are CP"):
        optimize_dose(ONE, pkpd.Bolus(100), P, Target.concentration(1, at=1), output="CU")
    with pytest.raises(ParameterError, match="ii=0.*give at="):
        optimize_dose(ONE, pkpd.Bolus(100), P, Target.trough(1))
    with pytest.raises(ParameterError, match=r"regimen\(10000\) must be a Bolus, Infusion, Regimen or event table, not float"):
        optimize_dose(ONE, lambda d: d * 2.0, P, Target.concentration(1, at=1))
    with pytest.raises(ParameterError, match="rounding=-50 is not positive"):
        optimize_dose(ONE, pkpd.Bolus(100), P, Target.concentration(1, at=1), rounding=-50)
    with pytest.raises(ParameterError, match="has no parameter 'CLR'"):                 # a typo in a mapping
        optimize_dose(ONE, pkpd.Bolus(100), {"CLR": 5.0, "V": 50.0}, Target.concentration(1, at=1))
    with pytest.raises(ParameterError, match="parameter V for ID 1: value -50.0 outside"):
        optimize_dose(ONE, pkpd.Bolus(100), {"CL": 5.0, "V": -50.0}, Target.concentration(1, at=1))
    with pytest.raises(ParameterError, match="no columns named like parameters of OneCompartment"):
        optimize_dose(ONE, pkpd.Bolus(100), pd.DataFrame({"ID": [1], "ETA_CL": [0.1]}), Target.concentration(1, at=1))
    with pytest.raises(ParameterError, match="params must be a mapping, a Series or a DataFrame, not list"):
        optimize_dose(ONE, pkpd.Bolus(100), [5.0, 50.0], Target.concentration(1, at=1))


# -- results -----------------------------------------------------------------------------------------
def test_rounding_reports_exact_and_rounded_doses():
    rec = optimize_dose(ONE, pkpd.Bolus(100, ii=12), P, Target.trough(2.0), rounding=50)
    exact = _trough_dose(2.0, 12)                                   # 332.01 mg
    assert rec.dose == pytest.approx(exact, rel=1e-8)
    assert rec.rounded_dose == 350.0
    assert rec.rounded_achieved == pytest.approx(350.0 / 50 * math.exp(-1.2), rel=1e-9)
    assert rec.rounded_regimen[0].amt == 350.0 and rec.regimen[0].amt == pytest.approx(exact)
    text = rec.report()
    assert "trough 2 mg/L at 12 h" in text and "332.012 mg -> 2 mg/L" in text and "350 mg" in text
    assert rec._repr_html_().startswith("<pre>")
    sim = rec.simulate([0.0, 12.0])
    assert sim["CP"][1] == pytest.approx(2.0, rel=1e-8)
    assert rec.simulate([12.0], rounded=True)["CP"][0] == pytest.approx(rec.rounded_achieved)
    assert isinstance(rec, DoseRecommendation)
    with pytest.raises(AttributeError):
        rec.dose = 1.0                                               # frozen


def test_without_rounding_simulate_rounded_raises():
    rec = optimize_dose(ONE, pkpd.Bolus(100, ii=12), P, Target.trough(2.0))
    assert rec.rounded_dose is None and rec.attainment is None
    with pytest.raises(ParameterError, match="rounding="):
        rec.simulate([1.0], rounded=True)


def test_params_from_a_map_estimate_like_row():
    est = pd.DataFrame({"ID": [7], "ETA_CL": [0.2], "SE_ETA_CL": [0.05], "CL": [5.0], "V": [50.0], "WT": [70.0]})
    for params in (est, est.iloc[0]):
        rec = optimize_dose(ONE, pkpd.Bolus(100, ii=12), params, Target.trough(2.0))
        assert rec.dose == pytest.approx(_trough_dose(2.0, 12), rel=1e-8)
        assert list(rec.params.columns) == ["ID", "CL", "V"]


def test_scale_all_keeps_ratios_and_scale_first_only_changes_the_load():
    template = pkpd.Infusion(1000, duration=0.5) + pkpd.Bolus(500, time=12, ii=12, addl=2)
    rec = optimize_dose(ONE, template, P, Target.trough(5.0, at=48))
    assert rec.regimen[1].amt == pytest.approx(rec.dose / 2)
    assert rec.regimen[0].duration == 0.5
    q = math.exp(-0.1 * 12)
    # hand: the 0.5-h infusion of D gives D/(CL*0.5) (1 - e^{-0.05}) e^{-0.1 (t - 0.5)} at t; boluses D/2
    inf48 = 1 / (5.0 * 0.5) * (1 - math.exp(-0.05)) * math.exp(-0.1 * 47.5)
    assert rec.dose == pytest.approx(5.0 / (inf48 + 0.5 / 50 * (q + q**2 + q**3)), rel=1e-8)
    first = optimize_dose(ONE, template, P, Target.trough(5.0, at=48), scale="first")
    assert [d.amt for d in first.regimen][1:] == [500.0]
    assert first.dose == pytest.approx((5.0 - 500 / 50 * (q + q**2 + q**3)) / inf48, rel=1e-8)


def test_history_as_event_table_and_as_regimen_agree():
    past = pkpd.Bolus(200, ii=12, addl=3)
    table = past.to_events(id=1)
    obs = table.iloc[[0]].assign(EVID=0, AMT=0.0, MDV=0, DV=1.0, TIME=47.0, II=0.0, ADDL=0)
    table = pd.concat([table, obs], ignore_index=True)
    kw = dict(regimen=lambda d: pkpd.Bolus(d, time=48), target=Target.concentration(8.0, at=48))
    a = optimize_dose(ONE, params=P, history=past, **kw)
    b = optimize_dose(ONE, params=P, history=table, **kw)
    c48 = 200 / 50 * sum(math.exp(-0.1 * 12 * j) for j in range(1, 5))
    assert a.dose == pytest.approx(b.dose, rel=1e-12)
    assert a.dose == pytest.approx(50 * (8.0 - c48), rel=1e-8)
    assert len(a.history) == 1 and len(a.simulate([48.0]).time) == 1


def test_a_drug_from_the_library_with_local_parameter_names():
    pht = drugs.phenytoin()
    v = 60.0
    rec = optimize_dose(pht, lambda d: pht.dose(d, "iv"), {"V": v}, Target.concentration(15, at=0))
    assert rec.output == "PHT.CP"
    assert rec.dose == pytest.approx(15 * v, rel=1e-8)               # a bolus into an empty body: C V
    assert rec.params["PHT.VMAX"].iloc[0] == pytest.approx(pht.params["PHT.VMAX"])


def test_parameter_draws_give_median_dose_and_attainment():
    rng = np.random.default_rng(1)
    draws = pd.DataFrame({"CL": 5.0 * np.exp(rng.normal(0, 0.3, 201)), "V": 50.0})
    rec = optimize_dose(ONE, pkpd.Bolus(100, ii=12), draws, Target.trough(2.0))
    cl = np.median(draws["CL"])
    assert rec.dose == pytest.approx(2.0 * 50 * math.exp(cl / 50 * 12), rel=1e-8)
    # trough >= target exactly when CL <= the median CL: half of the draws (plus the median one)
    assert rec.attainment == pytest.approx(np.mean(draws["CL"] <= cl * (1 + 1e-9)), abs=1e-12)
    assert rec.n_draws == 201 and "probability of target attainment: 0.502" in rec.report()


def test_target_reached_by_history_alone_needs_no_dose():
    rec = optimize_dose(ONE, lambda d: pkpd.Bolus(d, time=0), P, Target.concentration(10, at=0),
                        history=pkpd.Bolus(500), dose_bounds=(0, 100))
    assert rec.dose == 0.0 and len(rec.regimen) == 0 and rec.achieved == pytest.approx(10.0)


def test_infusion_amount_zero_at_dose_zero_is_not_built():
    # Infusion(0, duration=...) is invalid; dose 0 means "no new dose", so the lower bound works
    rec = optimize_dose(OneCompartmentMM(), lambda d: pkpd.Infusion(d, duration=1),
                        {"VMAX": 20.0, "KM": 4.0, "V": 45.0}, Target.concentration(10, at=1))
    assert rec.achieved == pytest.approx(10.0, rel=1e-8)


def test_the_old_argument_order_still_works_with_a_deprecation_warning():
    """pkpd 0.1 took ``optimize_dose(model, params, regimen, target)``; the documented order puts the regimen
    first, as every other function puts what is given before the parameter values."""
    import pkpd
    from pkpd.models import OneCompartment
    from pkpd.estimation.dose_optimization import Target, optimize_dose

    params, regimen, target = {"CL": 5.0, "V": 50.0}, pkpd.Bolus(100, ii=12, ss=1), Target.trough(2.0)
    new = optimize_dose(OneCompartment(), regimen, params, target)
    with pytest.warns(DeprecationWarning, match=r"optimize_dose\(model, regimen, params, target\)"):
        old = optimize_dose(OneCompartment(), params, regimen, target)
    assert old.dose == new.dose
    # by type, a callable regimen is never taken for parameters
    with pytest.warns(DeprecationWarning):
        old_callable = optimize_dose(OneCompartment(), params, lambda d: pkpd.Bolus(d, ii=12, ss=1), target)
    assert old_callable.dose == pytest.approx(new.dose, rel=1e-12)
