"""Estimation's route for linear models dosed by boluses alone (:mod:`pkpd.engine._bolus_batch`): one compiled scan
over tiled copies of one schedule gives the general route's predictions to the bit, and hands back what it does not
handle; and :meth:`PopulationModel.parameters_many` equals :meth:`parameters_for` set by set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pkpd
from pkpd.engine import BatchPredictor
from pkpd.engine._bolus_batch import BolusBatch
from pkpd.errors import DatasetError
from pkpd.models import pk

from test_closed_form import MODELS, random_events, random_params   # (tests/unit is on sys.path)


def _predictors(model, events, output="CP"):
    """The same predictions by the bolus route (``fast``) and the general route (``general``)."""
    data = pkpd.read_nonmem(events.assign(MDV=(events["EVID"] != 0).astype(int), DV=0.0))
    rows = np.flatnonzero(events["EVID"].to_numpy() == 0)
    outputs = output if isinstance(output, str) else np.resize(np.asarray(output, dtype=object), len(rows))
    fast, general = BatchPredictor(model, data, outputs, rows), BatchPredictor(model, data, outputs, rows)
    general._boluses = None
    return fast, general


def _sets(rng, ranges, n, k):
    """``k`` parameter sets of ``n`` subjects; the dosing parameters (F1, ALAG1) left at their defaults."""
    return [{name: v for name, v in random_params(rng, ranges, n).items() if not name[-1].isdigit()} for _ in range(k)]


@pytest.mark.parametrize("model,ranges,dose_cmts", MODELS, ids=[m.name for m, _, _ in MODELS])
def test_the_bolus_route_equals_the_general_route_to_the_bit(model, ranges, dose_cmts):
    """ADDL copies, EVID 3/4 resets, several dose compartments, observations in every compartment; 1, 5 and 12
    parameter sets."""
    rng = np.random.default_rng(23)
    ev = random_events(rng, 9, dose_cmts, len(model.states), max_doses=5)
    ev.loc[ev["EVID"] != 0, "RATE"] = 0.0
    fast, general = _predictors(model, ev, output=list(model.outputs)[0])
    for k in (1, 5, 12):
        sets = _sets(rng, ranges, 9, k)
        got = fast(sets)
        assert isinstance(fast._boluses, BolusBatch) and k in fast._boluses._tiled   # (the bolus route was taken)
        assert np.array_equal(got, general(sets))
        assert np.any(got == 0)                                   # (structural zeros: before the first dose ...)


def test_one_output_per_row():
    model = pk.ParentMetabolite()
    rng = np.random.default_rng(5)
    ev = random_events(rng, 6, [1, 2], 3, resets=False)
    ev.loc[ev["EVID"] != 0, "RATE"] = 0.0
    names = list(model.outputs)[:2]
    fast, general = _predictors(model, ev, output=names)
    sets = _sets(rng, dict(MODELS[5][1]), 6, 3)
    assert np.array_equal(fast(sets), general(sets))
    assert fast._boluses._tiled                                   # (taken)


def test_what_the_route_does_not_handle_goes_to_the_general_route():
    """Infusions: no bolus route; a dosing parameter away from its default, a repeated eigenvalue (KA = CL / V): the
    general route, with its answer."""
    model = pk.OneCompartmentOral()
    rng = np.random.default_rng(2)
    ev = random_events(rng, 4, [1], 2)
    infusions, _ = _predictors(model, ev)
    infusions([{"CL": 4.0}])
    assert infusions._boluses is None
    boluses = ev.assign(RATE=np.where(ev["EVID"] != 0, 0.0, ev["RATE"]))
    fast, general = _predictors(model, boluses)
    for sets in ([{"CL": 4.0, "V": 40.0, "KA": np.array([0.1, 0.5, 1.0, 2.0])}],      # subject 1: KA = CL / V
                 [{"CL": 4.0, "ALAG1": 0.5}, {"CL": 4.0}], [{"CL": 4.0, "F1": np.full(4, 0.7)}]):
        np.testing.assert_array_equal(fast(sets), general(sets))
        assert fast._boluses is not None and fast._boluses(*_columns(fast, sets), fast.output, set().union(*sets)) \
            is None


def _columns(predictor, sets):
    """The parameters of ``sets`` as :class:`BatchPredictor` passes them to the route, and their number."""
    n = predictor.n_subjects
    return {name: np.concatenate([np.broadcast_to(np.asarray(s.get(name, d), float), (n,)) for s in sets])
            for name, d in predictor.defaults.items()}, len(sets)


def test_an_overflowing_prediction_is_named_by_the_general_route():
    ev = pd.DataFrame({"ID": [1, 1], "TIME": [0.0, 0.0], "EVID": [1, 0], "AMT": [1e308, 0.0], "RATE": 0.0, "CMT": 1,
                       "II": 0.0, "ADDL": 0, "SS": 0})
    fast, _ = _predictors(pk.OneCompartment(), ev)
    with pytest.raises(DatasetError, match="AMT.*overflow"):
        fast([{"CL": 1e-300, "V": 1e-300}])


# ------------------------------------------------------------------------------------------------ parameters_many

def _popmodels():
    model = pk.OneCompartmentOral()
    wt = np.linspace(50, 90, 12)

    def plain(th, eta):
        return {"CL": th["CL"] * np.exp(eta[:, 0]), "V": th["V"], "KA": th["KA"] * np.exp(eta[:, 1])}

    def by_closure(th, eta):                                       # reads per-subject arrays: not stackable
        return {"CL": th["CL"] * (wt / 70) ** 0.75 * np.exp(eta[:, 0]), "V": th["V"] * wt / 70,
                "KA": th["KA"] * np.exp(eta[:, 1])}

    def with_covariates(th, eta, cov):
        return {"CL": th["CL"] * (cov["WT"].to_numpy() / 70) * np.exp(eta[:, 0]), "V": th["V"],
                "KA": th["KA"] * np.exp(eta[:, 1])}

    theta, omega, error = {"CL": 2.0, "V": 30.0, "KA": 1.2}, {"CL": 0.1, "KA": 0.2}, pkpd.AdditiveError(0.5)
    built_in = pkpd.PopulationModel(model, theta, omega, error,
                                    covariates=[pkpd.power("CL", "WT", reference=70.0, exponent=0.75)])
    return [built_in] + [pkpd.PopulationModel(model, theta, omega, error, individual=f)
                         for f in (plain, by_closure, with_covariates)]


@pytest.mark.parametrize("index", range(4), ids=["built-in", "plain", "closure", "covariates"])
def test_parameters_many_equals_parameters_for_set_by_set(index):
    pm = _popmodels()[index]
    covariates = pd.DataFrame({"WT": np.linspace(50, 90, 12)})
    rng = np.random.default_rng(index)
    etas = [rng.normal(0, 0.3, (12, 2)) for _ in range(7)]
    many = pm.parameters_many(pm.theta_values, etas, covariates)
    for eta, got in zip(etas, many):
        expected = pm.parameters_for(pm.theta_values, eta, covariates)
        assert got.keys() == expected.keys()
        for name in expected:
            np.testing.assert_array_equal(np.broadcast_to(got[name], (12,)), np.broadcast_to(expected[name], (12,)))
