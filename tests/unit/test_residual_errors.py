"""Residual error models (pkpd.population.residual): the two forms of the combined error, the exponential error
as an additive error on the log scale, per-output errors on the log scale, and their exports."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.population.residual import COMBINED_FORMS, AdditiveError, CombinedError, ExponentialError


def test_combined_error_forms():
    """Variances add (default, as before) or standard deviations add (NONMEM W = THETA(a) + THETA(p)*F)."""
    f = np.array([-2.0, 0.0, 0.5, 4.0])
    theta = {"SD": 0.3, "CV": 0.1}
    assert CombinedError(0.3, 0.1).form == "variance" and COMBINED_FORMS == ("variance", "sd")
    np.testing.assert_allclose(CombinedError(0.3, 0.1).stdev(f, theta), np.sqrt(0.09 + 0.01 * f**2), rtol=1e-15)
    np.testing.assert_allclose(CombinedError(0.3, 0.1, form="sd").stdev(f, theta), 0.3 + 0.1 * np.abs(f),
                               rtol=1e-15)
    # -2 log L of one observation by hand: log 2 pi + log W^2 + (y - f)^2 / W^2, W = 0.3 + 0.1 * 4
    err = CombinedError(0.3, 0.1, form="sd")
    w = 0.7
    assert err.neg2ll(np.array([5.0]), np.array([4.0]), theta)[0] == pytest.approx(
        math.log(2 * math.pi) + math.log(w**2) + 1.0 / w**2, rel=1e-14)
    with pytest.raises(pkpd.ParameterError, match="form must be one of"):
        CombinedError(0.3, 0.1, form="sum")
    with pytest.raises(pkpd.ParameterError, match="at least one"):
        CombinedError(0.0, 0.0, form="sd")
    # the form survives the copies estimation makes (fixing, new values)
    assert dataclasses.replace(err, fixed=True).form == "sd"
    assert pkpd.CombinedError is CombinedError and pkpd.population.CombinedError is CombinedError


def test_exponential_error_is_an_additive_error_on_the_log_scale_without_being_one():
    """One definition of ``parameters`` and ``stdev`` (a constant SD) serves both; an exponential error is not
    an AdditiveError (code that tests for additive error on the natural scale must not take it)."""
    exp, add = ExponentialError(0.2), AdditiveError(0.2)
    assert not isinstance(exp, AdditiveError) and not isinstance(add, ExponentialError)
    assert exp.parameters == add.parameters == {"SD": 0.2}
    assert type(exp).stdev is type(add).stdev and type(exp).parameters is type(add).parameters
    assert "stdev" not in vars(ExponentialError) and "parameters" not in vars(ExponentialError)
    assert exp.constant_sd and exp.log_scale and not add.log_scale
    assert (ExponentialError().sd, AdditiveError().sd) == (0.1, 1.0)             # defaults unchanged
    f = np.array([1.0, 2.0])
    np.testing.assert_array_equal(exp.stdev(f, {"SD": 0.2}), [0.2, 0.2])
    # draws: log-normal around f, a zero prediction stays 0
    eps = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(exp.observe(np.array([1.0, 2.0, 0.0]), eps, {"SD": 0.2}),
                               [math.exp(0.1), 2 * math.exp(-0.2), 0.0], rtol=1e-15)


def test_output_errors_on_the_log_scale():
    """An error per output, one exponential: transform, draws and the per-observation log flag follow each
    observation's output; the random stream is the same as with one error model (one draw per observation)."""
    from pkpd.population._errors import OutputErrors

    errors = OutputErrors({"CP": ExponentialError(0.2), "CM": pkpd.ProportionalError(0.1)}, np.array([0, 1, 0, 1]))
    assert errors.log_observations.tolist() == [True, False, True, False] and not errors.log_scale
    np.testing.assert_allclose(errors.transform([math.e, 2.0, 1.0, 3.0]), [1.0, 2.0, 0.0, 3.0], rtol=1e-15)
    f = np.array([1.0, 2.0, 3.0, 4.0])
    eps = np.random.default_rng(1).standard_normal(4)
    drawn = errors.sample(f, np.random.default_rng(1))
    np.testing.assert_allclose(drawn, [math.exp(0.2 * eps[0]), 2 * (1 + 0.1 * eps[1]), 3 * math.exp(0.2 * eps[2]),
                                       4 * (1 + 0.1 * eps[3])], rtol=1e-14)
    assert OutputErrors({"CP": ExponentialError(0.2)}, np.array([0, 0])).log_scale


def test_an_exponential_error_for_one_output_and_a_proportional_one_for_another():
    """Parent (LTBS) and metabolite (proportional) in one dataset, Omega -> 0: the FOCE-I objective is the sum of
    the parent's -2 log L of the logs and the metabolite's on the natural scale (measured 3e-12 relative)."""
    import pandas as pd
    from pkpd.models import ParentMetabolite

    model = ParentMetabolite()
    theta = {"CL": 5.0, "V": 50.0, "FM": 1.0, "CLM": 10.0, "VM": 50.0, "KA": 1.0}
    times = np.array([1.0, 2.0, 4.0, 8.0])
    pred = model.simulate(pkpd.Bolus(100.0, cmt="DEPOT"), times, {**theta, "F1": 1.0, "ALAG1": 0.0})
    cp, cm = np.asarray(pred["CP"]), np.asarray(pred["CM"])
    ycp, ycm = cp * np.exp([0.1, -0.2, 0.3, 0.05]), cm * np.array([1.05, 0.9, 1.1, 0.97])
    rows = [{"ID": 1, "TIME": 0.0, "EVID": 1, "AMT": 100.0, "CMT": 1, "DV": 0.0, "MDV": 1, "DVID": 1}]
    for t, a, b in zip(times, ycp, ycm):
        rows += [{"ID": 1, "TIME": t, "EVID": 0, "AMT": 0.0, "CMT": 2, "DV": a, "MDV": 0, "DVID": 1},
                 {"ID": 1, "TIME": t, "EVID": 0, "AMT": 0.0, "CMT": 3, "DV": b, "MDV": 0, "DVID": 2}]
    pm = pkpd.PopulationModel(model, theta, {"CL": 1e-12},
                              {"CP": ExponentialError(0.2), "CM": pkpd.ProportionalError(0.1)})
    ofv = pkpd.population_ofv(pm, pd.DataFrame(rows))
    by_hand = (np.sum((np.log(ycp) - np.log(cp)) ** 2 / 0.04 + math.log(0.04))
               + np.sum((ycm - cm) ** 2 / (0.1 * cm) ** 2 + np.log((0.1 * cm) ** 2)))
    assert ofv == pytest.approx(by_hand, rel=1e-9)


def test_exponential_error_guard_for_a_zero_prediction():
    """``zero_prediction`` is NONMEM's ``IPRED = LOG(c); IF (F.GT.0) IPRED = LOG(F)``: where the prediction is 0
    (or less) the log compared is log(c); elsewhere nothing changes. -2 log L by hand: log 2 pi + log SD^2 +
    ((log y - log c) / SD)^2; a draw there is c exp(SD eps)."""
    guarded, plain = ExponentialError(0.2, zero_prediction=0.025), ExponentialError(0.2)
    y, f, theta = np.array([0.05, 2.0]), np.array([0.0, 1.0]), {"SD": 0.2}
    by_hand = math.log(2 * math.pi) + math.log(0.04) + (math.log(0.05 / 0.025) / 0.2) ** 2
    got = guarded.neg2ll(y, f, theta)
    assert got[0] == pytest.approx(by_hand, rel=1e-14)
    assert got[1] == plain.neg2ll(y, f, theta)[1]
    assert np.isinf(plain.neg2ll(y, f, theta)[0])           # unguarded: likelihood 0
    np.testing.assert_allclose(guarded.observe(np.array([0.0, 2.0]), np.array([1.0, 1.0]), theta),
                               [0.025 * math.exp(0.2), 2 * math.exp(0.2)], rtol=1e-15)
    for bad in (0.0, -1.0, math.inf, "0.025", True):
        with pytest.raises(pkpd.ParameterError, match="zero_prediction must be a finite number > 0"):
            ExponentialError(0.2, zero_prediction=bad)


@pytest.mark.parametrize("method", ["FOCEI", "FOCE", "FO"])
def test_a_guarded_observation_at_a_dose_time_adds_its_own_term_to_the_objective(method):
    """An observation at the time of an oral dose has prediction 0 exactly, for every subject and eta. Unguarded,
    the population objective refuses it (likelihood 0); guarded, it adds the hand term ((log y - log c)/SD)^2 +
    log SD^2 (NONMEM's convention: no log 2 pi) to the objective of the data without it, and moves no EBE."""
    from pkpd.models import OneCompartmentOral

    rows = []
    for i, (cl, v) in enumerate([(4.0, 30.0), (6.0, 45.0), (5.0, 35.0)], start=1):
        rows.append(dict(ID=i, TIME=0.0, EVID=1, AMT=100.0, CMT=1, DV=0.0, MDV=1))
        rows.append(dict(ID=i, TIME=0.0, EVID=0, AMT=0.0, CMT=2, DV=0.03 * i, MDV=0))     # at the dose: F = 0
        rows += [dict(ID=i, TIME=t, EVID=0, AMT=0.0, CMT=2, DV=100 / v * math.exp(-cl / v * t) * (1 - math.exp(-t)),
                      MDV=0) for t in (0.5, 1.0, 2.0, 4.0, 8.0, 12.0)]
    frame = pd.DataFrame(rows)
    kept = frame[~((frame["TIME"] == 0) & (frame["EVID"] == 0))]

    def popmodel(error):
        return pkpd.PopulationModel(OneCompartmentOral(), {"CL": 5.0, "V": 35.0, "KA": 1.0},
                                    {"CL": 0.1, "V": 0.05}, error)

    sd, c = 0.15, 0.025
    with pytest.raises(pkpd.DatasetError, match="population prediction is 0"):
        pkpd.population_ofv(popmodel(ExponentialError(sd)), frame, method=method)
    guarded = pkpd.population_ofv(popmodel(ExponentialError(sd, zero_prediction=c)), frame, method=method)
    without = pkpd.population_ofv(popmodel(ExponentialError(sd)), kept, method=method)
    added = sum((math.log(0.03 * i / c) / sd) ** 2 + math.log(sd**2) for i in (1, 2, 3))
    assert guarded == pytest.approx(without + added, rel=1e-10, abs=1e-8)


def test_an_individual_fit_keeps_a_guarded_dose_time_record():
    """fit_individual with ``ExponentialError(zero_prediction=c)`` keeps the record at the dose time (predicted 0,
    compared as log c) where the unguarded error leaves it out (PREDOSE_EXCLUDED). With SD fixed the record moves
    no parameter (the two fits agree to the optimiser's tolerance, measured 2.3e-5), so the objectives differ by
    its hand term log 2 pi + log SD^2 + (log(y / c) / SD)^2 (theophylline subject 1: y = 0.74 mg/L at time 0;
    measured 2.5e-11 relative)."""
    import warnings

    from pkpd.models import OneCompartmentOral

    events = pkpd.load_dataset("theophylline").events
    one = events[events["ID"] == events["ID"].iloc[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pkpd.ConvergenceWarning)
        guarded = pkpd.fit_individual(OneCompartmentOral(), one,
                                      error=ExponentialError(0.1, zero_prediction=0.025, fixed=True))
        plain = pkpd.fit_individual(OneCompartmentOral(), one, error=ExponentialError(0.1, fixed=True))
    term = math.log(2 * math.pi) + math.log(0.01) + (math.log(0.74 / 0.025) / 0.1) ** 2
    assert guarded.ofv - plain.ofv == pytest.approx(term, rel=1e-8)
    for name in ("CL", "V", "KA"):
        assert guarded.params[name].value == pytest.approx(plain.params[name].value, rel=1e-3)
