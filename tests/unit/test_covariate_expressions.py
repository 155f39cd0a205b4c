"""Covariate expressions (issue 18, item 4): ``pkpd.power("CL", "WT/70", reference=1)``,
``pkpd.categorical("V", "APGR < 5", {"1": r})`` and ``indicator("V", "APGR < 5", r)`` equal the same effects on
hand-made columns (OFV and simulations to 1e-12), work in FOCE-I fits, are stored as text in fit files and parsed
again on loading, and refuse anything outside the whitelist; the fit report gives the residual error both as
estimated (SD, CV) and as NONMEM's SIGMA (SD^2, CV^2)."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.estimation.population_result import PopulationFitResult
from pkpd.models import OneCompartmentOral
from pkpd.population.covariates import indicator, is_expression, parse_expression
from pkpd.population.spec import popmodel_from_spec, popmodel_to_spec

THETA = {"CL": 2.8, "V": 32.0, "KA": 1.5}
OMEGA = {"CL": 0.1, "KA": 0.4}
#: An Apgar score per theophylline subject (made up: the shipped datasets have none), 5 of 12 below 5.
APGR = {1: 3, 2: 8, 3: 4, 4: 9, 5: 2, 6: 7, 7: 5, 8: 10, 9: 4, 10: 6, 11: 1, 12: 8}


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    ev = pkpd.load_dataset("theophylline").events.copy()
    ev["APGR"] = ev["ID"].map(APGR).astype(float)
    ev["LOWAPGR"] = (ev["APGR"] < 5).astype(int)           # the hand-made columns the expressions replace
    ev["WT70"] = ev["WT"] / 70
    ev["WTCAP"] = np.sqrt(np.maximum(ev["WT"], 65.0) / 70)
    return ev


def popmodel(*effects, error=None):
    return pkpd.PopulationModel(OneCompartmentOral(), THETA, OMEGA, error or pkpd.AdditiveError(0.7), list(effects))


def same_ofv(a, b, data):
    oa, ob = pkpd.population_ofv(a, data), pkpd.population_ofv(b, data)
    assert math.isfinite(oa) and oa == pytest.approx(ob, rel=1e-12, abs=1e-12)
    return oa


# -- equivalence with hand-made columns ------------------------------------------------------------------
def test_power_of_an_expression_equals_the_precomputed_column(events):
    expr = popmodel(pkpd.power("CL", "WT/70", reference=1, exponent=0.75))
    column = popmodel(pkpd.power("CL", "WT70", reference=1, exponent=0.75))
    plain = popmodel(pkpd.power("CL", "WT", reference=70, exponent=0.75))
    ofv = same_ofv(expr, column, events)
    assert ofv == pytest.approx(pkpd.population_ofv(plain, events), rel=1e-12)
    assert ofv != pytest.approx(pkpd.population_ofv(popmodel(), events), rel=1e-6)      # the effect does act
    assert expr.theta_names[-1] == "CL_WT_div_70" and expr.covariates[0].columns == ("WT",)


def test_a_condition_as_categorical_or_indicator_equals_a_0_1_column(events):
    column = popmodel(pkpd.categorical("V", "LOWAPGR", {"1": 1.3}, reference="0"))
    as_categorical = popmodel(pkpd.categorical("V", "APGR < 5", {"1": 1.3}))       # reference "0" by default
    as_indicator = popmodel(indicator("V", "APGR < 5", 1.3))
    ofv = same_ofv(as_categorical, column, events)
    same_ofv(as_indicator, column, events)
    assert ofv != pytest.approx(pkpd.population_ofv(popmodel(), events), rel=1e-6)
    assert as_categorical.theta_names[-1] == "V_APGR_lt_5_1" and as_indicator.theta_names[-1] == "V_APGR_lt_5"
    # ratios on the log scale, as categorical ratios; boolean keys are the levels 1 / 0
    assert as_indicator.transform_of("V_APGR_lt_5") == "log" == as_categorical.transform_of("V_APGR_lt_5_1")
    booleans = pkpd.categorical("V", "APGR < 5", {True: 1.3}, reference=False)
    assert booleans.levels == ("1",) and booleans.reference == "0"


def test_functions_logic_and_chained_comparisons_equal_their_columns(events):
    ev = events.assign(MID=((events["APGR"] >= 3) & (events["APGR"] < 8)).astype(int),
                       EITHER=((events["APGR"] < 3) | ~(events["WT"] < 70)).astype(int))
    same_ofv(popmodel(pkpd.power("CL", "sqrt(max(WT, 65) / 70)", reference=1, exponent=1.2)),
             popmodel(pkpd.power("CL", "WTCAP", reference=1, exponent=1.2)), ev)
    same_ofv(popmodel(indicator("V", "3 <= APGR < 8", 0.8)),
             popmodel(pkpd.categorical("V", "MID", {"1": 0.8}, reference="0")), ev)
    same_ofv(popmodel(indicator("V", "APGR < 3 or not WT < 70", 0.8)),
             popmodel(pkpd.categorical("V", "EITHER", {"1": 0.8}, reference="0")), ev)
    same_ofv(popmodel(pkpd.exponential("CL", "log(WT/70) - min(APGR, 5)/10", reference=0, coefficient=0.3)),
             popmodel(pkpd.exponential("CL", "L", reference=0, coefficient=0.3)),
             ev.assign(L=np.log(ev["WT"] / 70) - np.minimum(ev["APGR"], 5) / 10))
    same_ofv(popmodel(pkpd.linear("CL", "abs(WT - 70) ** 0.5", reference=2, slope=0.05, name="WTDEV")),
             popmodel(pkpd.linear("CL", "D", reference=2, slope=0.05)),
             ev.assign(D=np.abs(ev["WT"] - 70) ** 0.5))


def test_time_varying_expression_equals_time_varying_column(events):
    ev = events.copy()
    ev.loc[ev["TIME"] > 6, "WT"] += 8.0                    # weight changes within subjects
    ev["WT70"] = ev["WT"] / 70
    expr = popmodel(pkpd.power("CL", "WT/70", reference=1, exponent=0.75))
    column = popmodel(pkpd.power("CL", "WT70", reference=1, exponent=0.75))
    rank = pd.factorize(ev["ID"], sort=True)[0]
    design = expr.design(ev, rank)
    assert design.varying == ("WT",) and design.affected == ("CL",)
    same_ofv(expr, column, ev)


def test_simulations_are_the_same(events):
    kw = dict(error=pkpd.ProportionalError(0.15))
    a = popmodel(pkpd.power("CL", "WT/70", reference=1, exponent=0.75), indicator("V", "APGR < 5", 1.3), **kw)
    b = popmodel(pkpd.power("CL", "WT70", reference=1, exponent=0.75),
                 pkpd.categorical("V", "LOWAPGR", {"1": 1.3}, reference="0"), **kw)
    sa, sb = a.simulate(events, 2, seed=7), b.simulate(events, 2, seed=7)
    np.testing.assert_allclose(sa[["PRED", "IPRED", "DV"]].to_numpy(), sb[["PRED", "IPRED", "DV"]].to_numpy(),
                               rtol=1e-12, atol=0)


# -- fitting, saving, loading --------------------------------------------------------------------------
def test_a_fit_with_expressions_is_saved_and_loaded_with_them(events, tmp_path):
    pm = popmodel(pkpd.power("CL", "WT/70", reference=1, exponent=0.75, fixed=True, name="WT"),
                  indicator("V", "APGR < 5", 1.1), error=pkpd.CombinedError(0.3, 0.1))
    data = events.drop(columns=["LOWAPGR", "WT70", "WTCAP"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pkpd.fit_population(pm, data, progress=False)
    assert set(fit.theta) == {"CL", "V", "KA", "CL_WT", "V_APGR_lt_5"} and fit.theta["CL_WT"] == 0.75
    assert fit.ofv == pytest.approx(pkpd.population_ofv(fit.final_model, data), rel=1e-9)
    path = fit.save(tmp_path / "fit.json")
    stored = json.loads(path.read_text())["popmodel"]["covariates"]
    assert stored[0]["covariate"] == "WT/70" and stored[0]["name"] == "WT"
    assert stored[1] == {"kind": "indicator", "parameter": "V", "covariate": "APGR < 5", "fixed": False,
                         "value": 1.1}
    back = pkpd.load_population_fit(path)
    assert back.popmodel.covariates == pm.covariates
    assert pkpd.population_ofv(back.final_model, data) == pytest.approx(fit.ofv, rel=1e-9)
    # the report gives the combined error as SD and CV and as NONMEM's two SIGMAs, SD^2 and CV^2
    errors = back.residual_error_table()
    for term in ("SD", "CV"):
        assert errors.loc[f"sigma_{term}", "nonmem_sigma"] == pytest.approx(fit.error[term] ** 2, rel=1e-15)
        assert f"{term}^2" in back.report() and f"{fit.error[term] ** 2:.6g}" in back.report()


def test_spec_round_trip_of_every_kind():
    pm = popmodel(pkpd.power("CL", "WT/70", reference=1), pkpd.exponential("KA", "AGE - 40", reference=0),
                  pkpd.linear("CL", "min(CRCL, 120)", reference=100, slope=0.004, name="CRCL"),
                  pkpd.categorical("V", "APGR < 5", {"1": 1.3}), indicator("V", "SEX == 1 and AGE < 2", 0.9),
                  pkpd.categorical("KA", "CYP2C19", {"PM": 0.5}, gene="CYP2C19"))
    spec = json.loads(json.dumps(popmodel_to_spec(pm)))
    assert [e["covariate"] for e in spec["covariates"]] == [e.covariate for e in pm.covariates]
    back = popmodel_from_spec(spec, "fit.json")
    assert back.covariates == pm.covariates and back.theta_names == pm.theta_names


@pytest.mark.parametrize("text, part", [
    ("__import__('os').system('true')", "__import__"),
    ("WT.__class__", "WT.__class__"),
    ("WT[0]", "WT[0]"),
    ("(lambda: 1)()", "lambda"),
])
def test_a_file_with_a_malicious_expression_is_refused_naming_the_key(tmp_path, text, part):
    spec = popmodel_to_spec(popmodel(pkpd.power("CL", "WT/70", reference=1)))
    spec["covariates"][0]["covariate"] = text
    with pytest.raises(pkpd.DatasetError, match=r"fit\.json: popmodel\.covariates\[0\]: .*not allowed") as err:
        popmodel_from_spec(spec, "fit.json")
    assert part in str(err.value)


# -- refusals ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, part", [
    ("__import__('os').system('rm -rf /')", "the call \"__import__('os').system('rm -rf /')\""),
    ("__import__ + 1", "the name '__import__'"),
    ("WT.__class__", "attribute access 'WT.__class__'"),
    ("WT[0] / 70", "subscripting 'WT[0]'"),
    ("(lambda x: x)(WT)", "lambda"),
    ("open('/etc/passwd')", "the call \"open('/etc/passwd')\""),
    ("eval('1')", "the call"),
    ("WT ^ 2", "the operator ^ (write powers as **)"),
    ("WT // 2", "the operator //"),
    ("WT % 2", "the operator %"),
    ("SEX == 'F'", "the constant (only numbers) \"'F'\""),
    ("WT if AGE else 1", "the conditional"),
    ("WT in (1, 2)", "the comparison in"),
    ("(X := 3)", "the assignment"),
    ("[WT]", "List"),
    ("log(WT, base=2)", "keyword or starred arguments"),
    ("1e999 * WT", "too large"),
])
def test_refused_expressions_name_the_expression_and_the_part(text, part):
    with pytest.raises(pkpd.ParameterError) as err:
        pkpd.power("CL", text, reference=1)
    message = str(err.value)
    assert "power effect on CL" in message and repr(text) in message and part in message
    assert "log, exp, sqrt, abs, min, max" in message


@pytest.mark.parametrize("text, match", [
    ("WT/", "not a valid expression"),
    ("log(WT, 2)", r"log\(\) takes 1 argument"),
    ("min(WT)", r"min\(\) takes 2 or more"),
    pytest.param("WT + " * 150 + "1", "longer than 500", id="too-long"),
    ("   ", "give a column name or an expression"),
])
def test_invalid_expressions_raise_parameter_errors(text, match):
    with pytest.raises(pkpd.ParameterError, match=match):
        indicator("V", text)


def test_other_bad_declarations_raise():
    with pytest.raises(pkpd.ParameterError, match="gene= needs a column"):
        pkpd.categorical("CL", "CYP2C19 + 1", {"1": 0.5}, gene="CYP2C19")
    with pytest.raises(pkpd.ParameterError, match="name must be an identifier"):
        pkpd.power("CL", "WT/70", reference=1, name="WT/70")
    with pytest.raises(pkpd.ParameterError, match="the ratio must be > 0"):
        indicator("V", "APGR < 5", 0.0)
    with pytest.raises(pkpd.ParameterError, match=r"used twice"):
        popmodel(indicator("V", "APGR < 5"), indicator("V", "APGR<5"))


def test_unknown_columns_and_bad_values_raise_naming_them(events):
    with pytest.raises(pkpd.DatasetError, match=r"'WTKG / 70' reads column 'WTKG'.*columns: \[.*'WT'"):
        pkpd.population_ofv(popmodel(pkpd.power("CL", "WTKG / 70", reference=1)), events)
    bad = events.assign(APGR=events["APGR"].where(events["ID"] != 4, np.nan))
    with pytest.raises(pkpd.DatasetError, match=r"covariate 'APGR': row 3 holds nan; the expression 'APGR < 5'"):
        pkpd.population_ofv(popmodel(indicator("V", "APGR < 5", 1.3)), bad)
    with pytest.raises(pkpd.DatasetError, match=r"'WT - 70': row 4 gives -15.4; .*needs a positive number"):
        pkpd.population_ofv(popmodel(pkpd.power("CL", "WT - 70", reference=1)), events)
    with pytest.raises(pkpd.DatasetError, match=r"'APGR / 2': row 0 gives 1.5.*needs 0 or 1"):
        indicator("V", "APGR / 2").values(events.groupby("ID").first())
    with pytest.raises(pkpd.DatasetError, match=r"'APGR - 1': row \d+ holds level '\d+'.*knows the reference '0'"):
        pkpd.categorical("V", "APGR - 1", {"1": 1.2}).values(events.groupby("ID").first())


def test_is_expression_and_parse():
    assert not is_expression("WT") and is_expression("WT/70") and is_expression("APGR < 5")
    assert parse_expression("log(WT/70) * (AGE < 2) + WT").columns == ("WT", "AGE")
    frame = pd.DataFrame({"A": [1.0, 4.0, 9.0], "B": [2.0, 2.0, 0.0]})
    x = parse_expression("sqrt(A) * 2 ** B - (A > 3) + (not B)").evaluate(frame.to_dict("series"), 3)
    np.testing.assert_allclose(x, np.sqrt([1, 4, 9]) * 2.0 ** np.array([2, 2, 0]) - [0, 1, 1] + [0, 0, 1])


# -- residual error both ways ---------------------------------------------------------------------------
def _result(error, values) -> PopulationFitResult:
    pm = popmodel(error=error)
    omega = pd.DataFrame(np.diag([0.1, 0.4]), index=["CL", "KA"], columns=["CL", "KA"])
    return PopulationFitResult(pm, "FOCEI", dict(THETA), omega, values, 100.0,
                               pd.DataFrame({"ID": [1], "ETA_CL": [0.0], "ETA_KA": [0.0]}), 10, True, "ok", 1)


@pytest.mark.parametrize("error, values, expected", [
    (pkpd.ProportionalError(0.2), {"CV": 0.2}, {"sigma_CV": ("proportional", "CV", 0.04, "CV^2")}),
    (pkpd.AdditiveError(0.5), {"SD": 0.5}, {"sigma_SD": ("additive", "SD", 0.25, "SD^2")}),
    (pkpd.CombinedError(0.3, 0.1), {"SD": 0.3, "CV": 0.1},
     {"sigma_SD": ("combined", "SD", 0.09, "SD^2"), "sigma_CV": ("combined", "CV", 0.01, "CV^2")}),
    (pkpd.ExponentialError(0.2), {"SD": 0.2}, {"sigma_SD": ("exponential", "SD", 0.04, "SD^2")}),
])
def test_report_shows_residual_error_and_nonmem_sigma(error, values, expected):
    result = _result(error, values)
    errors = result.residual_error_table()
    assert list(errors.index) == list(expected)
    for row, (model, term, sigma, label) in expected.items():
        assert (errors.loc[row, "error_model"], errors.loc[row, "term"], errors.loc[row, "sigma_is"]) == \
            (model, term, label)
        assert errors.loc[row, "nonmem_sigma"] == pytest.approx(sigma, rel=1e-15)
        assert result.table().loc[row, "nonmem_sigma"] == pytest.approx(sigma, rel=1e-15)
    text, html = result.report(), result._repr_html_()
    assert "NONMEM SIGMA" in text and "NONMEM SIGMA" in html
    for row, (model, term, sigma, label) in expected.items():
        line = next(line for line in text.splitlines() if line.startswith(row) and label in line)
        assert model in line and f"{sigma:.6g}" in line
        assert label in html and model in html


def test_combined_error_whose_sds_add_has_no_nonmem_sigma():
    """``W = THETA(a) + THETA(p)*F``, ``Y = F + W*EPS(1)``: in NONMEM SD and CV are THETAs with ``$SIGMA 1 FIX``,
    so their squares are no SIGMA: NaN in both tables, and the table says how NONMEM codes them."""
    result = _result(pkpd.CombinedError(0.3, 0.1, form="sd"), {"SD": 0.3, "CV": 0.1})
    errors = result.residual_error_table()
    assert list(errors["error_model"]) == ["combined (SDs add)"] * 2
    assert list(errors["sigma_is"]) == ["THETA (SIGMA 1 FIX)"] * 2
    assert errors["nonmem_sigma"].isna().all()
    assert result.table().loc[["sigma_SD", "sigma_CV"], "nonmem_sigma"].isna().all()
    assert "THETA (SIGMA 1 FIX)" in result.report()


def test_report_with_an_error_per_output_names_the_output():
    from pkpd.models import ParentMetabolite

    model = ParentMetabolite()
    out1, out2 = model.outputs[:2]
    pm = pkpd.PopulationModel(model, {p.name: 1.0 for p in model.parameters}, {"CL": 0.1},
                              {out1: pkpd.ProportionalError(0.2), out2: pkpd.AdditiveError(0.5)})
    omega = pd.DataFrame([[0.1]], index=["CL"], columns=["CL"])
    result = PopulationFitResult(pm, "FOCEI", dict(pm.theta), omega, {f"{out1}.CV": 0.2, f"{out2}.SD": 0.5}, 1.0,
                                 pd.DataFrame({"ID": [1], "ETA_CL": [0.0]}), 10, True, "ok", 1)
    errors = result.residual_error_table()
    assert list(errors["output"]) == [out1, out2] and list(errors["error_model"]) == ["proportional", "additive"]
    np.testing.assert_allclose(errors["nonmem_sigma"], [0.04, 0.25], rtol=1e-15)
