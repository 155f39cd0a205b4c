"""FitResult.profile: likelihood-ratio intervals by lmfit.conf_interval, checked against a closed form and refits."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pkpd
from pkpd.errors import ParameterError
from pkpd.estimation import AdditiveError, ProportionalError, fit_individual, make_params
from pkpd.models import OneCompartmentOral, TwoCompartment
from pkpd.models.params import add_error_params

ALPHA, BETA, DOSE = 1.0, 0.1, 100.0
TIMES = np.array([0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24])


def _biexponential_params(a=3.0, b=1.5):
    """TwoCompartment after a bolus is ``A exp(-ALPHA t) + B exp(-BETA t)``: with the rates fixed and CL, V1, Q, V2
    lmfit expressions of the macro constants A and B (the usual macro-to-micro relations) the model is linear in
    A and B."""
    params = make_params(TwoCompartment())
    params.add("A", value=a, min=0.5)
    params.add("B", value=b, min=0.2)
    params.add("k21", expr=f"(A * {BETA} + B * {ALPHA}) / (A + B)")
    params.add("k10", expr=f"{ALPHA * BETA} / k21")
    params.add("k12", expr=f"{ALPHA + BETA} - k21 - k10")
    params["V1"].set(expr=f"{DOSE} / (A + B)")
    params["CL"].set(expr="k10 * V1")
    params["V2"].set(expr="k12 * V1 / k21")
    params["Q"].set(expr="k21 * V2")
    return params


def _biexponential_fit(error):
    rng = np.random.default_rng(7)
    design = np.column_stack([np.exp(-ALPHA * TIMES), np.exp(-BETA * TIMES)])
    dv = design @ [4.0, 1.0] + 0.08 * rng.standard_normal(len(TIMES))
    data = pkpd.read_nonmem(pd.DataFrame({"ID": 1, "TIME": np.r_[0.0, TIMES], "AMT": np.r_[DOSE, np.zeros(len(TIMES))],
                                          "DV": np.r_[np.nan, dv]}))
    return fit_individual(TwoCompartment(), data, _biexponential_params(), error=error), design, dv


@pytest.mark.parametrize("level", [0.95, 0.8])
def test_linear_model_interval_equals_the_closed_form(level):
    """Additive error, SD estimated (profiled out): OFV = n log(RSS / n) + c, and for a linear model the RSS
    minimised with A fixed is ``RSS_min + (A - A_hat)^2 / C_AA`` (``C = (X'X)^-1``), so the LRT interval is
    ``A_hat +- sqrt(C_AA RSS_min (exp(q / n) - 1))``, q the chi-square (1 df) quantile. The same with the SD fixed:
    ``A_hat +- SD sqrt(C_AA q)``. Agreement to conf_interval's root-finding tolerance (5e-5 relative)."""
    q = stats.chi2.ppf(level, 1)
    for error in (AdditiveError(), AdditiveError(0.1, fixed=True)):
        fit, design, dv = _biexponential_fit(error)
        assert fit.success, fit.messages
        coef, rss = np.linalg.lstsq(design, dv, rcond=None)[:2]
        cov = np.linalg.inv(design.T @ design)
        n = len(dv)
        for k, name in enumerate(("A", "B")):
            assert fit.params[name].value == pytest.approx(coef[k], rel=1e-6)
            if error.fixed:
                half = error.parameters["SD"] * math.sqrt(cov[k, k] * q)
            else:
                half = math.sqrt(cov[k, k] * float(rss[0]) * math.expm1(q / n))
            lo, hi = fit.profile(name, level)
            assert lo == pytest.approx(coef[k] - half, rel=1e-4), (error, name)
            assert hi == pytest.approx(coef[k] + half, rel=1e-4), (error, name)


def _theophylline_proportional():
    model = OneCompartmentOral()
    start = make_params(model, {"CL": 2.0, "V": 30.0, "KA": 1.5}, log=("CL", "V", "KA"), fixed=("F1", "ALAG1"))
    data = pkpd.load_dataset("theophylline").subject(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pkpd.ConvergenceWarning)          # PREDOSE_EXCLUDED (0.74 mg/L at t = 0)
        fit = fit_individual(model, data, start, error=ProportionalError())
    return fit, model, data, start, ProportionalError()


def _small_log_ka():
    """log KA = 0.14 with a standard error of 0.20: below its SE, where conf_interval on its own would step by
    0.2 |value| instead of the SE (2 steps would not reach the bounds)."""
    model = OneCompartmentOral()
    start = make_params(model, {"CL": 2.0, "V": 25.0, "KA": 1.0}, log=("CL", "V", "KA"), fixed=("F1", "ALAG1"))
    times = np.array([0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 24])
    truth = model.simulate(pkpd.Bolus(320, cmt="DEPOT"), times, {"CL": 2.8, "V": 32.0, "KA": 1.5})["CP"]
    dv = truth * (1 + 0.1 * np.random.default_rng(13).standard_normal(len(times)))
    data = pkpd.read_nonmem(pd.DataFrame({"ID": 1, "TIME": np.r_[0.0, times], "AMT": np.r_[320.0, np.zeros(10)],
                                          "DV": np.r_[np.nan, dv], "CMT": np.r_[1, np.full(10, 2)]}))
    fit = fit_individual(model, data, start, error=AdditiveError())
    return fit, model, data, start, AdditiveError()


@pytest.mark.parametrize("case, name, steps", [(_theophylline_proportional, "log_CL", 12),
                                               (_theophylline_proportional, "log_err_CV", 12),
                                               (_small_log_ka, "log_KA", 2)])
def test_refit_at_the_bounds_raises_the_ofv_by_the_chi_square_quantile(case, name, steps):
    """Independent of the profile's own refits: fit_individual from the original start values with ``name`` fixed
    at each bound gives an OFV ``chi2.ppf(0.95, 1)`` = 3.84 above the fit's (likelihood path: proportional error;
    least squares: additive error, a parameter below its standard error)."""
    fit, model, data, start, error = case()
    assert fit.success
    est = fit.params[name].value
    lo, hi = fit.profile(name, steps=steps)
    assert lo < est < hi
    for bound in (lo, hi):
        params = start.copy()
        if name not in params:
            params = add_error_params(params, error)
        params[name].set(value=bound, vary=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pkpd.ConvergenceWarning)
            refit = fit_individual(model, data, params, error=error)
        assert refit.ofv - fit.ofv == pytest.approx(stats.chi2.ppf(0.95, 1), abs=0.01), (name, bound)


def test_a_bound_not_reached_within_steps_is_infinite_without_a_warning():
    """``steps`` standard errors: the 95 % bounds of log KA lie 1-2 SE out (above), so one step does not reach
    them (inf, silently, as before lmfit) and two do; lmfit's own warnings are not passed on."""
    fit = _small_log_ka()[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fit.profile("log_KA", steps=1) == (-math.inf, math.inf)
        assert fit.profile("log_KA", steps=2) == pytest.approx(fit.profile("log_KA"), rel=1e-12)


def test_a_single_estimated_parameter_and_bad_arguments():
    """One estimated parameter (lmfit's conf_interval alone refuses fewer than two; before it, the least-squares
    refit with nothing left to vary failed): A of the biexponential with B fixed, against its closed form (SD
    profiled out). Then: only estimated parameters, a level between 0 and 1, at least one step."""
    fit, design, dv = _biexponential_fit(AdditiveError())
    params = _biexponential_params(b=fit.params["B"].value)
    params["B"].vary = False
    data = pkpd.read_nonmem(pd.DataFrame({"ID": 1, "TIME": np.r_[0.0, TIMES], "AMT": np.r_[DOSE, np.zeros(len(TIMES))],
                                          "DV": np.r_[np.nan, dv]}))
    one = fit_individual(TwoCompartment(), data, params, error=AdditiveError())
    x, y = design[:, 0], dv - fit.params["B"].value * design[:, 1]
    a_hat = x @ y / (x @ x)
    rss = float(np.sum((y - a_hat * x) ** 2))
    half = math.sqrt(rss * math.expm1(stats.chi2.ppf(0.95, 1) / len(y)) / (x @ x))
    assert one.profile("A") == pytest.approx((a_hat - half, a_hat + half), rel=1e-4)
    with pytest.raises(KeyError, match="not an estimated parameter"):
        fit.profile("CL")                                          # an expression
    for bad in ({"level": 1.0}, {"level": 95}, {"steps": 0}):
        with pytest.raises(ParameterError):
            fit.profile("A", **bad)
