"""Fitting machinery (pkpd.estimation): likelihoods by hand, BLQ methods, error models, warnings, profiles."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import pkpd
from pkpd.estimation import (AdditiveError, CombinedError, ExponentialError, ProportionalError, fit_individual,
                          fit_pooled, make_params)
from pkpd.models import OneCompartment, OneCompartmentOral

TIMES = np.array([0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 24])
TRUE = {"CL": 2.8, "V": 32.0, "KA": 1.5}


def _data(dv, times=TIMES, amt=320.0, **extra):
    frame = pd.DataFrame({"ID": 1, "TIME": np.r_[0.0, times], "AMT": np.r_[amt, np.zeros(len(times))],
                          "DV": np.r_[np.nan, dv], "CMT": np.r_[1, np.full(len(times), 2)]})
    for k, v in extra.items():
        frame[k] = np.r_[np.nan, v]
    return pkpd.read_nonmem(frame)


def _truth(times=TIMES):
    return OneCompartmentOral().simulate(pkpd.Bolus(320, cmt="DEPOT"), times, TRUE)["CP"]


def _noisy(cv=0.1, seed=1, times=TIMES):
    rng = np.random.default_rng(seed)
    return _truth(times) * (1 + cv * rng.standard_normal(len(times)))


def _start():
    return make_params(OneCompartmentOral(), {"CL": 2.0, "V": 25.0, "KA": 1.0}, log=("CL", "V", "KA"),
                       fixed=("F1", "ALAG1"))


def test_noise_free_data_recover_the_truth_by_least_squares():
    """Additive (and log-additive) error: least squares, so noise-free data give the truth. (With a
    proportional SD the ML estimate of noise-free data is not the truth: the 2 log(CV f) term of -2LL
    favours smaller predictions -- the usual extended-least-squares bias, as in NONMEM.)"""
    dv = _truth()
    for error in (AdditiveError(0.1), ExponentialError(0.1)):
        fit = fit_individual(OneCompartmentOral(), _data(dv), _start(), error=error)
        for k, v in TRUE.items():
            assert fit.estimates[k] == pytest.approx(v, rel=1e-6), (error, k)


def test_proportional_and_combined_error_estimates_near_the_truth():
    """200 noisy subjects pooled (proportional 10 %): estimates within 3 % and CV within 10 % of the truth."""
    frames = []
    for i in range(1, 201):
        ev = _data(_noisy(0.1, seed=100 + i)).events
        frames.append(ev.assign(ID=i))
    data = pkpd.read_nonmem(pd.concat(frames))
    for error in (ProportionalError(0.2), CombinedError(0.05, 0.2), CombinedError(0.05, 0.2, form="sd")):
        fit = fit_pooled(OneCompartmentOral(), data, _start(), error=error)
        for k, v in TRUE.items():
            assert fit.estimates[k] == pytest.approx(v, rel=0.03), (error, k)
        assert fit.error_estimates["CV"] == pytest.approx(0.1, rel=0.1)


def test_ofv_is_minus_two_log_likelihood_by_hand():
    """Proportional error, CV estimated: OFV = sum(log(2 pi) + 2 log(CV f) + ((y - f)/(CV f))^2) at the
    estimates, and the ML CV satisfies CV^2 = mean(((y - f)/f)^2)."""
    fit = fit_individual(OneCompartmentOral(), _data(_noisy()), _start(), error=ProportionalError(0.2))
    assert fit.success
    y, f = fit.predictions["DV"].to_numpy(), fit.predictions["PRED"].to_numpy()
    cv = fit.error_estimates["CV"]
    by_hand = np.sum(np.log(2 * np.pi) + 2 * np.log(cv * f) + ((y - f) / (cv * f)) ** 2)
    assert fit.ofv == pytest.approx(by_hand, rel=1e-12)
    assert cv**2 == pytest.approx(np.mean(((y - f) / f) ** 2), rel=1e-3)
    assert fit.bic == pytest.approx(fit.ofv + 4 * math.log(10))
    np.testing.assert_allclose(fit.predictions["WRES"], (y - f) / (cv * f), rtol=1e-12)


def test_exponential_error_is_log_transform_both_sides():
    """ExponentialError = additive least squares on log(y) vs log(f): SD^2 = RSS_log / n."""
    fit = fit_individual(OneCompartmentOral(), _data(_noisy(0.15, seed=3)), _start(), error=ExponentialError())
    p = fit.predictions
    rss = np.sum((np.log(p["DV"]) - np.log(p["PRED"])) ** 2)
    assert fit.error_estimates["SD"] == pytest.approx(np.sqrt(rss / 10), rel=1e-9)
    with pytest.raises(pkpd.DatasetError, match=r"positive observations; record 2 \(ID 1, TIME 0\.25\) has DV 0\.0"):
        fit_individual(OneCompartmentOral(), _data(np.r_[0.0, _noisy()[1:]]), _start(), error=ExponentialError())


def test_m3_blq_terms_and_alternatives():
    """Values below LLOQ 2 mg/L: M3 adds -2 log Phi((LLOQ - f)/sd) per BLQ record; M1 drops them; M5 fits
    them as LLOQ/2."""
    dv = _noisy(0.1, seed=5)
    lloq = 2.0
    blq = dv < lloq
    assert 1 <= blq.sum() <= 5
    data = _data(np.where(blq, lloq, dv), LLOQ=np.full(10, lloq), BLQ=blq.astype(int))
    m3 = fit_individual(OneCompartmentOral(), data, _start(), error=ProportionalError(0.1, fixed=True))
    p = m3.predictions
    assert m3.n_blq == blq.sum() and p["BLQ"].sum() == blq.sum()
    f = p["PRED"].to_numpy()[blq]
    expected = -2 * stats.norm.logcdf((lloq - f) / (0.1 * f))
    np.testing.assert_allclose(p["OFV_TERM"].to_numpy()[blq], expected, rtol=1e-10)
    m1 = fit_individual(OneCompartmentOral(), data, _start(), error=ProportionalError(0.1, fixed=True), blq="M1")
    assert m1.n_obs == 10 - blq.sum()
    m5 = fit_individual(OneCompartmentOral(), data, _start(), error=ProportionalError(0.1, fixed=True), blq="M5")
    assert np.all(m5.predictions["DV"].to_numpy()[blq] == lloq / 2)
    # LLOQ from the argument when the data have no column: the same records are BLQ
    by_arg = fit_individual(OneCompartmentOral(), _data(dv), _start(), error=ProportionalError(0.1, fixed=True),
                            lloq=lloq)
    assert by_arg.n_blq == blq.sum()


def test_pooled_fit_uses_every_subject():
    one = _data(_noisy(seed=7)).events
    two = one.assign(ID=2)
    two.loc[two["EVID"] == 0, "DV"] = _noisy(seed=8)
    data = pkpd.read_nonmem(pd.concat([one, two]))
    fit = fit_pooled(OneCompartmentOral(), data, _start(), error=ProportionalError())
    assert fit.n_obs == 20 and set(fit.predictions["ID"]) == {1, 2}
    with pytest.raises(pkpd.DatasetError, match="use fit_pooled"):
        fit_individual(OneCompartmentOral(), data, _start())


def test_ode_engine_gives_the_closed_form_fit():
    data = _data(_noisy(seed=11))
    a = fit_individual(OneCompartmentOral(), data, _start(), error=ProportionalError())
    b = fit_individual(OneCompartmentOral(), data, _start(), error=ProportionalError(), engine="ode")
    for k in TRUE:
        assert b.estimates[k] == pytest.approx(a.estimates[k], rel=1e-4)


def test_unidentifiable_parameter_warns_and_is_not_success():
    """Two parameters (CL, V) from one observation: singular covariance -> ConvergenceWarning."""
    model = OneCompartment()
    data = pkpd.read_nonmem(pd.DataFrame({"ID": 1, "TIME": [0.0, 2.0], "AMT": [100.0, 0.0], "DV": [np.nan, 1.5]}))
    with pytest.warns(pkpd.ConvergenceWarning, match="covariance"):
        fit = fit_individual(model, data, {"CL": 4.0, "V": 40.0}, error=ProportionalError(0.1, fixed=True))
    assert not fit.success and any("identifiable" in m for m in fit.messages)


def test_bound_hit_and_iteration_limit_warn():
    params = _start()
    params["log_V"].set(max=math.log(20.0))               # the truth (32 L) is outside
    with pytest.warns(pkpd.ConvergenceWarning, match="at its bound"):
        fit = fit_individual(OneCompartmentOral(), _data(_noisy()), params, error=ProportionalError())
    assert not fit.success
    with pytest.warns(pkpd.ConvergenceWarning, match="did not converge"):
        fit = fit_individual(OneCompartmentOral(), _data(_noisy()), _start(), error=AdditiveError(), max_nfev=3)
    assert not fit.success


def test_profile_interval_brackets_the_estimate_like_the_wald_interval():
    fit = fit_individual(OneCompartmentOral(), _data(_noisy(0.1, seed=13)), _start(), error=AdditiveError())
    lo, hi = fit.profile("log_CL")
    est, se = fit.params["log_CL"].value, fit.params["log_CL"].stderr
    assert lo < est < hi
    assert (hi - lo) == pytest.approx(2 * 1.96 * se, rel=0.35)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # profiling issues no warnings of its own
        fit.profile("log_KA")


def test_report_plot_predict_and_bad_input():
    import matplotlib

    matplotlib.use("Agg")
    fit = fit_individual(OneCompartmentOral(), _data(_noisy()), _start(), error=CombinedError())
    text = fit.report()
    assert "OFV" in text and "log_CL" in text and "derived" in text
    assert "<table" in fit._repr_html_()
    curve = fit.predict([1.0, 2.0])
    expected = OneCompartmentOral().simulate(pkpd.Bolus(320, cmt="DEPOT"), [1.0, 2.0], fit.estimates)["CP"]
    np.testing.assert_allclose(curve["PRED"], expected, rtol=1e-12)
    fig = fit.plot()
    assert len(fig.axes) == 2
    with pytest.raises(pkpd.ParameterError, match="blq must be one of"):
        fit_individual(OneCompartmentOral(), _data(_noisy()), _start(), blq="M4")
    with pytest.raises(pkpd.ParameterError, match="not an output"):
        fit_individual(OneCompartmentOral(), _data(_noisy()), _start(), output="CE")
    with pytest.raises(pkpd.ParameterError, match="not parameters of"):
        make_params(OneCompartmentOral(), {"CLEARANCE": 1.0})
    with pytest.raises(pkpd.ParameterError, match="SD must be a finite number >= 0"):
        AdditiveError(-1.0)


def test_fit_without_start_values_starts_from_nca():
    """No params: NCA gives CL = Dose/AUCinf, V = Vz, KA from tmax; the fit converges to the truth."""
    from pkpd.estimation import initial_estimates

    data = _data(_truth())
    start = initial_estimates(OneCompartmentOral(), data)
    assert set(start) == {"CL", "V", "KA"}
    assert start["CL"] == pytest.approx(TRUE["CL"], rel=0.05)
    fit = fit_individual(OneCompartmentOral(), data, error=AdditiveError())
    for k, v in TRUE.items():
        assert fit.estimates[k] == pytest.approx(v, rel=1e-5)
